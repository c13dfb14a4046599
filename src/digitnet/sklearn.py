"""scikit-learn estimators around digitnet's network: pipelines, grid searches, cross-validation.

>>> from digitnet.sklearn import DigitnetClassifier, DigitnetRegressor

:class:`DigitnetClassifier` and :class:`DigitnetRegressor` follow scikit-learn's estimator API
(``fit``, ``partial_fit``, ``predict``, ``score``, ``get_params``/``set_params``, ``clone``) and
pass its estimator checks. Their parameters are digitnet's names with the lessons' defaults: a
784-16-16-10 network becomes ``hidden_layer_sizes=(16, 16)`` on 784 features and 10 classes,
sigmoid neurons, the quadratic cost, SGD on mini-batches of 10 at eta 1.5 for 30 epochs. Each
fit builds a :class:`digitnet.Network` and trains it with :func:`digitnet.train`; the trained
network is ``network_``, for ``digitnet.views``, ``digitnet explain`` and ``Network.save``.

Inputs are dense arrays, anything ``numpy.asarray`` takes (lists, pandas DataFrames, whose
column names become ``feature_names_in_``) or SciPy sparse matrices, made dense as
``MLPClassifier`` does. float32 input trains a float32 network; any other a float64 one.

scikit-learn is an optional dependency (``pip install digitnet[sklearn]``); only this module
imports it. Fitted estimators pickle, as scikit-learn's do; ``network_.save`` writes digitnet's
pickle-free ``.npz`` model.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.train import Callback, EpochRecord, History, TrainConfig, TrainingState, train

__all__ = ["DigitnetClassifier", "DigitnetRegressor"]

_SEED_BOUND = 2**31 - 1


class _EpochWatch(Callback):
    """After every epoch: the validation score for early stopping, and a line when verbose.

    Keeps the best parameters seen on the validation split and asks train to stop once
    ``patience`` epochs in a row have not beaten it.
    """

    def __init__(
        self,
        score: Any,
        X_val: np.ndarray | None,
        y_val: np.ndarray | None,
        patience: int,
        verbose: bool,
    ) -> None:
        self.score, self.X_val, self.y_val = score, X_val, y_val
        self.patience, self.verbose = patience, verbose
        self.scores: list[float] = []
        self.best_score, self.best_params, self.since_best = -np.inf, None, 0

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        line = f"epoch {record.epoch}: cost {record.train_cost:.6f}"
        if self.X_val is not None:
            score = float(self.score(network, self.X_val, self.y_val))
            self.scores.append(score)
            line += f", validation score {score:.6f}"
            if score > self.best_score:
                self.best_score, self.since_best = score, 0
                self.best_params = network.copy_parameters()
            else:
                self.since_best += 1
                self.stop_requested = self.since_best >= self.patience
        if self.verbose:
            print(line)


class _DigitnetEstimator(BaseEstimator):
    """What the classifier and the regressor share: the parameters, fit, partial_fit, pickling.

    Subclasses say how targets become what :func:`digitnet.train` takes (``_targets``), how
    many output neurons that needs and how a network is scored (``_score_network``).
    """

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (16, 16),
        activation: str = "sigmoid",
        output: str = "sigmoid",
        cost: str = "quadratic",
        init: str = "lecun",
        optimizer: str = "sgd",
        lr: float = 1.5,
        batch_size: int = 10,
        epochs: int = 30,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        dropout: float = 0.0,
        schedule: str = "constant",
        average: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        warm_start: bool = False,
        engine: str = "fast",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output = output
        self.cost = cost
        self.init = init
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.schedule = schedule
        self.average = average
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.engine = engine

    # -- the parts a subclass gives ---------------------------------------------------------
    _y_numeric = False  # the regressor's targets are numbers

    def _targets(self, y: Any, first: bool) -> np.ndarray:
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    @staticmethod
    def _score_network(net: Network, X: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    # -- checks --------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes):
            raise ValueError(
                "hidden_layer_sizes must be positive whole numbers, "
                f"got {self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _check_parameters(self) -> None:
        """Raise a ValueError naming the first parameter digitnet's own checks do not cover."""
        if not isinstance(self.epochs, Integral) or isinstance(self.epochs, bool):
            raise ValueError(f"epochs must be a whole number, got {self.epochs!r}")
        if not isinstance(self.batch_size, Integral) or isinstance(self.batch_size, bool):
            raise ValueError(f"batch_size must be a whole number, got {self.batch_size!r}")
        if not isinstance(self.lr, Real):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not isinstance(self.patience, Integral) or self.patience < 1:
            raise ValueError(f"patience must be a whole number >= 1, got {self.patience!r}")
        if self.early_stopping and not (
            isinstance(self.validation_fraction, Real) and 0 < self.validation_fraction < 1
        ):
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            )

    def _seed(self) -> int:
        """The digitnet seed: random_state itself when it is a whole number >= 0 (so that
        ``random_state=0`` trains what ``Network(seed=0)`` and ``TrainConfig(seed=0)`` do),
        else a number drawn from it."""
        rs = self.random_state
        if isinstance(rs, Integral) and not isinstance(rs, bool):
            if rs < 0:
                raise ValueError(f"random_state must be a whole number >= 0, got {rs!r}")
            return int(rs)
        return int(check_random_state(rs).randint(_SEED_BOUND))

    def _config(self, epochs: int, seed: int, monitor: int) -> TrainConfig:
        config = TrainConfig(
            epochs=epochs,
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            optimizer=self.optimizer,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            dropout=self.dropout,
            schedule=self.schedule,
            average=float(self.average),
            seed=seed,
            monitor=monitor,
            engine=self.engine,
        )
        try:
            config.validate()
        except (DigitnetError, TypeError) as err:
            raise ValueError(str(err)) from None
        return config

    def _validate_X(self, X: Any) -> np.ndarray:
        """X (n, n_features) to predict on: float32 or float64, dense."""
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32),
                          reset=False)  # fmt: skip
        return X.toarray() if scipy.sparse.issparse(X) else X

    def _validate_X_y(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """X (n, n_features) and y (n,) or (n, k) to train on: X as :meth:`_validate_X` makes
        it; the first fit (``reset``) records ``n_features_in_`` (and ``feature_names_in_``)."""
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=self._y_numeric, dtype=(np.float64, np.float32),
                             reset=reset)  # fmt: skip
        return (X.toarray() if scipy.sparse.issparse(X) else X), y

    # -- training ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> Any:
        """Train a new network on X (n, n_features) and y (n,) (a regressor also takes
        (n, n_outputs)) for ``epochs`` epochs; with ``warm_start``, go on training the fitted
        one for ``epochs`` more. Returns self."""
        return self._fit(X, y, incremental=False)

    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None) -> Any:
        self._check_parameters()
        hidden = self._hidden_sizes()
        fresh = not hasattr(self, "network_") or not (self.warm_start or incremental)
        if fresh and classes is not None:
            self._set_classes(classes)
        X, y = self._validate_X_y(X, y, reset=fresh)
        Y = self._targets(y, first=fresh and classes is None)
        if fresh:
            seed = self._seed()
            try:
                self.network_ = Network(
                    [X.shape[1], *hidden, self._n_outputs()],
                    activation=self.activation,
                    cost=self.cost,
                    init=self.init,
                    seed=seed,
                    output=self.output,
                    dtype=np.float32 if X.dtype == np.float32 else np.float64,
                )
            except DigitnetError as err:
                raise ValueError(str(err)) from None
            self._train_seed = seed
            self._history, self._state = History(), TrainingState()
            self.validation_scores_: list[float] | None = None
        if self._state.started and (
            self._state.optimizer_name != self.optimizer
            or (self._state.average is not None) != bool(self.average)
        ):
            self._state = TrainingState()  # a new optimizer (or averaging) starts from rest

        X_val = y_val = None
        if self.early_stopping and not incremental:
            stratify = Y if Y.ndim == 1 else None
            X, X_val, Y, y_val = train_test_split(
                X,
                Y,
                test_size=self.validation_fraction,
                random_state=self._train_seed,
                stratify=stratify,
            )
        done = len(self._history.epochs)
        config = self._config(
            done + (1 if incremental else int(self.epochs)), self._train_seed, len(X)
        )
        if incremental:  # one epoch at eta: a stream has no length for a schedule to span
            config.schedule = "constant"
        watch = _EpochWatch(self._score_network, X_val, y_val, self.patience, self.verbose)
        try:
            train(self.network_, X, Y, config, callback=watch, history=self._history,
                  state=self._state)  # fmt: skip
        except DigitnetError as err:
            raise ValueError(str(err)) from None
        if X_val is not None:
            if watch.best_params is not None:
                self.network_.set_parameters(watch.best_params)
            self.validation_scores_ = (self.validation_scores_ or []) + watch.scores
            self.best_validation_score_ = max(self.validation_scores_)
        costs = self._history.column("train_cost")
        self.loss_curve_ = costs
        self.n_iter_ = len(costs)
        self.best_loss_ = None if self.early_stopping else min(costs)
        return self

    # -- pickling: the network as its config and parameter vector ---------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        if "network_" in state:
            net = state.pop("network_")
            state["_network"] = (net.config(), net.parameter_vector())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "_network" in state:
            config, theta = state.pop("_network")
            net = Network.from_config(config, seed=None)
            net.set_parameter_vector(theta)
            state["network_"] = net
        super().__setstate__(state)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class DigitnetClassifier(ClassifierMixin, _DigitnetEstimator):
    """A digitnet network as a scikit-learn classifier: one output neuron per class.

    Parameters (digitnet's names; the defaults are the lessons' network and training):

    - ``hidden_layer_sizes``: the hidden layers' sizes, ``(16, 16)``; the input layer has one
      neuron per feature and the output layer one per class;
    - ``activation``: the hidden layers' sigma: sigmoid, relu, leaky-relu, tanh or identity;
    - ``output``: the output layer's, ``"sigmoid"`` or ``"softmax"``;
    - ``cost``: ``"quadratic"`` (the lessons') or ``"cross-entropy"``;
    - ``init``: normal, lecun, xavier or he;
    - ``optimizer`` (sgd, momentum, nesterov, adam), ``lr`` (eta), ``batch_size``, ``epochs``,
      ``momentum``, ``weight_decay`` (L2 lambda), ``dropout``, ``schedule`` (constant, step,
      cosine), ``average`` (weight averaging's beta, 0 for none), ``engine`` (fast or
      reference): as in :class:`digitnet.TrainConfig`;
    - ``early_stopping``: hold out ``validation_fraction`` of the training data (stratified),
      stop after ``patience`` epochs without a better validation accuracy and keep the best
      weights;
    - ``random_state``: a whole number is digitnet's seed itself (initial weights, data order,
      dropout), None or a ``RandomState`` draws one;
    - ``verbose``: print one line per epoch; ``warm_start``: ``fit`` goes on training the fitted
      network (the same classes) for ``epochs`` more epochs.

    Attributes after ``fit``: ``classes_`` (n_classes,), ``n_features_in_``,
    ``feature_names_in_`` (for a DataFrame), ``network_`` (the trained :class:`Network`),
    ``loss_curve_`` (the cost on the training data after each epoch), ``n_iter_`` (epochs
    trained), ``best_loss_``, and with early stopping ``validation_scores_`` (accuracy after
    each epoch) and ``best_validation_score_``.

    >>> clf = DigitnetClassifier(epochs=5, random_state=0).fit(X, y)  # doctest: +SKIP
    """

    def _set_classes(self, classes: Any) -> None:
        classes = unique_labels(np.asarray(classes))
        if len(classes) < 2:
            raise ValueError(
                f"y has one class only ({classes[0]!r}): a classifier needs at least two"
            )
        self.classes_ = classes

    def _check_parameters(self) -> None:
        super()._check_parameters()
        if self.output not in ("sigmoid", "softmax"):
            raise ValueError(f"output must be 'sigmoid' or 'softmax', got {self.output!r}")

    def _targets(self, y: Any, first: bool) -> np.ndarray:
        """The integer labels (n,) in 0..n_classes-1 that digitnet trains on: the positions of
        y's classes in ``classes_``."""
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            self._set_classes(y)
        else:
            unknown = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unknown):
                raise ValueError(
                    f"y has classes {unknown} that are not in classes_ {self.classes_}"
                )
        return np.searchsorted(self.classes_, y)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    @staticmethod
    def _score_network(net: Network, X: np.ndarray, y: np.ndarray) -> float:
        return float(accuracy_score(y, net.predict(X)))

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> DigitnetClassifier:
        """One epoch on X (n, n_features), y (n,), going on from the last call. The first call
        needs ``classes``, every class the network will see (``np.unique`` of all the y's).
        The learning rate is ``lr`` throughout (no schedule); no early stopping."""
        if not hasattr(self, "network_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"classes {classes!r} differ from classes_ {self.classes_!r}")
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Each class's probability (n, n_classes), float64, rows summing to 1, in the order of
        ``classes_``: a softmax output as it is, a sigmoid output divided by its sum (see
        :meth:`digitnet.Network.predict_proba`)."""
        check_is_fitted(self)
        return self.network_.predict_proba(self._validate_X(X))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """ln of :meth:`predict_proba` (n, n_classes); a probability of 0 gives -inf."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class for each row of X (n,): the most active output neuron."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class DigitnetRegressor(RegressorMixin, _DigitnetEstimator):
    """A digitnet network as a scikit-learn regressor: one linear output neuron per target,
    trained on the lessons' quadratic cost C = (1/n) sum (a_j - y_j)^2.

    The parameters are :class:`DigitnetClassifier`'s; here ``output`` defaults to
    ``"identity"`` (any activation works: ``"sigmoid"`` for targets in (0, 1)), ``cost`` is
    ``"quadratic"``, and ``lr`` is smaller: an unbounded output takes bigger steps. y is (n,)
    or (n, n_outputs); ``predict`` answers in the same shape. ``validation_scores_`` are R^2.
    """

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (16, 16),
        activation: str = "sigmoid",
        output: str = "identity",
        cost: str = "quadratic",
        init: str = "lecun",
        optimizer: str = "sgd",
        lr: float = 0.03,
        batch_size: int = 10,
        epochs: int = 30,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        dropout: float = 0.0,
        schedule: str = "constant",
        average: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        warm_start: bool = False,
        engine: str = "fast",
    ) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            output=output,
            cost=cost,
            init=init,
            optimizer=optimizer,
            lr=lr,
            batch_size=batch_size,
            epochs=epochs,
            momentum=momentum,
            weight_decay=weight_decay,
            dropout=dropout,
            schedule=schedule,
            average=average,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            engine=engine,
        )

    _y_numeric = True

    def _check_parameters(self) -> None:
        super()._check_parameters()
        if self.cost != "quadratic":
            raise ValueError(f"cost must be 'quadratic' for a regressor, got {self.cost!r}")

    def _targets(self, y: Any, first: bool) -> np.ndarray:
        """The desired outputs (n, n_outputs) as floats."""
        y = np.asarray(y, dtype=np.float64)
        Y = y.reshape(len(y), -1)
        if first:
            self.n_outputs_, self._y_ndim = Y.shape[1], y.ndim
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the network has {self.n_outputs_}")
        return Y

    def _n_outputs(self) -> int:
        return self.n_outputs_

    @staticmethod
    def _score_network(net: Network, X: np.ndarray, y: np.ndarray) -> float:
        return float(r2_score(y, net.feedforward(X)))

    def partial_fit(self, X: Any, y: Any) -> DigitnetRegressor:
        """One epoch on X (n, n_features), y, going on from the last call, at ``lr``
        throughout (no schedule); no early stopping."""
        return self._fit(X, y, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """The output layer's activations, float64: (n,) for a 1-D y, else (n, n_outputs)."""
        check_is_fitted(self)
        a = self.network_.feedforward(self._validate_X(X)).astype(np.float64)
        return a.ravel() if self._y_ndim == 1 else a

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
