"""The fast training engine: the reference network's training step, computed for speed.

:mod:`digitnet.network` is the lessons' math in plain NumPy. Everything here exists only to
compute the same step faster, and is tested against it (tests/test_engine.py):

- :mod:`.workspace`: the arrays a step reuses instead of allocating, stored column by column when
  the products are big enough for BLAS threads;
- :mod:`.blas`: products that add into their output (``C <- alpha A B + beta C``), through one
  BLAS;
- :mod:`.step`: trace and backprop into the workspace, with momentum's update folded into
  backprop's products;
- :mod:`.step_rules_in_place`: the step rules' updates piece by piece through the cache, with
  their state kept out of the subnormal numbers;
- :mod:`.dropout`: dropout masks from random bits (drawn the same way by the reference step);
- :mod:`.small`: a small network's whole step in one call compiled by Numba;
- :mod:`.augment`: the augmentation's resampling compiled by Numba (the same images as
  :func:`digitnet.data.augment.warp_numpy`).

``digitnet.train`` uses it by default (``TrainConfig(engine="fast")``); ``engine="reference"``
trains with the plain path.
"""

from digitnet.engine.step import Step
from digitnet.settings import ENGINES

__all__ = ["ENGINES", "Step"]
