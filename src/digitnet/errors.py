"""The one exception type users see.

Every mistake a user can make (a bad option, a corrupt file, a diverging run) raises a
:class:`DigitnetError` whose message is one line that names what is wrong. The command line
prints that line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

from typing import Any


class DigitnetError(Exception):
    """A problem with the user's input, files or settings, explained in one line."""


class TrainingDiverged(DigitnetError):
    """The cost became NaN or infinite; the network holds the last good weights. ``history`` is
    the run's :class:`~digitnet.training_parts.History` up to then (typed ``Any`` here: this
    module sits under everything and imports nothing of digitnet)."""

    def __init__(self, message: str, history: Any = None) -> None:
        super().__init__(message)
        self.history: Any = history
