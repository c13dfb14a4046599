"""The four speed workloads of issue 7, and one training run of each in digitnet, PyTorch and
scikit-learn. Each function trains ``epochs`` epochs on the 50,000 MNIST training images and
returns the seconds of every epoch (the training loop only: no evaluation inside the timing).

Same network, same initial weights (PyTorch copies digitnet's), same data order (epoch e of both
visits ``np.random.default_rng([seed, 1])``'s e-th permutation, which is what ``digitnet.train``
draws when nothing else takes from its generator), float32, 2 threads.
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


def make_network(w: Workload, seed: int):
    from digitnet.network import Network

    return Network(
        list(w.sizes), activation=w.activation, output=w.output, cost=w.cost, init=w.init, seed=seed
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


RUNNERS = {"digitnet": run_digitnet, "pytorch": run_torch, "sklearn": run_sklearn}
