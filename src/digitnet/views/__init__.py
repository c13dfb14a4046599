"""See inside the network: the lessons' pictures, computed from a real network.

Each view is a function returning a :class:`matplotlib.figure.Figure` (built without pyplot, so
it is safe in a server and in tests; Jupyter displays it once its inline backend is on, by
``%matplotlib inline`` or a first pyplot figure). Every one of them reads the
network's own forward trace, ``net.trace(X)`` (each layer's z and a, one row per image); none
has a forward pass of its own.

- :func:`weights` - each neuron's incoming weights, as 28x28 images for the first layer;
- :func:`network_diagram` - the lessons' diagram for one image: activations and strong weights;
- :func:`curves` - cost and accuracy per epoch from a model's history;
- :func:`confusion` and :func:`mistakes` - what the network gets wrong;
- :func:`nudges` - one backprop step, as the backprop lesson tells it;
- :func:`landscape` - the cost on a 2-D slice of weight space, with the training path;
- :func:`noise` - random noise in, a confident answer out;
- :func:`sweep` - many runs: accuracy against each swept parameter (``digitnet plot sweep DB``).

Save one with ``fig.savefig("weights.png")``.
"""

from digitnet.views.curves import curves
from digitnet.views.diagram import network_diagram
from digitnet.views.landscape import TrajectoryRecorder, landscape, record_trajectory
from digitnet.views.nudges import Nudges, backprop_nudges, nudges
from digitnet.views.results import confusion, confusion_matrix, mistakes, noise
from digitnet.views.sweep import sweep
from digitnet.views.weights import weights

#: The names ``digitnet plot VIEW`` accepts, in the order of the lessons.
VIEW_NAMES = (
    "weights",
    "network",
    "curves",
    "confusion",
    "mistakes",
    "nudges",
    "landscape",
    "noise",
)

__all__ = [
    "VIEW_NAMES",
    "Nudges",
    "TrajectoryRecorder",
    "backprop_nudges",
    "confusion",
    "confusion_matrix",
    "curves",
    "landscape",
    "mistakes",
    "network_diagram",
    "noise",
    "nudges",
    "record_trajectory",
    "sweep",
    "weights",
]
