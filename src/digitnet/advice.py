"""Learning rates that are known to go wrong, and the ones to try instead.

The lessons' eta (1.5 for the sigmoid network and its quadratic cost) is far too large for
activations that are unbounded above: ReLU's z grows with every step, and training at that eta
gets worse epoch after epoch or blows up. benchmarks/ETA.md holds the measurements behind these
thresholds.
"""

from __future__ import annotations

UNBOUNDED = ("relu", "leaky-relu", "identity")  # hidden activations with no ceiling

# Above these, at mini-batches of REFERENCE_BATCH, an optimizer with an unbounded hidden
# activation is known to decay or diverge; the limit grows in proportion to the batch size (the
# gradient of a larger batch is an average over more images, with less noise).
REFERENCE_BATCH = 10
MAX_SAFE_LR = {"sgd": 0.5, "momentum": 0.03, "nesterov": 0.03, "adam": 0.01}
# ...and these are good first tries at that batch size.
SUGGESTED_LR = {"sgd": 0.3, "momentum": 0.01, "nesterov": 0.01, "adam": 0.001}
SIGMOID_SUGGESTED_LR = {"sgd": 1.5, "momentum": 0.3, "nesterov": 0.3, "adam": 0.003}


def _batch_factor(batch_size: int) -> float:
    return max(1.0, batch_size / REFERENCE_BATCH)


def suggested_lr(activation: str, optimizer: str, batch_size: int = REFERENCE_BATCH) -> float:
    """A learning rate to try for this hidden activation, optimizer and mini-batch size."""
    table = SUGGESTED_LR if activation in UNBOUNDED else SIGMOID_SUGGESTED_LR
    return float(f"{table.get(optimizer, 0.1) * _batch_factor(batch_size):.2g}")


def lr_warning(
    activation: str, optimizer: str, lr: float, batch_size: int = REFERENCE_BATCH
) -> str | None:
    """One line of warning when ``lr`` is known to make training with this hidden activation,
    optimizer and mini-batch size decay or diverge; None when it is not."""
    limit = MAX_SAFE_LR.get(optimizer)
    if activation not in UNBOUNDED or limit is None or lr <= limit * _batch_factor(batch_size):
        return None
    return (
        f"warning: {activation} with {optimizer} at eta {lr:g} usually gets worse every epoch "
        f"or diverges (its activations have no ceiling); try --lr "
        f"{suggested_lr(activation, optimizer, batch_size):g}"
    )
