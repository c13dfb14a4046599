"""The networks the web app holds: the one served, the candidate a live run left, the data.

:class:`Models` is the server's state. The served network (:class:`Served`) answers every
request; a live training run (:class:`digitnet.web.training.Trainer`) never replaces it by
itself: when it ends its network becomes the candidate (:class:`CandidateModel`), shown beside
the served one, and is saved as ``candidate-*.npz`` in ``save_dir``; adopting it renames the file
``live-*.npz``. At most :data:`MAX_LIVE_MODELS` such files are kept (the oldest others are
deleted, never the one being served). Datasets a run asks for are loaded once and kept.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from digitnet.model_io import model_header, recipe_of, save_model, strict_json
from digitnet.network import Network
from digitnet.version import __version__
from digitnet.views.diagram import MAX_CONNECTIONS, MAX_NEURONS
from digitnet.web.api_errors import ApiError
from digitnet.web.schemas import IMAGE_SIDE, MAX_ETA, N_INPUTS, TrainStatus
from digitnet.web.security import public
from digitnet.web.training import Job, Trainer, record_dict

log = logging.getLogger(__name__)

#: At most this many networks trained live are kept on disk (candidates and adopted ones); the
#: oldest others are deleted when a run ends, never the file of the network being served.
MAX_LIVE_MODELS = 3
DIGITS = tuple(str(d) for d in range(10))


@dataclass
class Served:
    """The network being served, and what goes with it. Replaced whole when a candidate is
    adopted. ``file`` is its live model file, if it has one (kept when old files are pruned)."""

    net: Network
    header: dict[str, Any]
    data: Any = None  # a digitnet.data.Dataset for the explore panel, or None
    version: int = 1
    file: Path | None = None
    _test_answers: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def class_names(self) -> tuple[str, ...]:
        if self.data is not None and len(self.data.class_names) == self.net.sizes[-1]:
            return tuple(self.data.class_names)
        if self.net.sizes[-1] == 10:
            return DIGITS
        return tuple(str(j) for j in range(self.net.sizes[-1]))

    def test_answers(self) -> tuple[np.ndarray, np.ndarray]:
        """(prediction, confidence) (n,) each for every test image, computed once per network:
        the most active output neuron, and its probability from :meth:`Network.predict_proba`."""
        if self._test_answers is None:
            X = self.data.X_test
            predicted = self.net.predict(X)
            probabilities = self.net.predict_proba(X)  # (n, n_L)
            self._test_answers = (predicted, probabilities[np.arange(len(X)), predicted])
        return self._test_answers


@dataclass
class CandidateModel:
    """A finished live run's network, waiting beside the served one to be adopted."""

    job: Job
    served: Served
    test_accuracy: float | None

    def describe(self) -> dict[str, Any]:
        net = self.served.net
        dataset = self.served.data
        return {
            "job": self.job.id,
            "sizes": net.sizes,
            "activation": net.activation,
            "output": net.output,
            "cost": net.cost.name,
            "n_params": net.n_params,
            "dataset": getattr(dataset, "name", None),
            "test_accuracy": self.test_accuracy,
            "epochs_trained": len(self.job.history.epochs),
            "batches_trained": self.job.batches_done,
            "history": [record_dict(r) for r in self.job.history.epochs],
            "file": None if self.served.file is None else self.served.file.name,
        }


def describe(served: Served, candidate: CandidateModel | None = None) -> dict[str, Any]:
    net, header = served.net, served.header
    history = header.get("history") or {}
    epochs = history.get("epochs") or []
    last = epochs[-1] if epochs else {}
    dataset = header.get("dataset") or {}
    shown = [n if l in (0, net.n_layers) else min(n, MAX_NEURONS) for l, n in enumerate(net.sizes)]
    return {
        "sizes": net.sizes,
        "activation": net.activation,
        "output": net.output,
        "cost": net.cost.name,
        "n_params": net.n_params,
        "class_names": list(served.class_names),
        "dataset": dataset.get("name") if isinstance(dataset, dict) else None,
        "test_accuracy": last.get("test_accuracy") if isinstance(last, dict) else None,
        "epochs_trained": len(epochs),
        "history": [
            {k: r.get(k) for k in ("epoch", "train_cost", "validation_accuracy", "test_accuracy")}
            for r in epochs
            if isinstance(r, dict)
        ],
        "explore": served.data is not None,
        "n_inputs": N_INPUTS,
        "image_shape": [IMAGE_SIDE, IMAGE_SIDE],
        "diagram_neurons": MAX_NEURONS,
        "diagram_connections": MAX_CONNECTIONS,
        "diagram_shown": shown,
        "max_eta": MAX_ETA,
        "max_live_models": MAX_LIVE_MODELS,
        "version": served.version,
        "digitnet_version": __version__,
        "candidate": None if candidate is None else candidate.describe(),
    }


def prune_live_models(folder: Path, keep: int, protect: Path | None = None) -> list[Path]:
    """Delete all but the ``keep`` newest live model files (``candidate-*.npz``, ``live-*.npz``)
    in ``folder``, never ``protect``; return the files deleted."""
    files = [
        p
        for p in folder.glob("*.npz")
        if p.name.startswith(("candidate-", "live-")) and p.is_file()
    ]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    kept = [p for p in files if protect is not None and p == protect][:1]
    for p in files:
        if len(kept) >= keep:
            break
        if p not in kept:
            kept.append(p)
    deleted = []
    for p in files:
        if p not in kept:
            try:
                p.unlink()
                deleted.append(p)
            except OSError as err:
                log.warning("could not delete the old live model %s: %s", p.name, err)
    return deleted


class Models:
    """The served network and the candidate (each in a one-item list, replaced whole under
    ``lock``), the datasets loaded so far, and the trainer of live runs.

    ``load_data(name)`` loads a dataset a run asks for (default: :func:`digitnet.data.load`
    from ``data_dir``); live networks are saved in ``save_dir``, at most ``max_live_models``.
    """

    def __init__(
        self,
        net: Network,
        header: dict[str, Any] | None,
        data: Any,
        data_dir: str | Path | None,
        save_dir: str | Path | None,
        load_data: Callable[[str], Any] | None,
        max_live_models: int,
    ) -> None:
        self.served: list[Served] = [Served(net, header or model_header(net), data)]
        self.candidate: list[CandidateModel | None] = [None]
        self.lock = threading.Lock()
        self.loaded: dict[str, Any] = {}
        if data is not None and len(getattr(data, "y_train", ())):
            self.loaded[data.name] = data
        self._data_lock = threading.Lock()
        self._data_dir, self._load_data = data_dir, load_data
        self.folder = None if save_dir is None else Path(save_dir)
        self.max_live_models = max_live_models
        self.trainer = Trainer(self.get_data, self.finished)

    def now(self) -> tuple[Served, CandidateModel | None]:
        """The served network and the candidate, read together."""
        with self.lock:
            return self.served[0], self.candidate[0]

    def get_data(self, name: str) -> Any:
        """The dataset ``name``, loaded on first use."""
        with self._data_lock:
            if name not in self.loaded:
                if self._load_data is not None:
                    self.loaded[name] = self._load_data(name)
                else:
                    from digitnet.data import load

                    self.loaded[name] = load(name, data_dir=self._data_dir, validation=10_000)
            return self.loaded[name]

    def finished(self, job: Job, dataset: Any) -> None:
        """A run has ended: its network becomes the candidate (saved, old files pruned)."""
        extra = {
            "recipe": recipe_of(job.net, job.config, dataset),
            "dataset": dataset,
            "training": job.config.to_dict(),
            "history": strict_json(job.history.to_dict()),
            "trained_live": job.settings,
        }
        test_accuracy = None
        if len(getattr(dataset, "y_test", ())):
            test_accuracy = round(job.net.evaluate(dataset.X_test, dataset.y_test)[1], 4)
        served = Served(job.net, model_header(job.net, **extra), dataset)
        if self.folder is not None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = self.folder / f"candidate-{stamp}-{os.getpid()}-{job.id}.npz"
            try:
                save_model(path, job.net, **extra)
                served.file = path
                job.message += f"; saved as {path.name}"
                with self.lock:
                    protect = self.served[0].file
                prune_live_models(self.folder, self.max_live_models, protect)
            except OSError as err:
                job.message += f"; could not save it: {public(str(err))}"
        with self.lock:
            self.candidate[0] = CandidateModel(job, served, test_accuracy)

    def adopt(self, job_id: int | None) -> Served:
        """Serve the candidate (of run ``job_id``, if given): 409 when there is none."""
        with self.lock:
            candidate = self.candidate[0]
            if candidate is None:
                raise ApiError(409, "there is no finished live run to adopt: train one first")
            if job_id is not None and job_id != candidate.job.id:
                raise ApiError(
                    409,
                    f"run #{job_id} is not the candidate: the candidate is run #{candidate.job.id}",
                )
            new = candidate.served
            new.version = self.served[0].version + 1
            if new.file is not None:
                adopted = new.file.with_name("live-" + new.file.name.removeprefix("candidate-"))
                try:
                    os.replace(new.file, adopted)
                    new.file = adopted
                except OSError as err:
                    log.warning("could not rename %s: %s", new.file.name, err)
            self.served[0] = new
            self.candidate[0] = None
            return new

    def status(self) -> TrainStatus:
        """The live run's state, the candidate and the served network's version."""
        job = self.trainer.job
        with self.lock:
            candidate = self.candidate[0]
            version = self.served[0].version
        answer: dict[str, Any] = (
            {"job": None, "state": "idle", "running": False}
            if job is None
            else {**job.summary(), "running": not job.done}
        )
        if answer.get("message"):
            answer["message"] = public(answer["message"])
        answer["candidate"] = None if candidate is None else candidate.describe()
        answer["served_version"] = version
        return TrainStatus.model_validate(strict_json(answer))
