"""Gradient descent you can watch: the descent paths are the lessons' steps (checked against the
training loop itself), the picture draws those numbers, and ``digitnet plot descent`` starts where
the model's training started."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from digitnet import views
from digitnet.cli import main
from digitnet.errors import DigitnetError
from digitnet.model_io import save_model
from digitnet.network import Network
from digitnet.train import TrainConfig, train
from digitnet.views.landscape import gradient_vector

N = 200  # training images: the tests check the math, not the learning


@pytest.fixture(scope="module")
def data(mnist):
    return mnist.X_train[:N], mnist.y_train[:N]


def fresh() -> Network:
    return Network([784, 16, 16, 10], seed=1)  # the lessons' network, untrained


def test_full_batch_descent_is_the_training_loop_with_one_batch_and_goes_downhill(data):
    X, y = data
    net = fresh()
    before = net.parameter_vector()
    paths = views.descent_paths(net, X, y, eta=0.5, batch_size=20, steps=12, seed=3)
    np.testing.assert_array_equal(net.parameter_vector(), before)  # net itself never moves
    assert paths.steps.tolist() == list(range(13))
    assert paths.sgd.shape == paths.full.shape == (13, net.n_params)
    np.testing.assert_array_equal(paths.sgd[0], before)
    np.testing.assert_array_equal(paths.full[0], before)
    assert np.all(np.diff(paths.full_cost) < 0)  # a small eta: downhill at every step
    # train() with one batch of all the images takes the same full-batch steps, one per epoch
    for epochs in (1, 5, 12):
        twin = fresh()
        train(twin, X, y, TrainConfig(epochs=epochs, batch_size=N, lr=0.5, engine="reference"))
        np.testing.assert_allclose(
            paths.full[epochs], twin.parameter_vector(), rtol=1e-4, atol=1e-6
        )
    # the recorded costs are the real costs at the recorded weights
    np.testing.assert_allclose(paths.full_cost, views.path_costs(net, X, y, paths.full), rtol=1e-6)
    np.testing.assert_allclose(paths.sgd_cost, views.path_costs(net, X, y, paths.sgd), rtol=1e-6)
    assert paths.epochs == pytest.approx(12 / 10)


def test_sgd_steps_follow_one_mini_batch_each(data):
    X, y = data
    net = fresh()
    paths = views.descent_paths(net, X, y, eta=1.5, batch_size=10, steps=3, seed=7)
    # the first mini-batch: the first 10 of the epoch's shuffle (rows in the images' order)
    batch = np.sort(np.random.default_rng(7).permutation(N)[:10])
    step = -1.5 * gradient_vector(net, X[batch], y[batch])
    np.testing.assert_allclose(paths.sgd[1] - paths.sgd[0], step, rtol=1e-3, atol=1e-6)
    # and not the full batch's step: SGD stumbles
    full_step = paths.full[1] - paths.full[0]
    assert np.linalg.norm(paths.sgd[1] - paths.sgd[0] - full_step) > 0.1 * np.linalg.norm(full_step)


def test_sgd_with_all_the_images_in_one_batch_is_full_batch_descent_exactly(data):
    X, y = data
    paths = views.descent_paths(fresh(), X, y, eta=1.5, batch_size=N, steps=6, seed=5)
    np.testing.assert_array_equal(paths.sgd, paths.full)
    np.testing.assert_array_equal(paths.sgd_cost, paths.full_cost)


def test_a_long_run_is_recorded_every_k_steps_and_the_last(data):
    X, y = data
    every_step = views.descent_paths(fresh(), X, y, eta=1.0, batch_size=25, steps=23, seed=2)
    thinned = views.descent_paths(fresh(), X, y, eta=1.0, batch_size=25, steps=23, seed=2, every=5)
    assert thinned.steps.tolist() == [0, 5, 10, 15, 20, 23]
    np.testing.assert_array_equal(thinned.sgd, every_step.sgd[thinned.steps])
    np.testing.assert_array_equal(thinned.full_cost, every_step.full_cost[thinned.steps])


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"eta": float("nan")}, "eta must be a positive number"),
        ({"eta": 0.0}, "eta must be a positive number"),
        ({"batch_size": 0}, "batch_size must be a whole number >= 1"),
        ({"batch_size": N + 1}, f"more than the {N} examples"),
        ({"steps": 0}, "steps must be"),
        ({"every": 0}, "every must be"),
        ({"steps": 100_000}, "record every 20 steps or more"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_bad_arguments_are_one_line_errors(data, kwargs, words):
    X, y = data
    args = {"eta": 1.0, "batch_size": 10, "steps": 5} | kwargs
    with pytest.raises(DigitnetError, match=words) as err:
        views.descent_paths(fresh(), X, y, **args)
    assert "\n" not in str(err.value)


def test_a_diverging_descent_names_a_smaller_eta(data):
    X, y = data
    # a linear network on the quadratic cost: least squares, which eta = 1 overshoots
    # more every step
    net = Network([784, 10], activation="identity", init="lecun", seed=0)
    with pytest.raises(DigitnetError, match=r"SGD diverged by step \d+ with eta 1 .*, 0.1$"):
        views.descent_paths(net, X, y, eta=1.0, batch_size=N, steps=200)


def test_descent_draws_both_paths_the_arrow_and_the_costs(data):
    X, y = data
    net = fresh()
    before = net.parameter_vector()
    fig = views.descent(net, X, y, eta=1.5, batch_size=10, steps=15, seed=0, grid=5)
    np.testing.assert_array_equal(net.parameter_vector(), before)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        assert image.format == "PNG" and min(image.size) > 100
    cost_map, cost_panel, colorbar = fig.axes
    assert colorbar.get_ylabel() == "cost C on the plane"
    paths = views.descent_paths(net, X, y, eta=1.5, batch_size=10, steps=15, seed=0)
    # the plane: the two principal directions of both paths' offsets from the start, computed anew
    offsets = np.concatenate([paths.sgd, paths.full]) - before
    _, _, Vt = np.linalg.svd(offsets, full_matrices=False)
    d1, d2 = Vt[0], Vt[1]
    lines = {line.get_gid(): line for line in cost_map.lines if line.get_gid()}
    for gid, path in (("sgd path", paths.sgd), ("full path", paths.full)):
        xy = np.stack([lines[gid].get_xdata(), lines[gid].get_ydata()], axis=1)
        assert len(xy) == 16  # one dot per step, and the start
        # up to the sign PCA leaves open, the coordinates are the dot products with d1, d2
        expected = (path - before) @ np.stack([d1, d2], axis=1)
        np.testing.assert_allclose(np.abs(xy), np.abs(expected), rtol=1e-6, atol=1e-6)
    # -grad C at the start, and the share of it the plane holds
    g = gradient_vector(net, X, y)
    share = np.hypot(g @ d1, g @ d2) / np.linalg.norm(g)
    (arrow,) = [t for t in cost_map.texts if t.get_gid() == "gradient arrow"]
    assert arrow.xyann == (0.0, 0.0)  # from the start
    legend = [t.get_text() for t in cost_map.get_legend().get_texts()]
    assert any(f"projected: {100 * share:.1f}% of" in t for t in legend), legend
    sgd_line, full_line = (
        [line for line in cost_panel.lines if line.get_label().startswith(name)][0]
        for name in ("SGD", "full-batch")
    )
    np.testing.assert_array_equal(sgd_line.get_xdata(), np.arange(16))
    np.testing.assert_allclose(sgd_line.get_ydata(), paths.sgd_cost)
    np.testing.assert_allclose(full_line.get_ydata(), paths.full_cost)
    assert "15 steps of eta = 1.5" in fig.get_suptitle()


# -- the command line ----------------------------------------------------------------------------
def _model(tmp_path, data, trajectory: bool, optimizer: str = "sgd"):
    X, y = data
    net = fresh()
    start = net.parameter_vector().astype(np.float32)
    config = TrainConfig(epochs=1, batch_size=20, lr=0.8, optimizer=optimizer, seed=4)
    train(net, X, y, config)
    path = tmp_path / f"m-{trajectory}-{optimizer}.npz"
    extra = {"trajectory": np.stack([start, net.parameter_vector()])} if trajectory else {}
    save_model(path, net, training=config, dataset={"name": "mnist"}, **extra)
    return path


@pytest.mark.parametrize("trajectory", [True, False])
def test_plot_descent_starts_where_training_started(
    trajectory, data, shared_data, tmp_path, monkeypatch, capsys
):
    path = _model(tmp_path, data, trajectory)
    seen = {}

    def spy(net, X, y, **kwargs):
        seen.update(kwargs, theta=net.parameter_vector(), n=len(X))
        return real(net, X, y, **kwargs | {"grid": 3})

    real = views.descent
    monkeypatch.setattr(views, "descent", spy)
    out = tmp_path / "d.png"
    argv = ["plot", "descent", str(path), "-o", str(out), "--data-dir", str(shared_data)]
    code = main([*argv, "--examples", "60", "--steps", "4", "--dpi", "30"])
    assert code == 0, capsys.readouterr().err
    assert out.is_file()
    # eta and the batch size from the model's recipe; the untrained start from the training seed
    assert seen["eta"] == 0.8 and seen["batch_size"] == 20 and seen["steps"] == 4
    assert seen["n"] == 60 and seen["every"] == 1
    start = Network([784, 16, 16, 10], seed=1 if trajectory else 4).parameter_vector()
    np.testing.assert_array_equal(seen["theta"], start)
    if trajectory:
        assert seen["start"] == "the model's recorded starting point"
    else:
        assert seen["start"] == "an untrained 784-16-16-10 network (init normal, seed 4)"


def test_plot_descent_options_and_errors(data, shared_data, tmp_path, capsys):
    adam = _model(tmp_path, data, True, optimizer="adam")
    out = tmp_path / "d.png"
    base = ["plot", "descent", str(adam), "-o", str(out), "--data-dir", str(shared_data)]
    assert main([*base, "--examples", "50", "--steps", "3"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "trained with adam" in err and "--lr" in err
    assert not out.exists()
    assert main([*base, "--examples", "50", "--batch-size", "51", "--lr", "0.3"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the 50 examples" in err
    assert main([*base, "--examples", "50", "--steps", "3", "--lr", "0.3", "--dpi", "30"]) == 0
    assert out.is_file()
