"""The lessons' claims, tested: one module per experiment, each run by ``digitnet experiment``.

Each module has a ``run(context) -> Report`` function that trains its networks on the sweep
engine's Dask cluster (:func:`digitnet.experiments.report.run_tasks`) and returns the figures, the
table and the text that :func:`digitnet.experiments.report.write_report` writes:

- ``random-labels``: true labels, shuffled labels and random pixels (Zhang et al. 2017);
- ``seeds``: 30 random starts of the lessons' network, and the straight line between two;
- ``learning-rate``: eta over four orders of magnitude;
- ``vanishing-gradients``: ||dC/db|| per layer of deep sigmoid networks (Nielsen, chapter 5);
- ``noise``: the confidence on random pixels, blank images and inverted digits.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from digitnet.errors import DigitnetError

#: Each experiment's name and the module that runs it, in the order ``all`` runs them.
EXPERIMENTS: dict[str, str] = {
    "random-labels": "digitnet.experiments.random_labels",
    "seeds": "digitnet.experiments.seeds",
    "learning-rate": "digitnet.experiments.learning_rate",
    "vanishing-gradients": "digitnet.experiments.vanishing_gradients",
    "noise": "digitnet.experiments.noise",
}


def names(name: str) -> list[str]:
    """The experiments ``name`` stands for (``all``: every one), or one line naming the choices."""
    if name == "all":
        return list(EXPERIMENTS)
    if name not in EXPERIMENTS:
        raise DigitnetError(
            f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)}, all"
        )
    return [name]


def module(name: str) -> ModuleType:
    """The module of the experiment ``name``."""
    return importlib.import_module(EXPERIMENTS[names(name)[0]])
