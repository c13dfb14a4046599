"""Sweeps: many training runs of one recipe, on Dask, recorded in SQLite, nothing lost.

- :mod:`digitnet.sweep.plan`: the swept parameters (``--grid``, ``--random``, ``--seeds``) and
  one :class:`RunSpec` per run, each identified by its whole recipe;
- :mod:`digitnet.sweep.store`: the SQLite database, one row per finished run;
- :mod:`digitnet.sweep.cluster`: the runs on a Dask cluster (a LocalCluster, or ``--scheduler``);
- :mod:`digitnet.sweep.search`: ``--search tpe``, Optuna's TPE sampler proposing the runs, and
  ``--prune median``.

Dask is an optional extra (``pip install 'digitnet[sweep]'``); only :mod:`digitnet.sweep.cluster`
uses it, and only inside its functions; Optuna (``digitnet[search]``) is imported only by
:mod:`digitnet.sweep.search`, when ``--search tpe`` is asked for.
"""

from digitnet.sweep.plan import PARAMETERS, Axis, RunSpec, parse_grid, parse_random, parse_seeds
from digitnet.sweep.store import Group, Sweep, groups, read

__all__ = [
    "PARAMETERS",
    "Axis",
    "Group",
    "RunSpec",
    "Sweep",
    "groups",
    "parse_grid",
    "parse_random",
    "parse_seeds",
    "read",
]
