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
- :func:`nudges` - one backprop step, as the backprop lesson tells it, and each example's
  wishes before the averaging (:func:`example_wishes`);
- :func:`landscape` - the cost on a 2-D slice of weight space, with the training path;
- :func:`descent` - mini-batch SGD's steps beside full-batch gradient descent from one start
  (:func:`descent_paths` computes them);
- :func:`neuron` - a neuron as a function: its activation curve, with this image's z and a
  (the numbers from :func:`digitnet.explain.neuron_function`);
- :func:`noise` - random noise in, a confident answer out;
- :func:`sweep` - many runs: accuracy against each swept parameter (``digitnet plot sweep DB``);
- :func:`sweep_parallel` - many runs as parallel coordinates: a line per finished run across an
  axis per swept parameter and one for the accuracy (``digitnet plot sweep DB --kind parallel``).

Save one with ``fig.savefig("weights.png")``. matplotlib comes with the ``plots`` extra
(``pip install 'digitnet[plots]'``); without it this package is one ImportError naming it.
"""

from digitnet.extras import missing, require

if missing("plots"):
    require("plots", "digitnet.views")  # one line naming the extra, not matplotlib's error

from digitnet.views.curves import curves
from digitnet.views.descent import DescentPaths, descent, descent_paths
from digitnet.views.diagram import network_diagram
from digitnet.views.landscape import (
    TrajectoryRecorder,
    landscape,
    path_costs,
    record_trajectory,
    slice_gradient,
)
from digitnet.views.neuron import neuron
from digitnet.views.nudges import Nudges, Wishes, backprop_nudges, example_wishes, nudges
from digitnet.views.results import confusion, confusion_matrix, mistakes, noise
from digitnet.views.sweep import sweep, sweep_parallel
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
    "descent",
    "neuron",
    "noise",
)

__all__ = [
    "VIEW_NAMES",
    "DescentPaths",
    "Nudges",
    "TrajectoryRecorder",
    "Wishes",
    "backprop_nudges",
    "confusion",
    "confusion_matrix",
    "curves",
    "descent",
    "descent_paths",
    "example_wishes",
    "landscape",
    "mistakes",
    "network_diagram",
    "neuron",
    "noise",
    "nudges",
    "path_costs",
    "record_trajectory",
    "slice_gradient",
    "sweep",
    "sweep_parallel",
    "weights",
]
