"""Weight averaging: keep a running average of the weights and use it as the trained network.

Stochastic gradient descent with a large step does not settle: each mini-batch pushes the
weights a little way in its own direction, so they wander around the bottom of the cost
valley instead of sitting in it. Their average over the last few hundred steps sits much
nearer the bottom (Polyak & Juditsky 1992, "Acceleration of stochastic approximation by
averaging"): it is the network SGD would reach with a smaller step, without waiting for the
step to shrink. digitnet keeps an exponential moving average,

    theta_bar <- beta theta_bar + (1 - beta) theta,

which remembers about the last 1 / (1 - beta) steps, starting from the first weights. Training
itself never reads it: the steps go on from theta. Every epoch's measurements, the network
each epoch's callback sees (and a checkpoint saves, beside theta in its training state), early
stopping's choice and the network :func:`digitnet.train.train` leaves behind are theta_bar's.

The average moves every :data:`EVERY` steps, by beta^EVERY at a time: the same memory of about
1 / (1 - beta) steps, at an eighth of the cost of touching every weight after every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from digitnet.engine.blas import axpy

EVERY = 8  # steps between two updates of the average


class WeightAverage:
    """The running average theta_bar of ``params`` (arrays updated in place by the steps).

    ``beta``: how much of the average each step keeps, in [0, 1); ``average``: theta_bar to
    start from, a parameter vector (``Network.parameter_vector()`` layout), or None to start
    from the weights as they are.
    """

    def __init__(
        self, params: list[np.ndarray], beta: float, average: np.ndarray | None = None
    ) -> None:
        self.params = params
        self.keep = params[0].dtype.type(beta**EVERY)  # what one update keeps
        if average is None:
            self.average = [p.copy() for p in params]
        else:
            average = np.asarray(average)
            if average.shape != (sum(p.size for p in params),):
                raise ValueError(f"the weight average has shape {average.shape}")
            self.average, offset = [], 0
            for p in params:
                self.average.append(
                    average[offset : offset + p.size].reshape(p.shape).astype(p.dtype)
                )
                offset += p.size

    def after_step(self, t: int) -> None:
        """Update the average after the ``t``-th step of the run (every EVERY steps)."""
        if t % EVERY:
            return
        for mean, p in zip(self.average, self.params, strict=True):
            mean *= self.keep  # theta_bar <- keep theta_bar + (1 - keep) theta
            axpy(1 - self.keep, p, mean)

    def vector(self) -> np.ndarray:
        """theta_bar as one new parameter vector."""
        return np.concatenate([mean.ravel() for mean in self.average])

    def swap(self) -> None:
        """Exchange the weights and the average, in place: call it to measure the average,
        and again to go on training (each array keeps its identity)."""
        for mean, p in zip(self.average, self.params, strict=True):
            theta = p.copy()
            p[...] = mean
            mean[...] = theta

    @contextmanager
    def swapped(self) -> Iterator[None]:
        """Inside, the weights hold the average (to measure it, or to show it); after, the
        weights training goes on from."""
        self.swap()
        try:
            yield
        finally:
            self.swap()
