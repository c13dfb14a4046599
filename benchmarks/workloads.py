"""The four speed workloads of issue 7, and one training run of each in digitnet, PyTorch, JAX
and scikit-learn. Each function trains ``epochs`` epochs on the 50,000 MNIST training images and
returns the seconds of every epoch (the training loop only: no evaluation inside the timing).

Same network, same initial weights (PyTorch and JAX copy digitnet's), same data order (epoch e of
all three visits ``np.random.default_rng([seed, 1])``'s e-th permutation, which is what
``digitnet.train`` draws when nothing else takes from its generator), float32, 2 threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    sizes: tuple[int, ...]
    activation: str
    output: str
    cost: str
    init: str
    optimizer: str
    lr: float
    batch_size: int
    dropout: float = 0.0
    momentum: float = 0.9

    def gemm_flops_per_epoch(self, n: int) -> float:
        """Floating-point operations of the matrix products of one epoch on ``n`` examples.

        Per layer and batch of m: the forward product (2 m n_in n_out), dC/dW (the same) and,
        except for the first layer, the error carried back (the same again).
        """
        total = 0.0
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            total += (2 if l == 0 else 3) * 2.0 * n * n_in * n_out
        return total


# The two recipes the workloads share: the lessons' (W1, W2) and the modern one (W3, W4).
LESSONS = dict(
    activation="sigmoid", output="sigmoid", cost="quadratic", init="lecun", optimizer="sgd",
    lr=3.0, batch_size=10,
)  # fmt: skip
MODERN = dict(
    activation="relu", output="softmax", cost="cross-entropy", init="he", optimizer="momentum",
    lr=0.05, batch_size=128,
)  # fmt: skip

WORKLOADS = {
    w.name: w
    for w in (
        Workload(
            "W1",
            "lessons' network 784-16-16-10, sigmoid, quadratic cost, SGD, batch 10",
            (784, 16, 16, 10),
            **LESSONS,
        ),
        Workload(
            "W2",
            "Nielsen's 784-30-10, sigmoid, quadratic cost, SGD, batch 10",
            (784, 30, 10),
            **LESSONS,
        ),  # fmt: skip
        Workload(
            "W3",
            "784-800-10, ReLU, softmax + cross-entropy, SGD with momentum 0.9, batch 128",
            (784, 800, 10),
            **MODERN,
        ),
        Workload(
            "W4",
            "784-1024-1024-10, ReLU, dropout 0.5, softmax + cross-entropy, momentum 0.9, batch 128",
            (784, 1024, 1024, 10),
            **MODERN,
            dropout=0.5,
        ),
    )
}


def permutations(seed: int, n: int, epochs: int) -> list[np.ndarray]:
    """The data order of ``digitnet.train`` for ``epochs`` epochs (no dropout, no augmentation)."""
    rng = np.random.default_rng([seed, 1])
    return [rng.permutation(n) for _ in range(epochs)]


def make_network(w: Workload, seed: int, dtype: str = "float32"):
    from digitnet.network import Network

    return Network(
        list(w.sizes),
        activation=w.activation,
        output=w.output,
        cost=w.cost,
        init=w.init,
        seed=seed,
        dtype=dtype,
    )


def run_digitnet(w: Workload, data: Any, epochs: int, seed: int) -> dict[str, Any]:
    from digitnet.train import TrainConfig, train

    net = make_network(w, seed)
    config = TrainConfig(
        epochs=epochs,
        batch_size=w.batch_size,
        lr=w.lr,
        optimizer=w.optimizer,
        momentum=w.momentum,
        dropout=w.dropout,
        seed=seed,
        monitor=1000,
    )
    history = train(net, data.X_train, data.y_train, config)
    return {
        "seconds": history.column("seconds"),
        "test_accuracy": net.evaluate(data.X_test, data.y_test)[1],
    }


def run_torch(w: Workload, data: Any, epochs: int, seed: int) -> dict[str, Any]:
    """PyTorch's fastest ordinary idiom: preloaded tensors, a permutation, slices; no DataLoader."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = make_network(w, seed)
    layers: list[nn.Module] = []
    hidden = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[w.activation]
    for l, (W, b) in enumerate(zip(net.W, net.b, strict=True)):
        linear = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if l < net.n_layers - 1:
            layers.append(hidden())
            if w.dropout:
                layers.append(nn.Dropout(w.dropout))
    if w.output == "sigmoid":
        layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    model.train()
    momentum = w.momentum if w.optimizer == "momentum" else 0.0
    opt = torch.optim.SGD(model.parameters(), lr=w.lr, momentum=momentum)
    X = torch.from_numpy(np.array(data.X_train, dtype=np.float32))  # a writable copy
    labels = torch.from_numpy(data.y_train.astype(np.int64))
    if w.cost == "quadratic":
        target = torch.nn.functional.one_hot(labels, 10).to(torch.float32)

        def loss_fn(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return ((out - t) ** 2).sum(dim=1).mean()  # sum_j (a_j - y_j)^2, batch mean
    else:
        target = labels
        loss_fn = nn.CrossEntropyLoss()
    n, bs = len(X), w.batch_size
    seconds = []
    for perm_np in permutations(seed, n, epochs):
        start = time.perf_counter()
        perm = torch.from_numpy(perm_np)
        Xp, tp = X[perm], target[perm]
        for i in range(0, n, bs):
            out = model(Xp[i : i + bs])
            loss = loss_fn(out, tp[i : i + bs])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(np.array(data.X_test))).argmax(dim=1).numpy()
    return {"seconds": seconds, "test_accuracy": float((pred == data.y_test).mean())}


def jax_functions(w: Workload, eta: float, dtype: Any = np.float32) -> tuple[Any, Any]:
    """JAX's step for workload ``w``: ``step(params, v, X, Y, key) -> (params, v)``, a pure
    function of the parameters ``[(W, b), ...]`` and the momentum velocity ``v`` (same
    structure; unused by SGD), and ``predict(params, X)``.

    The rules are digitnet's: z = a W^T + b; the quadratic cost (1/m) sum_x sum_j (a_j - y_j)^2
    on sigmoid outputs, or the mean of -ln softmax(z)_y; inverted dropout on the hidden layers'
    activations; SGD p <- p - eta g, momentum v <- mu v - eta g, p <- p + v.
    """
    import jax
    import jax.numpy as jnp

    hidden = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu}[w.activation]
    keep = 1.0 - w.dropout

    def output_z(params: list, X: Any, key: Any) -> Any:
        a = X
        for l, (W, b) in enumerate(params):
            z = a @ W.T + b
            if l == len(params) - 1:
                return z
            a = hidden(z)
            if w.dropout:
                mask = jax.random.bernoulli(jax.random.fold_in(key, l), keep, a.shape)
                a = jnp.where(mask, a * jnp.asarray(1 / keep, a.dtype), 0)
        raise AssertionError("a network has at least one layer")

    def cost(params: list, X: Any, Y: Any, key: Any) -> Any:
        z = output_z(params, X, key)
        if w.cost == "quadratic":  # Y one-hot (m, 10)
            a = jax.nn.sigmoid(z)
            return jnp.sum((a - Y) ** 2) / X.shape[0]
        log_a = jax.nn.log_softmax(z)  # Y the labels (m,)
        return -jnp.mean(jnp.take_along_axis(log_a, Y[:, None], axis=1))

    grad = jax.grad(cost)
    eta_ = jnp.asarray(eta, dtype)
    mu = jnp.asarray(w.momentum, dtype)

    def step(params: list, v: list, X: Any, Y: Any, key: Any) -> tuple[list, list]:
        g = grad(params, X, Y, key)
        if w.optimizer == "sgd":
            return jax.tree.map(lambda p, g: p - eta_ * g, params, g), v
        v = jax.tree.map(lambda v, g: mu * v - eta_ * g, v, g)
        return jax.tree.map(lambda p, v: p + v, params, v), v

    def predict(params: list, X: Any) -> Any:  # no dropout at test time
        a = X
        for l, (W, b) in enumerate(params):
            z = a @ W.T + b
            a = z if l == len(params) - 1 else hidden(z)
        return jnp.argmax(a, axis=1)

    return step, predict


def train_jax(
    w: Workload,
    data: Any,
    epochs: int,
    seed: int,
    per_step: bool = False,
    dtype: str = "float32",
) -> tuple[dict[str, Any], list[tuple[np.ndarray, np.ndarray]]]:
    """JAX's fastest idiom: one jit-compiled epoch, ``lax.scan`` over the mini-batches of the
    permuted data (n_batches, batch, 784) on the device, the last short batch (if any) a step of
    its own inside the same compiled call. ``per_step``: the other common idiom, a jit-compiled
    step called from a Python loop once per mini-batch.

    Both are compiled ahead of time (``jit(...).lower(...).compile()``) before the first epoch;
    the compile seconds are reported apart from the epochs'. Returns the result and the final
    parameters [(W, b), ...]. ``dtype`` float64 (with ``jax_enable_x64`` set) is for the
    correctness check only."""
    import jax
    import jax.numpy as jnp

    net = make_network(w, seed, dtype)
    n, bs = len(data.X_train), w.batch_size
    n_full, rest = divmod(n, bs)
    step, predict = jax_functions(w, w.lr, net.dtype)
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(net.W, net.b, strict=True)]
    if params[0][0].dtype != net.dtype:
        raise RuntimeError(f"JAX made {params[0][0].dtype} of {net.dtype}: set jax_enable_x64")
    v = jax.tree.map(jnp.zeros_like, params)
    X = jnp.asarray(np.asarray(data.X_train, dtype=net.dtype))
    labels = np.asarray(data.y_train, dtype=np.int32)
    T = jnp.asarray(np.eye(10, dtype=net.dtype)[labels] if w.cost == "quadratic" else labels)
    key = jax.random.key(seed)

    def epoch(params: list, v: list, perm: Any, key: Any) -> tuple[list, list]:
        Xp, Tp = X[perm], T[perm]
        Xb = Xp[: n_full * bs].reshape(n_full, bs, -1)
        Tb = Tp[: n_full * bs].reshape(n_full, bs, *T.shape[1:])

        def body(carry: tuple, batch: tuple) -> tuple[tuple, None]:
            params, v = carry
            Xi, Ti, t = batch
            return step(params, v, Xi, Ti, jax.random.fold_in(key, t)), None

        (params, v), _ = jax.lax.scan(body, (params, v), (Xb, Tb, jnp.arange(n_full)))
        if rest:
            params, v = step(params, v, Xp[n_full * bs :], Tp[n_full * bs :],
                             jax.random.fold_in(key, n_full))  # fmt: skip
        return params, v

    def gather(perm: Any) -> tuple[Any, Any]:
        return X[perm], T[perm]

    def one_step(params: list, v: list, Xp: Any, Tp: Any, i: Any, key: Any) -> tuple[list, list]:
        Xi = jax.lax.dynamic_slice_in_dim(Xp, i * bs, bs)
        Ti = jax.lax.dynamic_slice_in_dim(Tp, i * bs, bs)
        return step(params, v, Xi, Ti, jax.random.fold_in(key, i))

    def last_step(params: list, v: list, Xp: Any, Tp: Any, key: Any) -> tuple[list, list]:
        return step(params, v, Xp[n_full * bs :], Tp[n_full * bs :],
                    jax.random.fold_in(key, n_full))  # fmt: skip

    perms = permutations(seed, n, epochs)
    perm0 = jnp.asarray(perms[0].astype(np.int32))
    start = time.perf_counter()
    if per_step:
        gather_c = jax.jit(gather).lower(perm0).compile()
        Xp, Tp = gather_c(perm0)
        step_c = jax.jit(one_step, donate_argnums=(0, 1)).lower(params, v, Xp, Tp, 0, key)
        step_c = step_c.compile()
        last_c = (
            jax.jit(last_step, donate_argnums=(0, 1)).lower(params, v, Xp, Tp, key).compile()
            if rest
            else None
        )
    else:
        epoch_c = jax.jit(epoch, donate_argnums=(0, 1)).lower(params, v, perm0, key).compile()
    compile_seconds = time.perf_counter() - start

    seconds = []
    for e, perm_np in enumerate(perms):
        start = time.perf_counter()
        perm = jnp.asarray(perm_np.astype(np.int32))
        k = jax.random.fold_in(key, e)
        if per_step:
            Xp, Tp = gather_c(perm)
            for i in range(n_full):
                params, v = step_c(params, v, Xp, Tp, i, k)
            if last_c is not None:
                params, v = last_c(params, v, Xp, Tp, k)
        else:
            params, v = epoch_c(params, v, perm, k)
        jax.block_until_ready(params)
        seconds.append(time.perf_counter() - start)
    pred = np.asarray(jax.jit(predict)(params, jnp.asarray(np.asarray(data.X_test))))
    result = {
        "seconds": seconds,
        "compile_seconds": compile_seconds,
        "test_accuracy": float((pred == data.y_test).mean()),
    }
    return result, [(np.asarray(W), np.asarray(b)) for W, b in params]


def run_jax_scan(w: Workload, data: Any, epochs: int, seed: int) -> dict[str, Any]:
    return train_jax(w, data, epochs, seed, per_step=False)[0]


def run_jax_step(w: Workload, data: Any, epochs: int, seed: int) -> dict[str, Any]:
    return train_jax(w, data, epochs, seed, per_step=True)[0]


def agreement(
    w: Workload,
    data: Any,
    seed: int,
    dtype: str = "float32",
    eta: float | None = None,
    checkpoints: tuple = (1, 10, 100, 1000),
) -> dict[str, Any]:
    """How far JAX's parameters are from digitnet's after the same steps from the same start.

    digitnet's own training step (``digitnet.train.make_step``, the engine ``train`` uses) and
    JAX's jitted step run side by side over one epoch in the workload's data order; the largest
    absolute difference of any weight or bias is taken after each of ``checkpoints`` steps and
    at the end of the epoch, and the end is compared with JAX's ``lax.scan`` epoch too.
    Dropout is switched off (digitnet and JAX draw their masks from different generators);
    ``eta`` replaces the workload's learning rate.
    """
    import dataclasses

    import jax
    import jax.numpy as jnp

    from digitnet.train import TrainConfig, make_step

    dropout = w.dropout
    w = dataclasses.replace(w, dropout=0.0, lr=w.lr if eta is None else eta)
    net = make_network(w, seed, dtype)
    n, bs = len(data.X_train), w.batch_size
    config = TrainConfig(
        epochs=1, batch_size=bs, lr=w.lr, optimizer=w.optimizer, momentum=w.momentum, seed=seed
    )
    d_step = make_step(net, config, bs)
    step, _ = jax_functions(w, w.lr, net.dtype)
    j_step = jax.jit(step)
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(net.W, net.b, strict=True)]
    if params[0][0].dtype != net.dtype:
        raise RuntimeError(f"JAX made {params[0][0].dtype} of {net.dtype}: set jax_enable_x64")
    v = jax.tree.map(jnp.zeros_like, params)
    X = np.asarray(data.X_train, dtype=net.dtype)
    y = np.asarray(data.y_train)
    T = np.eye(10, dtype=net.dtype)[y] if w.cost == "quadratic" else y.astype(np.int32)
    rng, key = np.random.default_rng([seed, 1]), jax.random.key(seed)

    def max_diff(params: list) -> float:
        return max(
            float(np.abs(np.asarray(P) - Q).max())
            for pair, W, b in zip(params, net.W, net.b, strict=True)
            for P, Q in zip(pair, (W, b), strict=True)
        )

    perm = permutations(seed, n, 1)[0]
    n_batches = -(-n // bs)
    after: dict[str, float] = {}
    for i in range(n_batches):
        idx = perm[i * bs : (i + 1) * bs]
        d_step(X[idx], y[idx], w.lr, rng)
        params, v = j_step(params, v, jnp.asarray(X[idx]), jnp.asarray(T[idx]), key)
        if i + 1 in checkpoints or i + 1 == n_batches:
            after[str(i + 1)] = max_diff(params)
    _, scan_params = train_jax(w, data, 1, seed, dtype=dtype)
    scan_vs_step = max(
        float(np.abs(P - np.asarray(Q)).max())
        for pair, jpair in zip(scan_params, params, strict=True)
        for P, Q in zip(pair, jpair, strict=True)
    )
    return {
        "dtype": dtype,
        "eta": w.lr,
        "steps_per_epoch": n_batches,
        "max_abs_diff_after_steps": after,
        "scan_epoch_vs_digitnet": max_diff(scan_params),
        "scan_epoch_vs_jax_steps": scan_vs_step,
        "largest_parameter": max(float(np.abs(p).max()) for p in net.parameters()),
        "dropout_off": bool(dropout),
    }


def sklearn_expresses(w: Workload) -> bool:
    """MLPClassifier has no quadratic cost and no dropout: it can run W3 only."""
    return w.cost == "cross-entropy" and not w.dropout


def run_sklearn(w: Workload, data: Any, epochs: int, seed: int) -> dict[str, Any]:
    """scikit-learn's MLPClassifier, one ``fit`` of one epoch after another (warm start).

    Its own shuffling and Glorot initialisation: the same work, not the same order."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=w.sizes[1:-1],
        activation={"sigmoid": "logistic", "relu": "relu"}[w.activation],
        solver="sgd",
        alpha=0.0,
        batch_size=w.batch_size,
        learning_rate_init=w.lr,
        momentum=w.momentum if w.optimizer == "momentum" else 0.0,
        nesterovs_momentum=False,
        max_iter=1,
        warm_start=True,
        shuffle=True,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=10**9,
    )
    X = np.ascontiguousarray(data.X_train, dtype=np.float32)
    seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            start = time.perf_counter()
            clf.fit(X, data.y_train)
            seconds.append(time.perf_counter() - start)
    return {"seconds": seconds, "test_accuracy": float(clf.score(data.X_test, data.y_test))}


RUNNERS = {
    "digitnet": run_digitnet,
    "pytorch": run_torch,
    "jax-scan": run_jax_scan,
    "jax-step": run_jax_step,
    "sklearn": run_sklearn,
}
