"""An experiment's run stops on its worker when the cluster no longer wants it (its experiment was
stopped, or its driver ended), as a sweep's run does; outside a worker, its training is
:func:`digitnet.train.train`'s, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from sweep_helpers import DaskCluster, sweep_env, wait_for

from digitnet.data import load
from digitnet.experiments.report import train_task
from digitnet.experiments.seeds import train_seed
from digitnet.network import Network
from digitnet.presets import LESSONS
from digitnet.train import TrainConfig, train


def test_outside_a_worker_the_task_trains_as_train_does(mnist) -> None:
    X, y = mnist.X_train[:600], mnist.y_train[:600]
    config = TrainConfig(epochs=2, batch_size=10, lr=1.5, seed=3)
    nets = [Network.from_config(LESSONS, seed=3) for _ in range(2)]
    mine = train_task(nets[0], X, y, config, X_test=mnist.X_test[:200], y_test=mnist.y_test[:200])
    theirs = train(nets[1], X, y, config, X_test=mnist.X_test[:200], y_test=mnist.y_test[:200])
    assert mine.stopped == theirs.stopped == "finished"
    assert mine.column("test_accuracy") == theirs.column("test_accuracy")
    assert all(np.array_equal(p, q) for p, q in zip(*(n.parameters() for n in nets), strict=True))


def test_a_cancelled_run_frees_its_worker(tmp_path, tmp_path_factory, monkeypatch) -> None:
    """One worker of one thread: a run of 100,000 epochs is cancelled, and the next task gets the
    thread (it could not while the run went on)."""
    from distributed import Client

    env = sweep_env(tmp_path_factory)
    monkeypatch.setenv("DIGITNET_DATA", env["DIGITNET_DATA"])  # the embedded sample
    data = load("mnist")
    cluster = DaskCluster(tmp_path, env)
    try:
        cluster.up(workers=1)
        with Client(cluster.address, timeout=30, set_as_default=False) as client:
            recipe = {"seed": 0, "images": 2000, "epochs": 100_000}
            sent = client.scatter(data)
            run = client.submit(train_seed, recipe, sent, False, key="seeds-cancelled", pure=False)

            def executing() -> list[str]:
                tasks = client.run(
                    lambda dask_worker: [
                        str(ts.key)
                        for ts in dask_worker.state.tasks.values()
                        if ts.state == "executing"
                    ]
                )
                return [key for keys in tasks.values() for key in keys]

            wait_for(lambda: executing() == ["seeds-cancelled"], 60, "the run to start")
            run.cancel()
            wait_for(lambda: not executing(), 60, "the cancelled run to end")
            assert client.submit(sum, [1, 2, 3], key="next").result(timeout=60) == 6
    finally:
        cluster.stop()


def test_an_interrupted_history_is_never_a_result(mnist, monkeypatch) -> None:
    """Told to stop, the task raises instead of handing back a half-trained result."""
    from digitnet.sweep import cluster

    monkeypatch.setattr(cluster.StopWhenCancelled, "stop_requested", property(lambda self: True))
    net = Network.from_config(LESSONS, seed=0)
    config = TrainConfig(epochs=5, batch_size=10, lr=1.5, seed=0)
    with pytest.raises(cluster.RunCancelled, match="cancelled"):
        train_task(net, mnist.X_train[:100], mnist.y_train[:100], config)
