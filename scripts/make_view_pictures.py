"""Draw one picture of each view into docs/views/, from a real trained network.

Trains the lessons' network (784-16-16-10, sigmoid, quadratic cost, SGD with eta = 1.5 on
mini-batches of 10) on MNIST for a few epochs while recording its path through weight space,
then saves every view of :mod:`digitnet.views` as a compact PNG (a 256-colour palette; each under
150 KB). Run from the repository root:

    .venv/bin/python scripts/make_view_pictures.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import io
import logging
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from digitnet import views
from digitnet.data import load
from digitnet.network import Network
from digitnet.train import TrainConfig, train_on

log = logging.getLogger("make_view_pictures")
LIMIT = 150_000  # bytes per picture


def save_compact(fig: Figure, path: Path, dpi: int) -> int:
    """Save ``fig`` as a palette PNG, lowering the resolution until it is under LIMIT bytes."""
    while True:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
        with Image.open(buffer) as image:
            small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        small.save(out, format="png", optimize=True)
        if out.tell() <= LIMIT or dpi <= 40:
            path.write_bytes(out.getvalue())
            return out.tell()
        dpi = int(dpi * 0.85)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=Path("docs/views"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    data = load("mnist", data_dir=args.data_dir)
    net = Network([784, 16, 16, 10], activation="sigmoid", cost="quadratic", seed=args.seed)
    start = net.copy()  # the untrained network, for the descent picture
    recorder = views.record_trajectory(net)
    config = TrainConfig(epochs=args.epochs, batch_size=10, lr=1.5, seed=args.seed)
    history = train_on(net, data, config, callback=recorder)
    log.info("trained: %.2f%% test accuracy", 100 * history.last.test_accuracy)

    # an image the network is unsure of (but right about) makes the clearest nudges
    a = net.trace(data.X_test[:500]).output
    right = np.argmax(a, axis=1) == data.y_test[:500]
    unsure = np.flatnonzero(right & (a[np.arange(500), data.y_test[:500]] < 0.6))
    i = int(unsure[0]) if len(unsure) else 0
    rng = np.random.default_rng(args.seed)
    batch = rng.choice(len(data.y_train), size=10, replace=False)
    names = list(data.class_names)

    pictures = {
        "weights": (views.weights(net, layer=1), 80),
        "weights-layer2": (views.weights(net, layer=2), 80),
        "network": (views.network_diagram(net, data.X_test[0], int(data.y_test[0])), 90),
        "curves": (views.curves(history.to_dict()), 90),
        "confusion": (views.confusion(net, data.X_test, data.y_test, class_names=names), 90),
        "mistakes": (views.mistakes(net, data.X_test, data.y_test, n=24, class_names=names), 80),
        "nudges": (
            views.nudges(
                net,
                data.X_test[i],
                int(data.y_test[i]),
                data.X_train[batch],
                data.y_train[batch],
                class_names=names,
            ),
            70,
        ),
        "landscape": (
            views.landscape(
                net,
                data.X_train[:1000],
                data.y_train[:1000],
                trajectory=recorder.trajectory,
                steps=31,
            ),
            80,
        ),
        "landscape-random": (
            views.landscape(
                net, data.X_train[:1000], data.y_train[:1000], directions="random", steps=31
            ),
            80,
        ),
        "noise": (views.noise(net, seed=args.seed), 80),
        "descent": (
            views.descent(
                start,
                data.X_train[:1000],
                data.y_train[:1000],
                eta=1.5,
                batch_size=10,
                steps=200,
                seed=args.seed,
                start="the training's untrained start",
            ),
            80,
        ),
        "neuron": (views.neuron(net, data.X_test[i], 2, 0, bias=2.0, class_names=names), 80),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, (fig, dpi) in pictures.items():
        size = save_compact(fig, args.out_dir / f"{name}.png", dpi)
        total += size
        log.info("%-18s %6.1f KB", name, size / 1000)
    log.info("total %.1f KB (nudges: test image #%d)", total / 1000, i)


if __name__ == "__main__":
    main()
