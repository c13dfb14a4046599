"""The fast engine (digitnet.engine) takes the reference network's steps.

Training with ``engine="fast"`` and ``engine="reference"`` from the same seed must end at the same
parameters, for every optimizer, schedule, weight decay, dropout and activation/cost pair: a few
hundred steps, float64 to a relative difference below 1e-10, float32 below 1e-4. The learning
rates are ones at which training is stable: where it is chaotic (plain SGD at eta 1.5 with tanh
and dropout), a 1e-15 change to one weight moves the result as much as the engine does.
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest

from digitnet.engine import small
from digitnet.engine import step as engine
from digitnet.engine.dropout import draw_masks, kept_fraction
from digitnet.engine.workspace import Workspace
from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.step_rules import OPTIMIZERS, SCHEDULES
from digitnet.train import TrainConfig, make_step, train

HIDDEN = ["sigmoid", "relu", "leaky-relu", "tanh", "identity"]
OUTPUTS = [(o, "quadratic") for o in HIDDEN + ["softmax"]] + [
    ("sigmoid", "cross-entropy"),
    ("softmax", "cross-entropy"),
]
LR = {"sgd": 0.5, "momentum": 0.05, "nesterov": 0.05, "adam": 0.003}
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}


def train_both(
    sizes: list[int],
    recipe: tuple[str, str, str],
    dtype: str,
    n: int,
    init: str = "lecun",
    targets: bool = False,
    **config,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, fast, reference): the parameter vectors before and after training each way, on
    integer labels, or with ``targets`` on real-valued desired outputs (n, n_L)."""
    activation, output, cost = recipe
    rng = np.random.default_rng(0)
    X, y = rng.random((n, sizes[0])), rng.integers(0, sizes[-1], n)
    if targets:
        y = rng.normal(size=(n, sizes[-1]))
    ends = []
    for name in ("fast", "reference"):
        net = Network(sizes, activation=activation, output=output, cost=cost, init=init,
                      seed=3, dtype=dtype)  # fmt: skip
        start = net.parameter_vector().astype(np.float64)
        train(net, X, y, TrainConfig(engine=name, seed=1, monitor=0, **config))
        ends.append(net.parameter_vector().astype(np.float64))
    return start, ends[0], ends[1]


def assert_same_training(start, fast, reference, dtype):
    assert np.linalg.norm(reference - start) > 1e-3 * np.linalg.norm(start)  # it trained
    difference = np.linalg.norm(fast - reference) / np.linalg.norm(reference)
    assert difference < TOLERANCE[dtype], f"relative difference {difference:.2e}"


@pytest.fixture(params=["compiled", "numpy"])
def small_step(request, monkeypatch):
    """The fast engine with its compiled step for small networks (digitnet.engine.small), and
    without it (digitnet.engine.Step for every network)."""
    if request.param == "numpy":
        monkeypatch.setattr(small, "unsupported", lambda *args: "switched off by the test")
    return request.param


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "optimizer,schedule,regularised", list(itertools.product(OPTIMIZERS, SCHEDULES, (0, 1)))
)
def test_every_optimizer_and_schedule_trains_the_same_on_both_engines(
    optimizer, schedule, regularised, dtype, small_step
):
    """260 steps (200 examples, batches of 16, 20 epochs), with and without weight decay and
    dropout together; the fast engine with and without its compiled small-network step."""
    start, fast, reference = train_both(
        [20, 16, 12, 5], ("sigmoid", "sigmoid", "quadratic"), dtype, 200,
        epochs=20, batch_size=16, lr=LR[optimizer], optimizer=optimizer, schedule=schedule,
        step_every=5, weight_decay=1e-3 * regularised, dropout=0.3 * regularised,
    )  # fmt: skip
    assert_same_training(start, fast, reference, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hidden,out_cost", list(itertools.product(HIDDEN, OUTPUTS)))
def test_every_activation_and_cost_trains_the_same_on_both_engines(hidden, out_cost, dtype):
    """Each pair with dropout and weight decay, its optimizer taken in turn from all four."""
    output, cost = out_cost
    optimizer = OPTIMIZERS[(HIDDEN.index(hidden) + OUTPUTS.index(out_cost)) % len(OPTIMIZERS)]
    lr = LR[optimizer] / (10 if hidden == "identity" else 2)  # a linear network steps further
    start, fast, reference = train_both(
        [20, 16, 12, 5], (hidden, output, cost), dtype, 200,
        epochs=20, batch_size=16, lr=lr, optimizer=optimizer,
        schedule="cosine", weight_decay=1e-3, dropout=0.2,
    )  # fmt: skip
    assert_same_training(start, fast, reference, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "hidden,output",
    [("sigmoid", "identity"), ("relu", "identity"), ("tanh", "sigmoid"), ("identity", "identity")],
)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_real_valued_targets_train_the_same_on_both_engines(hidden, output, optimizer, dtype):
    """The quadratic cost of desired outputs (n, n_L), a regressor's, with dropout and weight
    decay: 260 steps, a shorter last batch (200 = 12 * 16 + 8)."""
    lr = LR[optimizer] / (10 if "identity" in (hidden, output) else 2)
    start, fast, reference = train_both(
        [20, 16, 12, 3], (hidden, output, "quadratic"), dtype, 200, targets=True,
        epochs=20, batch_size=16, lr=lr, optimizer=optimizer,
        schedule="cosine", weight_decay=1e-3, dropout=0.2,
    )  # fmt: skip
    assert_same_training(start, fast, reference, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "sizes,batch,n,recipe,config",
    [
        # the lessons' network and batch: a workspace in NumPy's row order
        ([784, 16, 16, 10], 10, 1000, ("sigmoid", "sigmoid", "quadratic"),
         dict(lr=1.5, optimizer="sgd")),
        # a product big enough for BLAS threads: the column-ordered workspace, momentum folded
        # into backprop's products, and a shorter last batch (1000 = 7 * 128 + 104)
        ([784, 300, 10], 128, 1000, ("relu", "softmax", "cross-entropy"),
         dict(lr=0.05, optimizer="momentum", schedule="cosine", dropout=0.2,
              weight_decay=5e-4)),
    ],
)  # fmt: skip
def test_the_benchmarks_shapes_train_the_same_on_both_engines(
    sizes, batch, n, recipe, config, dtype
):
    start, fast, reference = train_both(
        sizes, recipe, dtype, n, init="he", epochs=3, batch_size=batch, **config
    )
    assert_same_training(start, fast, reference, dtype)


@pytest.mark.parametrize(
    "sizes,batch,order,recipe",
    [
        ([784, 300, 10], 128, "F", ("relu", "softmax", "cross-entropy")),
        ([784, 16, 16, 10], 10, "C", ("relu", "softmax", "cross-entropy")),
        ([784, 16, 16, 10], 10, "C", ("sigmoid", "sigmoid", "quadratic")),  # the lessons'
        ([784, 32, 16, 10], 10, "C", ("tanh", "softmax", "quadratic")),
    ],
)
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_the_engines_trace_and_backprop_are_the_networks(sizes, batch, order, recipe, dropout):
    """Full batches and a shorter last one (the first n * n_l numbers of the same memory): the
    engine's z, a, masks and gradients, in its workspace (Fortran-ordered when the products are
    big enough for BLAS threads, C-ordered for the lessons' batches of 10), are the reference
    network's for the same masks."""
    activation, output, cost = recipe
    net = Network(sizes, activation=activation, output=output, cost=cost,
                  init="he", seed=3, dtype="float64")  # fmt: skip
    ws = Workspace(net, batch)
    assert ws.order == order
    rng = np.random.default_rng(4)
    for n in (batch, batch * 5 // 8, batch):
        X, y = rng.random((n, 784)), rng.integers(0, 10, n)
        t = engine.trace(net, X, ws, dropout, np.random.default_rng(n))
        assert all(z.shape == (n, s) and z.flags[f"{order}_CONTIGUOUS"]
                   for z, s in zip(t.z[1:], sizes[1:], strict=True))  # fmt: skip
        masks = draw_masks(net.sizes, n, dropout, np.random.default_rng(n), net.dtype)
        reference = net.trace(X, masks)
        for mine, theirs in zip(t.a + t.z[1:], reference.a + reference.z[1:], strict=True):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-15)
        g_engine = engine.backprop(net, t, y, ws, dropout)
        g = net.backprop(reference, y)
        for a, b in zip(g_engine.W + g_engine.b, g.W + g.b, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_backprop_into_the_velocity_writes_alpha_gradient_plus_beta_velocity(dropout):
    """BLAS's C <- alpha A B + beta C: with C the velocity, alpha = -eta and beta = mu, backprop's
    products compute momentum's v <- mu v - eta dC/dp."""
    net = Network([12, 9, 7, 4], activation="relu", output="softmax", cost="cross-entropy",
                  init="he", seed=2, dtype="float64")  # fmt: skip
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 12)), rng.integers(0, 4, 6)
    ws = Workspace(net, 6)
    t = engine.trace(net, X, ws, dropout, np.random.default_rng(4))
    g = net.backprop(net.trace(X, t.masks), y)
    v = engine.Gradients([rng.standard_normal(W.shape) for W in net.W],
                         [rng.standard_normal(b.shape) for b in net.b])  # fmt: skip
    old = [p.copy() for p in (*v.W, *v.b)]
    assert engine.backprop(net, t, y, ws, dropout, into=v, alpha=-0.05, beta=0.9) is v
    for new, before, grad in zip((*v.W, *v.b), old, (*g.W, *g.b), strict=True):
        np.testing.assert_allclose(new, 0.9 * before - 0.05 * grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("weight_decay,dropout", [(0.0, 0.0), (1e-3, 0.3)])
def test_momentum_written_by_backprop_trains_as_the_optimizers_own_step(weight_decay, dropout):
    """The engine's step with momentum folded into backprop, and the same step with the
    optimizer's own velocity update: the same parameters, and each took its own path."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((230, 20)), rng.integers(0, 5, 230)
    config = TrainConfig(batch_size=32, lr=0.05, optimizer="momentum", momentum=0.9,
                         weight_decay=weight_decay, dropout=dropout)  # fmt: skip
    ends, start = [], None
    for fold in (True, False):
        net = Network([20, 16, 5], activation="relu", output="softmax", cost="cross-entropy",
                      init="he", seed=3, dtype="float64")  # fmt: skip
        start = net.parameter_vector()
        step = engine.Step(net, config, 32, fold_momentum=fold)
        assert (step.velocity is not None) == fold  # the path compared
        step_rng = np.random.default_rng(1)
        for i in range(0, 230 * 3, 32):
            rows = np.arange(i, i + 32) % 230
            step(X[rows], y[rows], 0.05, step_rng)
        ends.append(net.parameter_vector())
    assert not np.allclose(ends[0], start)
    np.testing.assert_allclose(ends[0], ends[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dropout", [0.5, 0.2, 0.05])
def test_dropout_keeps_each_neuron_with_probability_keep_and_scales_it_by_1_over_keep(dropout):
    """The mask holds 0 or 1/keep; over 2 million neurons the share kept is keep (within 5
    standard deviations), so the mean of the mask, what dropout adds to a neuron on average,
    is 1. The engine's trace and the reference step draw the same masks from one generator."""
    net = Network([784, 1024, 1024, 10], activation="relu", output="softmax",
                  cost="cross-entropy", init="he")  # fmt: skip
    threshold, keep = kept_fraction(dropout)
    assert keep == pytest.approx(1 - dropout, abs=2**-17) and threshold == keep * 2**16
    X = np.random.default_rng(1).random((1000, 784), dtype=np.float32)
    masks = [m for m in draw_masks(net.sizes, 1000, dropout, np.random.default_rng(2),
                                   net.dtype) if m is not None]  # fmt: skip
    t = engine.trace(net, X, Workspace(net, 1000), dropout, np.random.default_rng(2))
    assert len(masks) == 2
    for m, m_engine in zip(masks, [m for m in t.masks if m is not None], strict=True):
        np.testing.assert_array_equal(m, m_engine)
        assert set(np.unique(m).tolist()) == {0.0, np.float32(1 / keep)}
    kept = np.concatenate([(m > 0).ravel() for m in masks])
    sd = np.sqrt(keep * (1 - keep) / kept.size)
    assert abs(kept.mean() - keep) < 5 * sd
    assert (masks[0] != masks[1]).any()  # the two layers' masks are not the same draws


@pytest.mark.parametrize(
    "cost,y,message",
    [
        ("cross-entropy", np.zeros((5, 2)), "must be floats, for the quadratic cost"),
        ("quadratic", np.zeros((5, 2), dtype=int), "must be floats, for the quadratic cost"),
        ("quadratic", np.zeros((5, 3)), r"shape \(5, 3\), but the output layer has 2 neurons"),
        ("quadratic", np.zeros((5, 2, 1)), r"labels have shape \(5, 2, 1\)"),
    ],
)
def test_targets_that_do_not_fit_the_network_are_refused_before_any_work(cost, y, message):
    net = Network([4, 3, 2], cost=cost, output="sigmoid")
    before = net.parameter_vector()
    with pytest.raises(DigitnetError, match=message):
        train(net, np.zeros((5, 4)), y, TrainConfig(epochs=1))
    with pytest.raises(DigitnetError, match="patience .* watches accuracy, which targets lack"):
        train(Network([4, 3, 2]), np.zeros((5, 4)), np.zeros((5, 2)),
              TrainConfig(patience=2), X_val=np.zeros((2, 4)), y_val=np.zeros((2, 2)))  # fmt: skip
    np.testing.assert_array_equal(net.parameter_vector(), before)


def test_an_unknown_engine_is_refused_before_any_work():
    net = Network([4, 3, 2])
    before = net.parameter_vector()
    with pytest.raises(DigitnetError, match="unknown engine 'turbo'; choose one of: fast, ref"):
        train(net, np.zeros((5, 4)), np.zeros(5, dtype=int), TrainConfig(engine="turbo"))
    np.testing.assert_array_equal(net.parameter_vector(), before)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_engines_evaluation_between_epochs_is_the_networks(dtype):
    """train measures each epoch through its step: the engine's products, the same numbers."""
    net = Network([784, 300, 10], activation="relu", cost="cross-entropy", init="he", seed=2,
                  dtype=dtype)  # fmt: skip
    rng = np.random.default_rng(5)
    X, y = rng.random((2500, 784)), rng.integers(0, 10, 2500)
    fast = engine.Step(net, TrainConfig(), 128).evaluate(X, y)
    cost, accuracy = net.evaluate(X, y)
    assert fast[1] == accuracy
    assert fast[0] == pytest.approx(cost, rel=1e-12 if dtype == "float64" else 1e-5)


def test_the_evaluation_of_desired_outputs_is_their_quadratic_cost_without_an_accuracy():
    net = Network([6, 5, 2], activation="tanh", output="identity", init="lecun", seed=1,
                  dtype="float64")  # fmt: skip
    rng = np.random.default_rng(2)
    X, y = rng.random((30, 6)), rng.normal(size=(30, 2))
    cost, accuracy = net.evaluate(X, y, batch=7)
    assert cost == pytest.approx(((net.feedforward(X) - y) ** 2).sum() / 30, rel=1e-12)
    assert np.isnan(accuracy)
    fast = engine.Step(net, TrainConfig(), 16).evaluate(X, y)
    assert fast[0] == pytest.approx(cost, rel=1e-12) and np.isnan(fast[1])


def test_the_compiled_step_is_taken_where_it_can_and_says_why_not_elsewhere():
    net = Network([784, 16, 16, 10], init="lecun")
    assert type(make_step(net, TrainConfig(), 10)).__name__ == "SmallStep"  # the lessons'
    assert type(make_step(net, TrainConfig(engine="reference"), 10)).__name__ == "ReferenceStep"
    for config, batch, why in [
        (TrainConfig(optimizer="adam"), 10, "the adam optimizer"),
        (TrainConfig(dropout=0.2), 10, "dropout"),
        (TrainConfig(), 128, "products big enough for BLAS threads"),
    ]:
        assert small.unsupported(net, config, batch, False) == why
        assert type(make_step(net, config, batch)).__name__ == "Step"
    assert small.unsupported(net, TrainConfig(), 10, True) == "real-valued targets"
    softmax = Network([784, 16, 10], activation="relu", output="softmax", cost="quadratic")
    assert small.unsupported(softmax, TrainConfig(), 10, False).startswith("a softmax output")


def test_without_numba_the_engine_takes_the_same_steps_in_numpy(monkeypatch):
    """Numba is an optional dependency: without it the fast engine's NumPy step runs."""
    recipe = ("sigmoid", "sigmoid", "quadratic")
    start, compiled, _ = train_both([20, 16, 5], recipe, "float64", 200, epochs=3, batch_size=16,
                                    lr=0.5)  # fmt: skip
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    net = Network([784, 16, 10])
    assert small.unsupported(net, TrainConfig(), 10, False) == "Numba is not installed"
    assert type(make_step(net, TrainConfig(), 10)).__name__ == "Step"
    _, numpy_only, reference = train_both([20, 16, 5], recipe, "float64", 200, epochs=3,
                                          batch_size=16, lr=0.5)  # fmt: skip
    assert_same_training(start, numpy_only, reference, "float64")
    assert_same_training(start, compiled, reference, "float64")
