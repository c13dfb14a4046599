"""noise: how sure the network is of its answer when there is no digit at all.

Two networks are trained: the lessons' network (sigmoid outputs, quadratic cost) and the
'modern' preset (ReLU, softmax, cross-entropy). Each one's confidence in an image is its largest
output probability, max_j p_j of :meth:`digitnet.Network.predict_proba` (a sigmoid output is
read as evidence: its activations divided by their sum). It is measured on four kinds of input:
the real test digits, random pixels (each uniform in [0, 1]), blank images (every pixel the same
grey, from white paper 0 to full ink 1) and the test digits inverted (1 - x).
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from digitnet.experiments.report import Context, Report, dataset_of, run_tasks, train_task

NAME = "noise"
KINDS = {
    "real digits": "#1f77b4",
    "random pixels": "#d62728",
    "blank": "#7f7f7f",
    "inverted digits": "#9467bd",
}


class Size(TypedDict):
    presets: list[str]
    images: int | None  # None: the whole training set
    epochs: int | None  # None: the preset's own
    n: int


FULL = Size(presets=["lessons", "modern"], images=None, epochs=None, n=10_000)
QUICK = Size(presets=["lessons", "modern"], images=3_000, epochs=2, n=1_000)


def inputs(kind: str, X_test: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` images (n, 784) float32 of ``kind``."""
    rng = np.random.default_rng([seed, 3])
    if kind == "random pixels":
        return rng.random((n, X_test.shape[1]), dtype=np.float32)
    if kind == "blank":
        grey = np.linspace(0, 1, n, dtype=np.float32)
        return np.repeat(grey[:, None], X_test.shape[1], axis=1)
    digits = X_test[:n]
    return 1 - digits if kind == "inverted digits" else digits


def train_and_ask(
    recipe: dict[str, Any], data: Any, want_parameters: bool = False
) -> dict[str, Any]:
    """Train the preset's network and return its confidence and answer on every kind of input."""
    from digitnet.network import Network
    from digitnet.presets import get_preset
    from digitnet.settings import make_config

    data = dataset_of(data)
    preset = get_preset(recipe["preset"])
    training = dict(preset.training, seed=recipe["seed"])
    if recipe["epochs"]:
        training["epochs"] = recipe["epochs"]
    n = recipe["images"] or len(data.y_train)
    net = Network.from_config(dict(preset.network), seed=recipe["seed"])
    train_task(net, data.X_train[:n], data.y_train[:n], make_config(training, None))
    answers = {}
    for kind in KINDS:
        X = inputs(kind, data.X_test, recipe["n"], recipe["seed"])
        p = net.predict_proba(X)
        answers[kind] = {"confidence": p.max(axis=1), "answer": p.argmax(axis=1)}
    return {
        "preset": recipe["preset"],
        "network": repr(net),
        "test_accuracy": net.evaluate(data.X_test, data.y_test)[1],
        "answers": answers,
        "blank_white": float(net.predict_proba(np.zeros((1, 784), np.float32)).max()),
    }


def run(context: Context) -> Report:
    size = QUICK if context.quick else FULL
    recipes = [
        {"preset": p, "seed": 0, "images": size["images"], "epochs": size["epochs"], "n": size["n"]}
        for p in size["presets"]
    ]
    results = run_tasks(context, train_and_ask, recipes)
    rows = []
    for r in results:
        for kind in KINDS:
            confidence = r["answers"][kind]["confidence"]
            answers = np.bincount(r["answers"][kind]["answer"], minlength=10)
            rows.append(
                {
                    "network": r["preset"],
                    "input": kind,
                    "images": len(confidence),
                    "median confidence": float(np.median(confidence)),
                    "mean confidence": float(np.mean(confidence)),
                    "share >= 0.9": float(np.mean(confidence >= 0.9)),
                    "commonest answer": int(answers.argmax()),
                    "its share": float(answers.max() / answers.sum()),
                }
            )

    def median(preset: str, kind: str) -> float:
        return next(
            r["median confidence"] for r in rows if r["network"] == preset and r["input"] == kind
        )

    def sure(preset: str, kind: str) -> float:
        return next(
            r["share >= 0.9"] for r in rows if r["network"] == preset and r["input"] == kind
        )

    sentences = []
    for r in results:
        p = r["preset"]
        sentences.append(
            f"The {p} network ({100 * r['test_accuracy']:.2f}% test accuracy) gives real digits a "
            f"median confidence of {median(p, 'real digits'):.3f}, random pixels "
            f"{median(p, 'random pixels'):.3f} ({100 * sure(p, 'random pixels'):.0f}% of them "
            f"at 0.9 or more), blank images {median(p, 'blank'):.3f} and inverted digits "
            f"{median(p, 'inverted digits'):.3f}."
        )
    answer_shares = [
        f"{r['network']} on {r['input']}: {r['its share'] * 100:.0f}% '{r['commonest answer']}'"
        for r in rows
        if r["input"] in ("random pixels", "inverted digits")
    ]
    measured = (
        " ".join(sentences)
        + " On inputs that are not digits the answers pile onto a few classes ("
        + "; ".join(answer_shares)
        + "): the network has no way to say 'none of these'."
    )
    n = size["images"] or len(context.data.y_train)
    return Report(
        name=NAME,
        title="Noise: confident answers to images with no digit",
        claim=(
            "A network trained on digits answers any input, random noise included, and often "
            "with high confidence: its outputs say which digit the input resembles most, not "
            "whether it is a digit at all."
        ),
        published=(
            'Nguyen, Yosinski and Clune, "Deep Neural Networks are Easily Fooled: High '
            'Confidence Predictions for Unrecognizable Images", CVPR 2015: MNIST networks '
            "classify images unrecognisable to people (found by evolution from noise) as digits "
            'with 99.99% confidence. Hendrycks and Gimpel, "A Baseline for Detecting '
            'Misclassified and Out-of-Distribution Examples in Neural Networks", ICLR 2017: the '
            "largest softmax probability is lower on out-of-distribution inputs (among them "
            "uniform and Gaussian noise for MNIST) than on real test images, yet often high. "
            "The images here are not optimised to fool the network: plain random pixels, blank "
            "pages and inverted digits."
        ),
        measured=measured,
        setup=(
            f"The presets 'lessons' (784-16-16-10, sigmoid, quadratic cost, SGD at eta 1.5, "
            f"{size['epochs'] or 30} epochs) and 'modern' (784-256-128-10, ReLU, "
            f"softmax, cross-entropy, momentum, {size['epochs'] or 15} epochs), seed 0, trained on "
            f"{n:,} training images (one task each); {size['n']:,} inputs of each kind."
        ),
        summary=", ".join(
            f"{r['preset']}: random pixels {median(r['preset'], 'random pixels'):.3f} vs digits "
            f"{median(r['preset'], 'real digits'):.3f}"
            for r in results
        ),
        columns=list(rows[0]),
        rows=rows,
        figures={"histograms": figure(results)},
        extra={
            "blank_white_confidence": {r["preset"]: r["blank_white"] for r in results},
            "test_accuracy": {r["preset"]: r["test_accuracy"] for r in results},
        },
    )


def figure(results: list[dict[str, Any]]) -> Any:
    """One histogram of the confidence per kind of input, a row per network."""
    from digitnet.views.figures import new_figure

    fig = new_figure(3 * len(KINDS), 2.8 * len(results))
    axes = np.atleast_2d(fig.subplots(len(results), len(KINDS), sharex=True))
    bins = np.linspace(0, 1, 41)
    for row, r in zip(axes, results, strict=True):
        for ax, kind in zip(row, KINDS, strict=True):
            confidence = r["answers"][kind]["confidence"]
            ax.hist(confidence, bins=bins, color=KINDS[kind])
            ax.set_title(f"{r['preset']}: {kind}", fontsize=9)
            ax.axvline(float(np.median(confidence)), color="black", linestyle=":", linewidth=1)
            ax.grid(alpha=0.3)
        row[0].set_ylabel("images")
    for ax in axes[-1]:
        ax.set_xlabel("confidence: max_j p_j")
    return fig
