"""digitnet: a multilayer perceptron written from scratch in NumPy, in the lessons' notation."""

__version__ = "0.1.0"
