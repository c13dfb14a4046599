"""The optional parts of digitnet, and the extra that installs each.

``pip install digitnet`` is the core: the network, training, the datasets, ``digitnet train``,
``init``, ``eval``, ``predict``, ``explain``, ``gradcheck`` and ``data`` (NumPy, SciPy, Pillow,
pydantic, tqdm). The pictures and the web app are extras, as ONNX, Dask and the rest are:

- ``plots`` (matplotlib): :mod:`digitnet.views`, ``digitnet plot``, ``demo`` and ``experiment``;
- ``web`` (FastAPI, Uvicorn, python-multipart, and ``plots``: the page draws the views'
  choice of neurons): :mod:`digitnet.web` and ``digitnet serve``.

Nothing in the core imports them when it is imported; :func:`require` is called where a part
that needs one starts, so that a missing extra is one line naming it, before any work.
"""

from __future__ import annotations

import importlib.util

from digitnet.errors import DigitnetError

#: The modules each extra brings, by the names they are imported as.
EXTRAS: dict[str, tuple[str, ...]] = {
    "plots": ("matplotlib",),
    "web": ("fastapi", "uvicorn", "python_multipart", "matplotlib"),
}


class MissingExtra(DigitnetError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it.

    A :class:`DigitnetError` (the command line prints it as one line) and an ImportError (an
    ``import digitnet.web`` without it fails as a missing module does)."""


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (found on the path; not imported here)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent missing, or a module left without a spec
        return False


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that are not installed."""
    return [module for module in EXTRAS[extra] if not installed(module)]


def require(extra: str, user: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` is installed: "``user``
    needs the ``extra`` extra: pip install 'digitnet[extra]'"."""
    if missing(extra):
        raise MissingExtra(f"{user} needs the {extra} extra: pip install 'digitnet[{extra}]'")
