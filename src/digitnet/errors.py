"""The one exception type users see.

Every mistake a user can make (a bad option, a corrupt file, a diverging run) raises a
:class:`DigitnetError` whose message is one line that names what is wrong. The command line
prints that line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digitnet.training_parts import History


class DigitnetError(Exception):
    """A problem with the user's input, files or settings, explained in one line."""


class TrainingDiverged(DigitnetError):
    """The cost became NaN or infinite; the network holds the last good weights."""

    def __init__(self, message: str, history: History | None = None) -> None:
        from digitnet.training_parts import History  # training_parts imports this module

        super().__init__(message)
        self.history = history if history is not None else History()
