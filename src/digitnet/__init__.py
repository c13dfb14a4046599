"""digitnet: a multilayer perceptron written from scratch in NumPy, in the lessons' notation.

from digitnet import Network, TrainConfig, load, train_on

data = load("mnist")
net = Network([784, 16, 16, 10], init="lecun")
history = train_on(net, data, TrainConfig(epochs=30, batch_size=10, lr=1.5))
net.save("runs/model.npz")
"""

from digitnet.data import DATASETS, Augmentation, Dataset, load
from digitnet.errors import DigitnetError, TrainingDiverged
from digitnet.network import Gradients, Network, Trace
from digitnet.train import Callback, EpochRecord, History, TrainConfig, train, train_on
from digitnet.version import __version__

__all__ = [
    "DATASETS",
    "Augmentation",
    "Callback",
    "Dataset",
    "DigitnetError",
    "EpochRecord",
    "Gradients",
    "History",
    "Network",
    "Trace",
    "TrainConfig",
    "TrainingDiverged",
    "__version__",
    "load",
    "train",
    "train_on",
]
