"""digitnet.sklearn beside MLPClassifier: its names, its defaults, its attributes, its stopping
rule and its sample weights, checked against MLPClassifier itself where the two can agree
exactly (full-batch SGD from the same weights), and the ImportError without scikit-learn."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from digitnet.sklearn import LESSONS, DigitnetClassifier, DigitnetRegressor


def blobs(n: int = 120, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k overlapping classes in 4 features (not separable, so the cost keeps a floor)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    return rng.normal(size=(n, 4)) + np.eye(k, 4)[y] * 1.5, y


def fit_quietly(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


# -- scikit-learn's names --------------------------------------------------------------------


def test_scikit_learns_names_train_exactly_what_digitnets_names_train():
    """Each alias is the same setting: the two spellings give the same network, bit for bit;
    alpha is lambda * batch_size, solver='sgd' is Nesterov's momentum unless told otherwise."""
    X, y = blobs()
    theirs = DigitnetClassifier(hidden_layer_sizes=(8,), activation="logistic", solver="sgd",
                                learning_rate_init=0.05, max_iter=7, alpha=0.02, batch_size=20,
                                n_iter_no_change=3, random_state=4)  # fmt: skip
    ours = DigitnetClassifier(hidden_layer_sizes=(8,), activation="sigmoid", optimizer="nesterov",
                              lr=0.05, epochs=7, weight_decay=0.02 / 20, batch_size=20,
                              patience=4, random_state=4)  # fmt: skip
    for nesterov, optimizer in ((True, "nesterov"), (False, "momentum")):
        a = fit_quietly(clone(theirs).set_params(nesterovs_momentum=nesterov), X, y)
        b = fit_quietly(clone(ours).set_params(optimizer=optimizer), X, y)
        np.testing.assert_array_equal(a.network_.parameter_vector(), b.network_.parameter_vector())
        assert a.loss_curve_ == b.loss_curve_ and a.n_iter_ == b.n_iter_
    theirs = fit_quietly(theirs, X, y)
    assert theirs.network_.activation == "sigmoid" and theirs.out_activation_ == "softmax"
    sgd = DigitnetClassifier(solver="sgd", momentum=0.0, max_iter=3, tol=None, random_state=0)
    plain = DigitnetClassifier(optimizer="sgd", max_iter=3, tol=None, random_state=0)
    np.testing.assert_array_equal(sgd.fit(X, y).network_.parameter_vector(),
                                  plain.fit(X, y).network_.parameter_vector())  # fmt: skip


def test_get_params_and_clone_keep_each_name_as_given():
    clf = DigitnetClassifier(max_iter=50, learning_rate_init=0.01, alpha=0.5, solver="sgd",
                             activation="logistic")  # fmt: skip
    params = clf.get_params()
    assert params["max_iter"] == 50 and params["epochs"] is None
    assert params["alpha"] == 0.5 and params["weight_decay"] is None
    assert params["solver"] == "sgd" and params["optimizer"] is None
    assert params["activation"] == "logistic"
    assert clone(clf).get_params() == params
    # the same value under both names is no conflict
    X, y = blobs()
    fit_quietly(clf.set_params(epochs=50, max_iter=50, learning_rate_init=None, lr=0.01), X, y)
    assert clf.n_iter_ <= 50


def test_the_defaults_are_mlpclassifiers():
    X, y = blobs()
    clf = fit_quietly(DigitnetClassifier(random_state=0), X, y)
    net = clf.network_
    assert net.sizes == [4, 100, 3] and net.activation == "relu" and net.output == "softmax"
    assert net.cost.name == "cross-entropy"
    mlp = MLPClassifier().get_params()
    assert (mlp["hidden_layer_sizes"], mlp["activation"], mlp["solver"]) == ((100,), "relu", "adam")
    assert (mlp["learning_rate_init"], mlp["alpha"], mlp["batch_size"]) == (1e-3, 1e-4, "auto")
    assert (mlp["max_iter"], mlp["tol"], mlp["n_iter_no_change"]) == (200, 1e-4, 10)
    assert clf.get_params()["tol"] == mlp["tol"] and clf.get_params()["batch_size"] == "auto"
    reg = fit_quietly(DigitnetRegressor(random_state=0), X, y.astype(float))
    assert reg.network_.sizes == [4, 100, 1] and reg.network_.output == "identity"


# -- the fitted attributes -------------------------------------------------------------------


def test_coefs_and_intercepts_are_mlpclassifiers_shapes_and_the_networks_own_arrays():
    X, y = blobs(k=4)
    ours = fit_quietly(DigitnetClassifier((7, 5), max_iter=3, random_state=0), X, y)
    theirs = fit_quietly(MLPClassifier((7, 5), max_iter=3, random_state=0), X, y)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_] == [
        (4, 7), (7, 5), (5, 4)
    ]  # fmt: skip
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.n_layers_ == theirs.n_layers_ == 4
    assert ours.out_activation_ == theirs.out_activation_ == "softmax"
    for c, W, b, net_b in zip(ours.coefs_, ours.network_.W, ours.intercepts_, ours.network_.b,
                              strict=True):  # fmt: skip
        np.testing.assert_array_equal(c, W.T)
        assert np.shares_memory(c, W) and b is net_b
    before = ours.predict_proba(X)
    ours.coefs_[-1][:] = 0
    ours.intercepts_[-1][:] = 0  # a blank output layer: every class equally likely
    np.testing.assert_allclose(ours.predict_proba(X), 0.25)
    assert not np.allclose(before, 0.25)


def test_attributes_without_and_with_early_stopping():
    X, y = blobs(200)
    plain = DigitnetClassifier(max_iter=4, tol=None, random_state=0).fit(X, y)
    assert plain.best_validation_score_ is None and plain.validation_scores_ is None
    assert plain.best_loss_ == min(plain.loss_curve_) and plain.n_iter_ == 4
    assert plain.t_ == 4 * 200
    early = DigitnetClassifier(max_iter=300, early_stopping=True, random_state=0).fit(X, y)
    assert early.best_loss_ is None and len(early.validation_scores_) == early.n_iter_
    assert early.best_validation_score_ == max(early.validation_scores_)
    assert early.t_ == early.n_iter_ * 180  # 10% held out
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.1, random_state=0, stratify=y)
    assert early.score(X_val, y_val) == early.best_validation_score_  # the best weights kept


# -- the convergence test ----------------------------------------------------------------------


def sklearns_stop(curve: list[float], tol: float, n_iter_no_change: int, early: bool) -> int:
    """The epoch after which MLPClassifier's own rule (its _update_no_improvement_count, run
    on ``curve``) stops, or 0 if it never does."""
    mlp = MLPClassifier(tol=tol, n_iter_no_change=n_iter_no_change)
    mlp.loss_curve_, mlp.validation_scores_, mlp._no_improvement_count = [], [], 0
    mlp.coefs_, mlp.intercepts_ = [], []  # what it copies as the best weights
    mlp.best_loss_, mlp.best_validation_score_ = np.inf, -np.inf
    for epoch, value in enumerate(curve, start=1):
        if early:
            mlp.validation_scores_.append(value)
            mlp._score = lambda X, y, sample_weight=None, value=value: value
        else:
            mlp.loss_curve_.append(value)
        mlp._update_no_improvement_count(early, None, None, None)
        if mlp._no_improvement_count > n_iter_no_change:
            return epoch
    return 0


@pytest.mark.parametrize("tol,n_iter_no_change", [(1e-4, 10), (1e-2, 3), (1e-3, 1)])
def test_training_stops_where_mlpclassifiers_rule_stops_on_the_same_costs(tol, n_iter_no_change):
    X, y = blobs(150)
    clf = DigitnetClassifier(tol=tol, n_iter_no_change=n_iter_no_change, max_iter=2000,
                             learning_rate_init=0.01, random_state=1).fit(X, y)  # fmt: skip
    assert clf.n_iter_ < 2000  # it converged: no ConvergenceWarning (warnings are errors here)
    assert sklearns_stop(clf.loss_curve_, tol, n_iter_no_change, early=False) == clf.n_iter_


def test_early_stopping_stops_where_mlpclassifiers_rule_stops_on_the_same_scores():
    X, y = blobs(300, seed=2)
    clf = DigitnetClassifier(early_stopping=True, n_iter_no_change=4, tol=1e-3,
                             max_iter=1000, random_state=3).fit(X, y)  # fmt: skip
    assert clf.n_iter_ < 1000
    assert sklearns_stop(clf.validation_scores_, 1e-3, 4, early=True) == clf.n_iter_


def test_a_run_the_test_stops_keeps_the_weight_average():
    """With weight averaging, the network kept is the average, whether the run ends at
    max_iter or the convergence test stops it: the costs recorded are the average's."""
    X, y = blobs(150)
    clf = DigitnetClassifier(average=0.9, tol=1e-2, n_iter_no_change=2, max_iter=500,
                             random_state=0).fit(X, y)  # fmt: skip
    assert clf.n_iter_ < 500
    assert clf.network_.total_cost(X, y) == pytest.approx(clf.loss_curve_[-1] - penalty(clf))


def penalty(clf) -> float:
    """(lambda/2) sum w^2 of the fitted network, lambda from the default alpha."""
    lam = 1e-4 / min(200, clf.t_ // clf.n_iter_)
    return 0.5 * lam * sum(float((W**2).sum()) for W in clf.network_.W)


def test_max_iter_without_convergence_is_mlpclassifiers_convergence_warning():
    X, y = blobs()
    message = r"Stochastic Optimizer: Maximum iterations \(3\) reached and the optimization"
    with pytest.warns(ConvergenceWarning, match=message):
        DigitnetClassifier(max_iter=3).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=message):
        MLPClassifier(max_iter=3).fit(X, y)
    DigitnetClassifier(max_iter=3, tol=None).fit(X, y)  # no test, no warning
    clf = DigitnetClassifier(max_iter=1, tol=None, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])  # one epoch by design: no warning either
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\)"):
        clf.set_params(warm_start=True, max_iter=2, tol=1e-4).fit(X, y)
    assert clf.n_iter_ == 3
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        DigitnetClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


# -- sample weights ----------------------------------------------------------------------------


def test_full_batch_sgd_with_sample_weights_and_alpha_is_mlpclassifiers_step_for_step():
    """From the same weights, full-batch SGD on the log-loss with an L2 penalty and sample
    weights: digitnet's steps are MLPClassifier's to rounding, and so are the costs (each of
    MLPClassifier's is measured before its epoch's step, each of digitnet's after it)."""
    X, y = blobs(90, k=3)
    w = np.random.default_rng(5).uniform(0.2, 3.0, len(y))
    settings = dict(hidden_layer_sizes=(6,), activation="tanh", solver="sgd", momentum=0.0,
                    learning_rate_init=0.3, alpha=0.05, batch_size=len(y), max_iter=1,
                    warm_start=True, random_state=0)  # fmt: skip
    ours = fit_quietly(DigitnetClassifier(**settings), X, y, sample_weight=w)
    theirs = fit_quietly(MLPClassifier(**settings), X, y, sample_weight=w)
    theirs.coefs_ = [c.copy() for c in ours.coefs_]
    theirs.intercepts_ = [b.copy() for b in ours.intercepts_]
    for est in (ours, theirs):
        fit_quietly(est.set_params(max_iter=6), X, y, sample_weight=w)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):  # fmt: skip
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_[1:-1], theirs.loss_curve_[2:], rtol=1e-10)


@pytest.mark.parametrize("engine", ["fast", "reference"])
@pytest.mark.parametrize("recipe", [{}, dict(LESSONS, batch_size=1000)])
def test_integer_sample_weights_are_repeated_rows_in_full_batch_training(recipe, engine):
    """Weight k trains as k copies of the row, weight 0 as no row: exactly, when one batch
    holds all the data (with the defaults, min(200, n) examples is all of them here), in
    either engine."""
    X, y = blobs(60)
    w = np.random.default_rng(1).integers(0, 4, len(y))
    params = dict(recipe, max_iter=25, tol=None, random_state=0, engine=engine)
    params.pop("epochs", None)
    weighted = DigitnetClassifier(**params).fit(X, y, sample_weight=w)
    repeated = DigitnetClassifier(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-9)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)


def test_equal_sample_weights_are_no_weights_and_bad_ones_are_refused():
    """Weights of 1 are no weights, bit for bit. Weights of 3 are too without a penalty; with
    one, alpha's share shrinks to a third, as in MLPClassifier (alpha W / sum of weights)."""
    X, y = blobs()
    for alpha in (1e-4, 0.0):
        none = DigitnetClassifier(max_iter=5, tol=None, alpha=alpha, random_state=0).fit(X, y)
        ones = clone(none).fit(X, y, sample_weight=np.ones(len(y)))
        np.testing.assert_array_equal(none.network_.parameter_vector(),
                                      ones.network_.parameter_vector())  # fmt: skip
    threes = clone(none).fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_array_equal(none.network_.parameter_vector(),
                                  threes.network_.parameter_vector())  # fmt: skip
    for bad, message in ((-np.ones(len(y)), "Negative values in data"),
                         (np.ones(3), r"sample_weight.shape == \(3,\), expected \(120,\)"),
                         (np.zeros(len(y)), "Sample weights must contain at least")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            DigitnetClassifier(max_iter=1, tol=None).fit(X, y, sample_weight=bad)


def test_sample_weights_weigh_the_classes():
    """Weighting one class up moves the boundary its way, as in MLPClassifier."""
    X, y = blobs(300)
    w = np.where(y == 2, 20.0, 1.0)
    plain = DigitnetClassifier(max_iter=60, tol=None, random_state=0).fit(X, y)
    heavy = DigitnetClassifier(max_iter=60, tol=None, random_state=0).fit(X, y, sample_weight=w)
    mlp = fit_quietly(MLPClassifier(max_iter=60, random_state=0), X, y, sample_weight=w)
    assert (heavy.predict(X) == 2).mean() > (plain.predict(X) == 2).mean() + 0.1
    assert abs((heavy.predict(X) == 2).mean() - (mlp.predict(X) == 2).mean()) < 0.1


# -- unscaled inputs, with the defaults --------------------------------------------------------


def test_unscaled_load_digits_with_the_defaults_scores_as_mlpclassifier_does():
    """Pixels 0..16, no scaler: the defaults (Adam, ReLU, Glorot's init) are not thrown by the
    input's range, as the lessons' sigmoid and eta 1.5 (tuned for inputs in [0, 1]) are."""
    X, y = load_digits(return_X_y=True)
    X_a, X_b, y_a, y_b = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    ours = fit_quietly(DigitnetClassifier(random_state=0), X_a, y_a).score(X_b, y_b)
    theirs = fit_quietly(MLPClassifier(random_state=0), X_a, y_a).score(X_b, y_b)
    print(f"\nunscaled load_digits: digitnet {ours:.4f}, MLPClassifier {theirs:.4f}")
    assert ours > 0.95 and ours >= theirs - 0.015


# -- without scikit-learn ----------------------------------------------------------------------


def test_importing_without_scikit_learn_is_one_import_error_naming_the_extra():
    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None  # as if scikit-learn were not installed\n"
        "import digitnet\n"
        "try:\n"
        "    import digitnet.sklearn\n"
        "except ImportError as err:\n"
        "    print(type(err).__name__, err, sep=': ')\n"
        "import digitnet.sklearn\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = "ImportError: digitnet.sklearn needs scikit-learn: pip install 'digitnet[sklearn]'"
    assert run.stdout.strip() == line
    assert run.returncode == 1 and run.stderr.strip().splitlines()[-1] == line
