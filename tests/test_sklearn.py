"""digitnet.sklearn: scikit-learn's own estimator checks, and the estimators in real use.

The checks run on the default estimators (MLPClassifier's and MLPRegressor's recipe), the
lessons' network and training, scikit-learn's parameter names and a recipe of each with other
optimizers; none is expected to fail but the one named in ``expected_failures``. Then
pipelines, grid searches, cross-validation and a comparison with MLPClassifier on MNIST
images, and the fitted ``network_`` used as digitnet's.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from digitnet import Network, TrainConfig, train
from digitnet.sklearn import LESSONS, DigitnetClassifier, DigitnetRegressor

LESSONS_REGRESSOR = dict(LESSONS, output="identity", lr=0.03)
ESTIMATORS = [
    DigitnetClassifier(),
    DigitnetClassifier(**LESSONS),
    DigitnetClassifier(activation="relu", output="softmax", cost="cross-entropy", init="he",
                       optimizer="adam", lr=0.01, batch_size=16, epochs=20, engine="reference"),
    DigitnetClassifier(activation="logistic", solver="sgd", learning_rate_init=0.1, max_iter=50,
                       alpha=1e-3, n_iter_no_change=5),
    DigitnetRegressor(),
    DigitnetRegressor(**LESSONS_REGRESSOR),
    DigitnetRegressor(activation="tanh", optimizer="momentum", lr=0.005, batch_size=16,
                      epochs=20, alpha=1.6e-3),
]  # fmt: skip


def expected_failures(estimator) -> dict[str, str]:
    """Integer sample weights train exactly as repeated rows when one batch holds all the data
    (tests/test_sklearn_parity.py); in mini-batches the repeated rows make other batches."""
    if estimator.batch_size == "auto":
        return {}
    why = "mini-batches of repeated rows are not the batches of the weighted rows"
    return {
        "check_sample_weight_equivalence_on_dense_data": why,
        "check_sample_weight_equivalence_on_sparse_data": why,
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check):
    """Every check of scikit-learn's suite. Two need what a plain test run lacks: the array API
    check needs SCIPY_ARRAY_API set before SciPy is imported (it runs in a fresh interpreter
    here, once for all the estimators), and the pandas checks need pandas (they skip without
    it). As in scikit-learn's own run of them, a ConvergenceWarning (few epochs on tiny data)
    is no failure."""
    name = getattr(check, "func", check).__name__
    if name == "check_array_api_input" and "SCIPY_ARRAY_API" not in os.environ:
        error = array_api_check_errors()[repr(estimator)]
        assert not error, error
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@functools.cache
def array_api_check_errors() -> dict[str, str]:
    """check_array_api_input on each of ESTIMATORS, in an interpreter started with
    SCIPY_ARRAY_API=1: {repr(estimator): the error, or ""}."""
    code = (
        "import json, traceback, warnings\n"
        "from sklearn.exceptions import ConvergenceWarning\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from digitnet.sklearn import DigitnetClassifier, DigitnetRegressor\n"
        "warnings.simplefilter('ignore', ConvergenceWarning)\n"
        "errors = {}\n"
        f"for text in {[repr(e) for e in ESTIMATORS]!r}:\n"
        "    est = eval(text)\n"
        "    try:\n"
        "        check_array_api_input(type(est).__name__, est, array_namespace='numpy',\n"
        "                              expect_only_array_outputs=False)\n"
        "        errors[text] = ''\n"
        "    except Exception:\n"
        "        errors[text] = traceback.format_exc()\n"
        "print(json.dumps(errors))\n"
    )
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    run = subprocess.run([sys.executable, "-W", "error", "-c", code], env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(run.stdout)


# -- MNIST, through scikit-learn ------------------------------------------------------------


@pytest.fixture(scope="module")
def digits(mnist):
    """5,000 MNIST training images and 2,000 test images: (X_train, y_train, X_test, y_test)."""
    return mnist.X_train[:5000], mnist.y_train[:5000], mnist.X_test[:2000], mnist.y_test[:2000]


def test_the_classifier_trains_exactly_what_network_and_train_train(digits):
    """random_state is digitnet's seed: the estimator's network is the lessons' network trained
    by digitnet.train, parameter for parameter."""
    X, y, _, _ = digits
    clf = DigitnetClassifier(**dict(LESSONS, epochs=2), random_state=3).fit(X, y)
    net = Network([784, 16, 16, 10], activation="sigmoid", output="sigmoid", cost="quadratic",
                  init="lecun", seed=3, dtype="float32")  # fmt: skip
    train(net, X, y, TrainConfig(epochs=2, batch_size=10, lr=1.5, seed=3))
    np.testing.assert_array_equal(clf.network_.parameter_vector(), net.parameter_vector())
    assert clf.network_.config() == net.config()
    np.testing.assert_array_equal(clf.predict(X[:500]), net.predict(X[:500]))
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    assert clf.loss_curve_[1] < clf.loss_curve_[0] and clf.best_loss_ == clf.loss_curve_[1]
    assert clf.loss_curve_[1] == pytest.approx(net.total_cost(X, y), rel=1e-5)


def test_label_smoothing_and_mixup_train_what_train_trains(digits):
    X, y, _, _ = digits
    params = dict(hidden_layer_sizes=(32,), solver="sgd", nesterovs_momentum=False, alpha=0.0,
                  batch_size=50, learning_rate_init=0.05, max_iter=2, tol=None)  # fmt: skip
    clf = DigitnetClassifier(**params, label_smoothing=0.1, mixup=0.2, random_state=4).fit(X, y)
    assert "label_smoothing" in clf.get_params() and "mixup" in clf.get_params()
    net = Network([784, 32, 10], activation="relu", output="softmax", cost="cross-entropy",
                  init="xavier", seed=4, dtype="float32")  # fmt: skip
    config = TrainConfig(epochs=2, batch_size=50, lr=0.05, optimizer="momentum",
                         label_smoothing=0.1, mixup=0.2, seed=4)  # fmt: skip
    train(net, X, y, config)
    np.testing.assert_array_equal(clf.network_.parameter_vector(), net.parameter_vector())
    plain = DigitnetClassifier(**params, random_state=4).fit(X, y)
    assert not np.array_equal(plain.network_.parameter_vector(), net.parameter_vector())


def test_a_pipeline_a_grid_search_and_cross_validation_on_mnist(digits):
    X, y, X_test, y_test = digits
    lessons = dict(LESSONS, epochs=5)
    pipe = make_pipeline(MinMaxScaler(), DigitnetClassifier(**lessons, random_state=0))
    assert pipe.fit(X, y).score(X_test, y_test) > 0.85
    grid = GridSearchCV(
        DigitnetClassifier(**dict(lessons, epochs=3), random_state=0),
        {"lr": [0.5, 1.5], "hidden_layer_sizes": [(16,), (32, 16)]},
        cv=2,
        n_jobs=2,
    ).fit(X[:2000], y[:2000])
    assert set(grid.best_params_) == {"lr", "hidden_layer_sizes"}
    assert grid.best_estimator_.network_.sizes[1:-1] == list(
        grid.best_params_["hidden_layer_sizes"]
    )
    assert grid.score(X_test, y_test) > 0.8
    scores = cross_val_score(
        make_pipeline(
            StandardScaler(), DigitnetClassifier(**dict(lessons, epochs=3), random_state=0)
        ),
        X[:3000],
        y[:3000],
        cv=3,
    )
    assert scores.shape == (3,) and scores.min() > 0.8


def test_the_lessons_network_beside_mlpclassifier_on_the_same_split(digits):
    """The same hidden sizes (16, 16), the same 5,000 training and 2,000 test images, 10 epochs
    each: digitnet's SGD at eta 1.5 on the quadratic cost against MLPClassifier's Adam on the
    log-loss (whose fit stops early with a ConvergenceWarning, silenced here)."""
    X, y, X_test, y_test = digits
    lessons = DigitnetClassifier(**dict(LESSONS, epochs=10), random_state=0)
    ours = lessons.fit(X, y).score(X_test, y_test)
    with pytest.warns(UserWarning, match="Maximum iterations"):
        mlp = MLPClassifier((16, 16), max_iter=10, random_state=0).fit(X, y)
    theirs = mlp.score(X_test, y_test)
    print(f"\naccuracy on 2,000 MNIST test images: digitnet {ours:.4f}, MLPClassifier {theirs:.4f}")
    assert ours > 0.86 and ours >= theirs - 0.005


def test_the_fitted_network_is_digitnets_own(digits, tmp_path):
    """network_ saves as a model file, loads back with the same answers, and draws the views."""
    from digitnet import views

    X, y, X_test, _ = digits
    clf = DigitnetClassifier(**dict(LESSONS, epochs=1), random_state=0).fit(X, y)
    clf.network_.save(tmp_path / "model.npz")
    same = Network.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(same.predict(X_test), clf.predict(X_test))
    fig = views.weights(clf.network_)
    assert fig.axes
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_pickle_joblib_and_clone_round_trips(digits, tmp_path):
    X, y, X_test, _ = digits
    clf = DigitnetClassifier(**dict(LESSONS, epochs=1), random_state=0).fit(X[:1000], y[:1000])
    for copy in (pickle.loads(pickle.dumps(clf)), _joblib_round_trip(clf, tmp_path)):
        np.testing.assert_array_equal(copy.predict_proba(X_test), clf.predict_proba(X_test))
        assert copy.network_.W[0].base is copy.network_._flat  # the parameters stay one vector
        copy.set_params(warm_start=True).fit(X[:1000], y[:1000])  # and train on
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "network_")


def _joblib_round_trip(est, tmp_path):
    joblib.dump(est, tmp_path / "est.joblib")
    return joblib.load(tmp_path / "est.joblib")


# -- fitting: warm starts, partial fits, early stopping --------------------------------------


def blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated classes named by strings, in 5 features."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 5)) * 0.5 + np.eye(3, 5)[y] * 3
    return X, np.array(["cat", "dog", "emu"])[y]


def test_a_warm_start_goes_on_exactly_as_one_longer_fit():
    X, y = blobs()
    recipe = dict(LESSONS, random_state=1, optimizer="momentum", lr=0.1)
    once = DigitnetClassifier(**dict(recipe, epochs=5)).fit(X, y)
    twice = DigitnetClassifier(**dict(recipe, epochs=3))
    twice.fit(X, y).set_params(warm_start=True, epochs=2).fit(X, y)
    np.testing.assert_array_equal(
        twice.network_.parameter_vector(), once.network_.parameter_vector()
    )
    assert twice.n_iter_ == 5 and twice.loss_curve_ == once.loss_curve_


def test_weight_averaging_is_digitnets_and_goes_on_with_a_warm_start(digits):
    X, y, _, _ = digits
    recipe = dict(LESSONS, optimizer="momentum", lr=0.1, average=0.99, random_state=2)
    recipe.pop("epochs")
    clf = DigitnetClassifier(epochs=3, **recipe).fit(X, y)
    net = Network([784, 16, 16, 10], activation="sigmoid", output="sigmoid", cost="quadratic",
                  init="lecun", seed=2, dtype="float32")  # fmt: skip
    config = TrainConfig(epochs=3, batch_size=10, lr=0.1, optimizer="momentum", average=0.99,
                         seed=2)  # fmt: skip
    train(net, X, y, config)
    np.testing.assert_array_equal(clf.network_.parameter_vector(), net.parameter_vector())
    twice = DigitnetClassifier(epochs=2, **recipe).fit(X, y)
    twice.set_params(warm_start=True, epochs=1).fit(X, y)
    np.testing.assert_array_equal(twice.network_.parameter_vector(), net.parameter_vector())


def test_partial_fit_learns_from_a_stream_of_batches_with_string_labels():
    X, y = blobs(600)
    clf = DigitnetClassifier(**LESSONS, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:100], y[:100])
    for start in range(0, 500, 100):
        clf.partial_fit(
            X[start : start + 100], y[start : start + 100], classes=["cat", "dog", "emu"]
        )
    assert list(clf.classes_) == ["cat", "dog", "emu"] and clf.n_iter_ == 5
    assert clf.score(X[500:], y[500:]) > 0.95
    with pytest.raises(ValueError, match=r"y has classes \[.fox.\] that are not in classes_"):
        clf.partial_fit(X[:2], ["cat", "fox"])
    with pytest.raises(ValueError, match="X has 4 features, but DigitnetClassifier is expecting 5"):
        clf.partial_fit(X[:10, :4], y[:10])


def test_early_stopping_keeps_the_best_validation_accuracy():
    X, y = blobs(400)
    clf = DigitnetClassifier(**dict(LESSONS, epochs=200), early_stopping=True, patience=3,
                             random_state=0)  # fmt: skip
    clf.fit(X, y)
    assert clf.n_iter_ < 200 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) and clf.best_loss_ is None
    best = int(np.argmax(clf.validation_scores_))
    assert clf.n_iter_ - 1 - best >= 3  # stopped after `patience` epochs without a better one
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.1, random_state=0,
                                                      stratify=y)  # fmt: skip
    assert clf.score(X_val, y_val) == clf.best_validation_score_


def test_sparse_input_is_the_same_as_dense():
    X, y = blobs()
    X[X < 0.5] = 0
    dense = DigitnetClassifier(max_iter=3, tol=None, random_state=0).fit(X, y)
    for sparse in (
        scipy.sparse.csr_matrix(X),
        scipy.sparse.csc_array(X),
        scipy.sparse.coo_matrix(X),
    ):
        fitted = DigitnetClassifier(max_iter=3, tol=None, random_state=0).fit(sparse, y)
        np.testing.assert_array_equal(fitted.network_.parameter_vector(),
                                      dense.network_.parameter_vector())  # fmt: skip
        np.testing.assert_array_equal(dense.predict_proba(sparse), dense.predict_proba(X))


def test_a_dataframe_gives_feature_names():
    import pandas as pd  # in the test extra: a missing pandas fails here

    X, y = blobs()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    clf = DigitnetClassifier(max_iter=2, tol=None, random_state=0).fit(frame, pd.Series(y))
    assert list(clf.feature_names_in_) == ["f0", "f1", "f2", "f3", "f4"]
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(clf.predict(frame), clf.predict(X))
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(frame.rename(columns={"f0": "g0"}))


def test_float32_input_trains_a_float32_network_and_anything_else_float64():
    X, y = blobs()
    clf = DigitnetClassifier(max_iter=1, tol=None)
    assert clf.fit(X.astype(np.float32), y).network_.dtype == np.float32
    assert clf.fit(X.round().astype(int), y).network_.dtype == np.float64


# -- the regressor -------------------------------------------------------------------------


def test_multi_output_regression_answers_in_the_shape_of_y():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(500, 3))
    Y = np.column_stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2] / 4, X.sum(axis=1) / 3])
    recipe = dict(LESSONS_REGRESSOR, hidden_layer_sizes=(32,), activation="tanh", epochs=60)
    reg = DigitnetRegressor(**recipe, random_state=0).fit(X, Y)
    assert reg.network_.sizes == [3, 32, 3] and reg.network_.output == "identity"
    assert reg.predict(X).shape == (500, 3) and reg.score(X, Y) > 0.9
    one = DigitnetRegressor(**dict(LESSONS_REGRESSOR, epochs=5), random_state=0)
    assert one.fit(X, Y[:, 0]).predict(X).shape == (500,)
    assert one.fit(X, Y[:, :1]).predict(X).shape == (500, 1)
    with pytest.raises(ValueError, match="y has 3 outputs, but the network has 1"):
        one.partial_fit(X, Y)


def test_the_regressor_beside_mlpregressor_on_diabetes():
    """Both scaled the same way (X and y standardised), hidden sizes (16, 16), digitnet's with
    the lessons' training (30 epochs of SGD) against MLPRegressor's defaults (up to 200 of
    Adam), 3 splits: R^2 on the held-out quarter."""
    from sklearn.compose import TransformedTargetRegressor

    X, y = load_diabetes(return_X_y=True)
    ours, theirs = [], []
    for seed in range(3):
        X_a, X_b, y_a, y_b = train_test_split(X, y, test_size=0.25, random_state=seed)
        for scores, model in (
            (ours, DigitnetRegressor(**LESSONS_REGRESSOR, random_state=seed)),
            (theirs, MLPRegressor(hidden_layer_sizes=(16, 16), random_state=seed)),
        ):
            est = TransformedTargetRegressor(make_pipeline(StandardScaler(), model),
                                             transformer=StandardScaler())  # fmt: skip
            with warnings.catch_warnings():  # MLPRegressor's 200 epochs end unconverged
                warnings.simplefilter("ignore", ConvergenceWarning)
                scores.append(est.fit(X_a, y_a).score(X_b, y_b))
    print(f"\nR^2 on diabetes: digitnet {np.round(ours, 3)}, MLPRegressor {np.round(theirs, 3)}")
    assert np.mean(ours) >= np.mean(theirs) - 0.005 and min(ours) > 0.2


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params,message",
    [
        (dict(activation="swish"), "unknown activation 'swish'"),
        (dict(output="relu"), "output must be 'sigmoid' or 'softmax'"),
        (dict(optimizer="lbfgs"), "unknown optimizer 'lbfgs'"),
        (dict(lr=0), "lr must be a positive number"),
        (dict(epochs=0), "epochs must be at least 1"),
        (dict(epochs=2.5), "epochs must be a whole number"),
        (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
        (dict(average=1.0), r"average must be in \[0, 1\)"),
        (dict(label_smoothing=1.0), r"label_smoothing must be in \[0, 1\)"),
        (dict(mixup=-0.5), "mixup must be a finite number >= 0"),
        (dict(hidden_layer_sizes=(16, 0)), "hidden_layer_sizes must be positive whole numbers"),
        (dict(early_stopping=True, validation_fraction=1.0), "validation_fraction must be in"),
        (dict(epochs=5, max_iter=6), "epochs=5 and max_iter=6 name one setting"),
        (dict(solver="lbfgs"), "solver must be 'sgd' or 'adam', got 'lbfgs'"),
        (dict(solver="adam", optimizer="sgd"), "optimizer='sgd' and solver='adam' name one"),
        (dict(alpha=1e-4, weight_decay=1e-5), "weight_decay and alpha name one setting"),
        (dict(patience=3, n_iter_no_change=3), r"patience = n_iter_no_change \+ 1"),
        (dict(tol=-1.0), "tol must be a number >= 0 or None"),
        (dict(batch_size="big"), "batch_size must be a whole number or 'auto'"),
        (dict(random_state=-1), "random_state must be a whole number >= 0"),
        (dict(cost="cross-entropy", output="sigmoid", activation="tanh", schedule="linear"),
         "unknown schedule 'linear'"),
    ],
)  # fmt: skip
def test_a_bad_parameter_is_one_value_error_naming_it(params, message):
    X, y = blobs(30)
    with pytest.raises(ValueError, match=message) as err:
        DigitnetClassifier(**params).fit(X, y)
    assert "\n" not in str(err.value)


def test_the_regressor_takes_the_quadratic_cost_only():
    with pytest.raises(ValueError, match="cost must be 'quadratic'"):
        DigitnetRegressor(cost="cross-entropy").fit(np.zeros((4, 2)), np.zeros(4))


def test_bad_data_is_refused_before_any_work():
    X, y = blobs(50)
    clf = DigitnetClassifier(max_iter=1, tol=None)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    with pytest.raises(ValueError, match="one class only"):
        clf.fit(X, ["cat"] * 50)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(bad, y)
    with pytest.raises(ValueError, match="Found array with 0 sample"):
        clf.fit(X[:0], y[:0])
    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but DigitnetClassifier is expecting 5"):
        clf.predict(X[:, :3])
    X_reg, y_reg = make_regression(n_samples=20, n_features=4, random_state=0)
    y_reg[0] = np.inf
    with pytest.raises(ValueError, match="Input y contains infinity"):
        DigitnetRegressor().fit(X_reg, y_reg)


def test_a_diverging_run_is_a_value_error_saying_why():
    X, y = make_regression(n_samples=50, n_features=4, random_state=0)
    with pytest.raises(
        ValueError, match=r"the cost became (nan|inf) .* \(lr=1000000.0\) is probably too high"
    ):
        DigitnetRegressor(**LESSONS_REGRESSOR).set_params(lr=1e6, epochs=5).fit(X, y * 1e3)
