"""Named recipes: a network and the way to train it.

``digitnet train --preset NAME`` starts from one of these; any option given beside it overrides
the preset's value. The measured numbers live in the README and ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from digitnet.errors import DigitnetError


@dataclass(frozen=True)
class Preset:
    description: str
    network: dict[str, Any]
    training: dict[str, Any]
    dataset: str = "mnist"
    augment: dict[str, Any] | None = field(default=None)
    # Training images held out as the validation split. 0 trains on all of them: for a recipe
    # already chosen on the split, the last step before the test set is scored once.
    validation: int = 10_000


# The lessons' network (Network.config()'s keys), and their "couple of tweaks", shared by the
# modern recipes, their widest network, and how all three train (momentum 0.9, eta 0.05 along a
# cosine).
LESSONS = dict(
    sizes=[784, 16, 16, 10],
    activation="sigmoid",
    output="sigmoid",
    cost="quadratic",
    init="lecun",
    dtype="float32",
)
RELU_SOFTMAX = dict(
    activation="relu", output="softmax", cost="cross-entropy", init="he", dtype="float32"
)
WIDE_RELU = dict(RELU_SOFTMAX, sizes=[784, 1024, 1024, 10])
MOMENTUM_COSINE = dict(
    batch_size=128, lr=0.05, optimizer="momentum", momentum=0.9, schedule="cosine"
)
# best's training and augmentation, which record trains longer and also scales.
BEST_TRAINING = dict(MOMENTUM_COSINE, epochs=60, lr=0.1, average=0.995)
BEST_AUGMENT = dict(translate=2, rotate=10.0, elastic_alpha=34.0)

PRESETS: dict[str, Preset] = {
    "lessons": Preset(
        "the lessons' network: 784-16-16-10, sigmoid, quadratic cost, SGD, batch 10, eta 1.5 "
        "(Nielsen's 3.0: the lessons' cost has no 1/2), 30 epochs, weights N(0, 1/n_in)",
        network=LESSONS,
        training=dict(epochs=30, batch_size=10, lr=1.5, optimizer="sgd"),
    ),
    "lessons-96": Preset(
        "the same 784-16-16-10 sigmoid network and quadratic cost, trained better: "
        "SGD (batch 10, eta 3.0) for 100 epochs with eta falling along a cosine to 0, and a little "
        "L2 weight decay (lambda 5e-5) against overfitting",
        network=LESSONS,
        training=dict(
            epochs=100,
            batch_size=10,
            lr=3.0,
            optimizer="sgd",
            schedule="cosine",
            weight_decay=5e-5,
        ),
    ),
    "modern": Preset(
        "the lessons' 'couple of tweaks': wider ReLU layers, softmax + cross-entropy, He init, "
        "momentum, cosine schedule",
        network=dict(RELU_SOFTMAX, sizes=[784, 256, 128, 10]),
        training=dict(MOMENTUM_COSINE, epochs=15, batch_size=64),
    ),
    "best": Preset(
        "a plain MLP, 784-1024-1024-10 ReLU, trained 60 epochs on digits that are shifted (up "
        "to 2 pixels), rotated (up to 10 degrees) and elastically distorted (Simard et al. "
        "2003's key to 99.3% for an MLP), momentum 0.9, eta 0.1 along a cosine, and the "
        "running average of the weights (beta 0.995) as the network: past 99.0% within ten "
        "epochs",
        network=WIDE_RELU,
        training=BEST_TRAINING,
        augment=BEST_AUGMENT,
    ),
    "record": Preset(
        "best's plain MLP, 784-1024-1024-10 ReLU, trained 100 epochs instead of 60, on digits "
        "also stretched or squeezed by up to 15% in height and width (Ciresan et al. 2010's "
        "scaling): the highest MNIST accuracy here in about ten minutes, chosen on the "
        "validation split",
        network=WIDE_RELU,
        training=dict(BEST_TRAINING, epochs=100),
        augment=dict(BEST_AUGMENT, scale=0.15),
    ),
    "fashion": Preset(
        "a plain MLP for Fashion-MNIST: 784-1024-1024-10 ReLU, momentum 0.9, eta 0.05 along a "
        "cosine, 120 epochs, on images shifted by up to one pixel and mirrored left to right "
        "(chosen on the validation split), then trained on all 60,000 training images",
        network=WIDE_RELU,
        training=dict(MOMENTUM_COSINE, epochs=120),
        dataset="fashion-mnist",
        augment=dict(translate=1, rotate=0.0, elastic_alpha=0.0, flip=True),
        validation=0,
    ),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise DigitnetError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]
