"""scikit-learn estimators around digitnet's network: pipelines, grid searches, cross-validation.

>>> from digitnet.sklearn import DigitnetClassifier, DigitnetRegressor

:class:`DigitnetClassifier` and :class:`DigitnetRegressor` follow scikit-learn's estimator API
(``fit``, ``partial_fit``, ``predict``, ``score``, ``get_params``/``set_params``, ``clone``) and
pass its estimator checks. Their defaults are ``MLPClassifier``'s and ``MLPRegressor``'s: one
hidden layer of 100 ReLU neurons, a softmax output on the log-loss (the classifier) or a linear
output on the quadratic cost (the regressor), Glorot's initial weights, Adam at eta 0.001 on
mini-batches of min(200, n), L2 penalty ``alpha=1e-4``, at most 200 epochs, stopping once the
cost has not fallen by ``tol=1e-4`` for 11 epochs in a row. The lessons' network and training
(784-16-16-10, sigmoid, quadratic cost, SGD at eta 1.5 on batches of 10, 30 epochs) are
``DigitnetClassifier(**LESSONS)``. Each fit builds a :class:`digitnet.Network` and trains it
with :func:`digitnet.train`; the trained network is ``network_``, for ``digitnet.views``,
``digitnet explain`` and ``Network.save``.

Parameters take digitnet's names or scikit-learn's (``max_iter`` for ``epochs``,
``learning_rate_init`` for ``lr``, ``alpha`` for ``weight_decay``, ``solver`` for
``optimizer``, ``n_iter_no_change`` for ``patience``, ``activation="logistic"`` for
``"sigmoid"``); each pair is one setting, resolved at fit (see :func:`_resolve`).

Inputs are dense arrays, anything ``numpy.asarray`` takes (lists, pandas DataFrames, whose
column names become ``feature_names_in_``) or SciPy sparse matrices, made dense as
``MLPClassifier`` does. float32 input trains a float32 network; any other a float64 one.

scikit-learn is an optional dependency (``pip install 'digitnet[sklearn]'``); only this module
imports it. Fitted estimators pickle, as scikit-learn's do; ``network_.save`` writes digitnet's
pickle-free ``.npz`` model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:
    raise ImportError(
        "digitnet.sklearn needs scikit-learn: pip install 'digitnet[sklearn]'"
    ) from None
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.train import Callback, EpochRecord, History, TrainConfig, TrainingState, train

__all__ = ["LESSONS", "DigitnetClassifier", "DigitnetRegressor"]

_SEED_BOUND = 2**31 - 1

#: The lessons' network and training, as a classifier's parameters: ``DigitnetClassifier(
#: **LESSONS)`` trains what ``Network([n, 16, 16, k], seed=s)`` and ``TrainConfig(seed=s)`` do,
#: every epoch asked for (``tol=None``: no convergence test). Inputs in [0, 1], as MNIST's.
LESSONS: dict[str, Any] = dict(
    hidden_layer_sizes=(16, 16),
    activation="sigmoid",
    output="sigmoid",
    cost="quadratic",
    init="lecun",
    optimizer="sgd",
    lr=1.5,
    batch_size=10,
    epochs=30,
    alpha=0.0,
    tol=None,
)

# scikit-learn's names for digitnet's activations
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}


@dataclass
class _Settings:
    """One fit's settings, each pair of names resolved to digitnet's (see :func:`_resolve`)."""

    activation: str
    output: str
    optimizer: str
    lr: float
    epochs: int
    batch_size: int
    weight_decay: float
    n_iter_no_change: int


def _pick(est: Any, ours: str, theirs: str, default: Any) -> Any:
    """The value of the setting named ``ours`` by digitnet and ``theirs`` by scikit-learn:
    whichever is not None, ``default`` when both are; both given and different is an error."""
    a, b = getattr(est, ours), getattr(est, theirs)
    if a is not None and b is not None and a != b:
        raise ValueError(f"{ours}={a!r} and {theirs}={b!r} name one setting: give one of them")
    return default if a is None and b is None else (a if a is not None else b)


def _optimizer_of_solver(solver: str, momentum: float, nesterov: bool) -> str:
    """digitnet's optimizer for scikit-learn's ``solver``: "sgd" is SGD with momentum as
    ``MLPClassifier`` takes it (Nesterov's unless ``nesterovs_momentum=False``)."""
    if solver == "adam":
        return "adam"
    if solver == "sgd":
        if not momentum:
            return "sgd"
        return "nesterov" if nesterov else "momentum"
    raise ValueError(
        f"solver must be 'sgd' or 'adam', got {solver!r} (digitnet has no {solver!r}; "
        "optimizer= also takes 'momentum' and 'nesterov')"
    )


def _resolve(est: Any, n_train: int, mean_weight: float) -> _Settings:
    """The settings a fit on ``n_train`` examples (of mean sample weight ``mean_weight``) uses.

    ``alpha`` becomes digitnet's ``weight_decay`` lambda = alpha / (m mean_w), m the batch
    size: scikit-learn adds alpha W / sum_x w_x to each batch's dC/dW where digitnet adds
    lambda W, so the two agree for every batch whose weights sum to m mean_w (every batch of
    unweighted data but a smaller last one; with weights, a batch holding all the data).
    """
    activation = _ACTIVATION_ALIASES.get(est.activation, est.activation)
    output = _ACTIVATION_ALIASES.get(est.output, est.output)
    if est.solver is None:
        optimizer = est.optimizer if est.optimizer is not None else "adam"
    else:
        optimizer = _optimizer_of_solver(est.solver, est.momentum, est.nesterovs_momentum)
        if est.optimizer is not None and est.optimizer != optimizer:
            raise ValueError(
                f"optimizer={est.optimizer!r} and solver={est.solver!r} name one setting "
                f"(solver={est.solver!r} is optimizer={optimizer!r} here): give one of them"
            )
    lr = _pick(est, "lr", "learning_rate_init", 1e-3)
    if not isinstance(lr, Real):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    epochs = _pick(est, "epochs", "max_iter", 200)
    if not isinstance(epochs, Integral) or isinstance(epochs, bool):
        raise ValueError(f"epochs must be a whole number, got {epochs!r}")
    batch = est.batch_size
    if isinstance(batch, str) and batch == "auto":
        batch = min(200, n_train)
    elif not isinstance(batch, Integral) or isinstance(batch, bool):
        raise ValueError(f"batch_size must be a whole number or 'auto', got {batch!r}")
    if est.weight_decay is not None and est.alpha is not None:
        raise ValueError(
            "weight_decay and alpha name one setting (lambda = alpha / batch_size): "
            "give one of them"
        )
    if est.weight_decay is not None:
        weight_decay = est.weight_decay
    else:
        alpha = 1e-4 if est.alpha is None else est.alpha
        if not isinstance(alpha, Real) or not float(alpha) >= 0:
            raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
        weight_decay = alpha / (min(int(batch), n_train) * mean_weight)
    patience = est.patience
    if patience is not None and (not isinstance(patience, Integral) or patience < 1):
        raise ValueError(f"patience must be a whole number >= 1, got {patience!r}")
    n = est.n_iter_no_change
    if n is not None and (not isinstance(n, Integral) or n < 1):
        raise ValueError(f"n_iter_no_change must be a whole number >= 1, got {n!r}")
    if n is not None and patience is not None and patience != n + 1:
        raise ValueError(
            f"patience={patience!r} and n_iter_no_change={n!r} name one setting "
            "(patience = n_iter_no_change + 1): give one of them"
        )
    if n is None:
        n = 10 if patience is None else patience - 1
    return _Settings(activation, output, optimizer, float(lr), int(epochs), int(batch),
                     float(weight_decay), int(n))  # fmt: skip


class _EpochWatch(Callback):
    """After every epoch: the cost training minimises, the validation score with early
    stopping, the convergence test, and a line when verbose.

    The test is ``MLPClassifier``'s: an epoch that does not lower the best cost by ``tol``
    (with early stopping: raise the best validation score by ``tol``) counts, one that does
    resets the count, and training stops when the count passes ``n_iter_no_change``. With
    ``tol=None`` only early stopping stops, after ``n_iter_no_change + 1`` epochs without a
    better validation score. Keeps the parameters of the best validation score.
    """

    def __init__(self, est: Any, settings: _Settings, X: np.ndarray, Y: np.ndarray,
                 w: np.ndarray | None, val: tuple[Any, Any, Any] | None,
                 n_iter_no_change: int) -> None:  # fmt: skip
        self.est, self.settings = est, settings
        self.X, self.Y, self.w, self.val = X, Y, w, val
        self.n_iter_no_change = n_iter_no_change
        self.losses: list[float] = []
        self.scores: list[float] = []
        self.best_params: list[np.ndarray] | None = None
        self.converged = False

    def _loss(self, record: EpochRecord, network: Network) -> float:
        """The training cost plus the L2 penalty (lambda/2) sum w^2: what the steps descend.
        With sample weights, the weighted mean of the examples' costs."""
        if self.w is None:
            cost = record.train_cost
        else:
            t = network.trace(self.X)
            cost = float(
                np.average(network.cost.each(t.z_of(-1), t.output, self.Y), weights=self.w)
            )
        lam = self.settings.weight_decay
        if lam:
            cost += 0.5 * lam * sum(float(np.einsum("ij,ij->", W, W)) for W in network.W)
        return cost

    def on_epoch_end(self, record: EpochRecord, network: Network) -> None:
        est, tol = self.est, self.est.tol
        loss = self._loss(record, network)
        self.losses.append(loss)
        line = f"epoch {record.epoch}: cost {loss:.6f}"
        if self.val is not None:
            X_val, y_val, w_val = self.val
            score = float(est._score_network(network, X_val, y_val, w_val))
            self.scores.append(score)
            line += f", validation score {score:.6f}"
            best = est.best_validation_score_
            worse = score <= best if tol is None else score < best + tol
            if score > best:
                est.best_validation_score_ = score
                self.best_params = network.copy_parameters()
        else:
            worse = tol is not None and loss > est.best_loss_ - tol
            est.best_loss_ = min(est.best_loss_, loss)
        est._no_improvement_count = est._no_improvement_count + 1 if worse else 0
        if est.verbose:
            print(line)
        tested = tol is not None or self.val is not None
        if tested and est._no_improvement_count > self.n_iter_no_change:
            self.converged = self.stop_requested = True
            if est.verbose:
                what = "Validation score" if self.val is not None else "Training loss"
                print(f"{what} did not improve more than tol={tol} for "
                      f"{self.n_iter_no_change} consecutive epochs. Stopping.")  # fmt: skip


class _DigitnetEstimator(BaseEstimator):
    """What the classifier and the regressor share: the parameters, fit, partial_fit, pickling.

    Subclasses say how targets become what :func:`digitnet.train` takes (``_targets``), how
    many output neurons that needs and how a network is scored (``_score_network``).
    """

    _train_seed: int  # the seed of the last fresh fit, which partial_fit goes on with

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (100,),
        activation: str = "relu",
        output: str = "softmax",
        cost: str = "cross-entropy",
        init: str = "xavier",
        optimizer: str | None = None,
        solver: str | None = None,
        lr: float | None = None,
        learning_rate_init: float | None = None,
        batch_size: int | str = "auto",
        epochs: int | None = None,
        max_iter: int | None = None,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        weight_decay: float | None = None,
        alpha: float | None = None,
        dropout: float = 0.0,
        schedule: str = "constant",
        average: float = 0.0,
        tol: float | None = 1e-4,
        n_iter_no_change: int | None = None,
        patience: int | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        warm_start: bool = False,
        engine: str = "fast",
        label_smoothing: float = 0.0,
        mixup: float = 0.0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output = output
        self.cost = cost
        self.init = init
        self.optimizer = optimizer
        self.solver = solver
        self.lr = lr
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_iter = max_iter
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.dropout = dropout
        self.schedule = schedule
        self.average = average
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.patience = patience
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.engine = engine
        self.label_smoothing = label_smoothing
        self.mixup = mixup

    # -- the parts a subclass gives ---------------------------------------------------------
    _y_numeric = False  # the regressor's targets are numbers

    def _targets(self, y: Any, first: bool) -> np.ndarray:
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    @staticmethod
    def _score_network(
        net: Network, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
    ) -> float:
        raise NotImplementedError

    # -- the fitted network as scikit-learn's MLP shows it ----------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Each layer's weights as ``MLPClassifier`` holds them, (n_in, n_out): views of
        ``network_.W[l].T``, so writing into them changes the network."""
        return [W.T for W in self.network_.W]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Each layer's biases (n_out,): ``network_.b`` itself."""
        return list(self.network_.b)

    @property
    def n_layers_(self) -> int:
        """The number of layers, input and output included, as ``MLPClassifier`` counts."""
        return len(self.network_.sizes)

    @property
    def out_activation_(self) -> str:
        """The output layer's activation, by scikit-learn's name where it has one."""
        out = self.network_.output
        return {"sigmoid": "logistic"}.get(out, out)

    # -- checks --------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:
        given = self.hidden_layer_sizes
        sizes: list[object] = [given] if isinstance(given, int | Integral) else list(given)
        if not all(
            isinstance(s, Integral) and not isinstance(s, bool) and int(s) >= 1 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be positive whole numbers, "
                f"got {self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes if isinstance(s, Integral)]

    def _check_parameters(self) -> None:
        """Raise a ValueError naming the first parameter digitnet's own checks do not cover."""
        if self.tol is not None and not (isinstance(self.tol, Real) and self.tol >= 0):
            raise ValueError(f"tol must be a number >= 0 or None, got {self.tol!r}")
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

    def _config(self, s: _Settings, epochs: int, seed: int, monitor: int) -> TrainConfig:
        config = TrainConfig(
            epochs=epochs,
            batch_size=s.batch_size,
            lr=s.lr,
            optimizer=s.optimizer,
            momentum=self.momentum,
            weight_decay=s.weight_decay,
            dropout=self.dropout,
            schedule=self.schedule,
            average=float(self.average),
            label_smoothing=float(self.label_smoothing),
            mixup=float(self.mixup),
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
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Train a new network on X (n, n_features) and y (n,) (a regressor also takes
        (n, n_outputs)) for at most ``epochs`` (``max_iter``) epochs, with ``sample_weight``
        (n,) weighing each example's cost; with ``warm_start``, go on training the fitted one
        for at most that many more. A run the convergence test did not stop warns with a
        ``ConvergenceWarning`` (unless ``tol=None``). Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(
        self, X: Any, y: Any, sample_weight: Any, incremental: bool, classes: Any = None
    ) -> Any:
        self._check_parameters()
        if self.early_stopping and incremental:  # as MLPClassifier: a stream has no held-out part
            raise ValueError("partial_fit does not support early_stopping=True")
        hidden = self._hidden_sizes()
        fresh = not hasattr(self, "network_") or not (self.warm_start or incremental)
        if fresh and classes is not None:
            self._set_classes(classes)
        X, y = self._validate_X_y(X, y, reset=fresh)
        Y = self._targets(y, first=fresh and classes is None)
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        seed = self._seed() if fresh else self._train_seed
        X_val = y_val = w_val = None
        if self.early_stopping:
            stratify = Y if Y.ndim == 1 else None
            parts = train_test_split(X, Y, *([] if w is None else [w]),
                                     test_size=self.validation_fraction, random_state=seed,
                                     stratify=stratify)  # fmt: skip
            X, X_val, Y, y_val = parts[:4]
            if w is not None:
                w, w_val = parts[4], parts[5]
        s = _resolve(self, len(X), 1.0 if w is None else float(np.mean(w)))
        if fresh:
            try:
                self.network_ = Network(
                    [X.shape[1], *hidden, self._n_outputs()],
                    activation=s.activation,
                    cost=self.cost,
                    init=self.init,
                    seed=seed,
                    output=s.output,
                    dtype=np.float32 if X.dtype == np.float32 else np.float64,
                )
            except DigitnetError as err:
                raise ValueError(str(err)) from None
            self._train_seed = seed
            self._history, self._state = History(), TrainingState()
            self.loss_curve_: list[float] = []
            early = self.early_stopping
            self.validation_scores_: list[float] | None = [] if early else None
            self.best_loss_: float | None = None if early else np.inf
            self.best_validation_score_: float | None = -np.inf if early else None
            self._no_improvement_count, self.t_ = 0, 0
        if self._state.started and (
            self._state.optimizer_name != s.optimizer
            or (self._state.average is not None) != bool(self.average)
        ):
            self._state = TrainingState()  # a new optimizer (or averaging) starts from rest

        done = len(self._history.epochs)
        epochs = 1 if incremental else s.epochs
        # with sample weights the watch measures the weighted cost itself
        config = self._config(s, done + epochs, self._train_seed, len(X) if w is None else 0)
        if incremental:  # one epoch at eta: a stream has no length for a schedule to span
            config.schedule = "constant"
        val = None if X_val is None else (X_val, y_val, w_val)
        watch = _EpochWatch(self, s, X, Y, w, val, s.n_iter_no_change)
        try:
            train(self.network_, X, Y, config, callback=watch, history=self._history,
                  state=self._state, sample_weight=w)  # fmt: skip
        except DigitnetError as err:
            raise ValueError(str(err)) from None
        if watch.converged and self._state.average is not None:  # a stop keeps the average too
            self.network_.set_parameter_vector(self._state.average)
        if val is not None:
            if watch.best_params is not None:
                self.network_.set_parameters(watch.best_params)
            self.validation_scores_ = (self.validation_scores_ or []) + watch.scores
        self.loss_curve_ = self.loss_curve_ + watch.losses
        self.n_iter_ = len(self.loss_curve_)
        self.t_ += len(X) * len(watch.losses)
        if not incremental and self.tol is not None and not watch.converged:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({s.epochs}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
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

    Parameters (digitnet's name / scikit-learn's; the defaults are ``MLPClassifier``'s, the
    lessons' are :data:`LESSONS`):

    - ``hidden_layer_sizes``: the hidden layers' sizes, ``(100,)``; the input layer has one
      neuron per feature and the output layer one per class (two for two classes, where
      ``MLPClassifier`` has one logistic neuron);
    - ``activation``: the hidden layers' sigma: relu, sigmoid (``"logistic"``), leaky-relu,
      tanh or identity; ``output``: the output layer's, ``"softmax"`` or ``"sigmoid"``;
    - ``cost``: ``"cross-entropy"`` (the log-loss) or ``"quadratic"`` (the lessons');
    - ``init``: xavier (Glorot's variance, as scikit-learn's), normal, lecun or he;
    - ``optimizer`` / ``solver``: adam, sgd, momentum, nesterov / ``"adam"``, ``"sgd"``
      (SGD with ``momentum``, Nesterov's unless ``nesterovs_momentum=False``);
    - ``lr`` / ``learning_rate_init``: eta, 0.001; ``epochs`` / ``max_iter``: at most 200;
      ``batch_size``: a whole number or ``"auto"``, min(200, n);
    - ``weight_decay`` / ``alpha``: the L2 penalty, as digitnet's lambda (each step adds
      lambda W to dC/dW) or as scikit-learn's alpha = lambda * batch_size (default 1e-4);
    - ``tol``, ``n_iter_no_change`` / ``patience`` (= n_iter_no_change + 1): the convergence
      test of ``MLPClassifier`` (see :class:`_EpochWatch`), on the training cost or, with
      ``early_stopping``, on the accuracy on ``validation_fraction`` of the training data
      (stratified), whose best weights are kept; ``tol=None`` trains every epoch;
    - ``momentum``, ``dropout``, ``schedule`` (constant, step, cosine), ``average`` (weight
      averaging's beta, 0 for none), ``engine`` (fast or reference), ``label_smoothing``
      (epsilon) and ``mixup`` (alpha), 0 for none: as in :class:`digitnet.TrainConfig`;
    - ``random_state``: a whole number is digitnet's seed itself (initial weights, data order,
      dropout), None or a ``RandomState`` draws one;
    - ``verbose``: print one line per epoch; ``warm_start``: ``fit`` goes on training the fitted
      network (the same classes) for at most ``epochs`` more epochs.

    Attributes after ``fit``: ``classes_`` (n_classes,), ``n_features_in_``,
    ``feature_names_in_`` (for a DataFrame), ``network_`` (the trained :class:`Network`),
    ``coefs_`` and ``intercepts_`` (views of its weights, (n_in, n_out), and biases),
    ``n_layers_``, ``out_activation_``, ``loss_curve_`` (after each epoch, the cost on the
    training data plus the L2 penalty), ``n_iter_`` (epochs trained, over every fit of a warm
    start), ``t_`` (training examples seen), ``best_loss_`` (None with early stopping),
    ``validation_scores_`` and ``best_validation_score_`` (None without early stopping).

    >>> clf = DigitnetClassifier(max_iter=50, random_state=0).fit(X, y)  # doctest: +SKIP
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
    def _score_network(
        net: Network, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
    ) -> float:
        return float(accuracy_score(y, net.predict(X), sample_weight=w))

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> DigitnetClassifier:
        """One epoch on X (n, n_features), y (n,), going on from the last call. The first call
        needs ``classes``, every class the network will see (``np.unique`` of all the y's).
        The learning rate is ``lr`` throughout (no schedule); no convergence test, and
        ``early_stopping=True`` is refused."""
        if not hasattr(self, "network_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"classes {classes!r} differ from classes_ {self.classes_!r}")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

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
    trained on the lessons' quadratic cost C = (1/n) sum_x sum_j (a_j - y_j)^2 (which is
    2 n_outputs times ``MLPRegressor``'s squared loss, so ``tol`` means a smaller change).

    The parameters and attributes are :class:`DigitnetClassifier`'s but for ``label_smoothing``
    and ``mixup`` (they make targets from class labels), with ``MLPRegressor``'s defaults; here
    ``output`` is ``"identity"`` (any activation works: ``"sigmoid"`` for targets in (0, 1)) and
    ``cost`` ``"quadratic"``. y is (n,) or (n, n_outputs); ``predict`` answers in the same
    shape. ``validation_scores_`` are R^2.
    """

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (100,),
        activation: str = "relu",
        output: str = "identity",
        cost: str = "quadratic",
        init: str = "xavier",
        optimizer: str | None = None,
        solver: str | None = None,
        lr: float | None = None,
        learning_rate_init: float | None = None,
        batch_size: int | str = "auto",
        epochs: int | None = None,
        max_iter: int | None = None,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        weight_decay: float | None = None,
        alpha: float | None = None,
        dropout: float = 0.0,
        schedule: str = "constant",
        average: float = 0.0,
        tol: float | None = 1e-4,
        n_iter_no_change: int | None = None,
        patience: int | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
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
            solver=solver,
            lr=lr,
            learning_rate_init=learning_rate_init,
            batch_size=batch_size,
            epochs=epochs,
            max_iter=max_iter,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            weight_decay=weight_decay,
            alpha=alpha,
            dropout=dropout,
            schedule=schedule,
            average=average,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            patience=patience,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
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
    def _score_network(
        net: Network, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
    ) -> float:
        return float(r2_score(y, net.feedforward(X), sample_weight=w))

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> DigitnetRegressor:
        """One epoch on X (n, n_features), y, going on from the last call, at ``lr``
        throughout (no schedule); no convergence test, and ``early_stopping=True`` is
        refused."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """The output layer's activations, float64: (n,) for a 1-D y, else (n, n_outputs)."""
        check_is_fitted(self)
        a = self.network_.feedforward(self._validate_X(X)).astype(np.float64)
        return a.ravel() if self._y_ndim == 1 else a

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
