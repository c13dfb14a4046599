"""Counting a classifier's answers: the confusion matrix, the one ``digitnet eval`` prints and the
``confusion`` view draws. Plain NumPy (no plotting), so the command line imports it cheaply."""

from __future__ import annotations

import numpy as np

from digitnet.errors import DigitnetError


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes), int64: ``counts[i, j]`` is how many examples of true class i
    were answered j, for integer labels ``y_true`` and answers ``y_pred`` (n,) in 0..n_classes-1.
    The diagonal holds the right answers; each row sums to the number of examples of its class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise DigitnetError(
            f"a confusion matrix needs as many answers as labels, one each: got labels of shape "
            f"{y_true.shape} and answers of shape {y_pred.shape}"
        )
    for name, v in (("labels", y_true), ("answers", y_pred)):
        if v.size and (v.min() < 0 or v.max() >= n_classes):
            raise DigitnetError(f"{name} must be in 0..{n_classes - 1}")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts
