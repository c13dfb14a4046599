"""The FastAPI application: a JSON API around one network, and the page that uses it.

Every answer about an image comes from one forward trace, ``net.trace(X)``: the prediction, the
output activations, the diagram's activations and connections, a neuron's z and a. The output
bars' probabilities come from :meth:`Network.predict_proba`, the diagram's choice of neurons and
connections from :func:`digitnet.views.diagram.diagram_selection` (the one ``digitnet plot
network`` draws). Images arrive as 784 numbers or as a PNG, which goes through
:func:`digitnet.preprocess.to_mnist`, the one preprocessing function. Every error is a 4xx JSON
answer ``{"detail": "one line"}``.

Endpoints (all under ``/api``; the OpenAPI schema is at ``/openapi.json``):

- ``GET  /api/model``               the network being served
- ``POST /api/predict``             784 numbers or a base64 PNG -> the digit and the ten outputs
- ``POST /api/predict/upload``      the same for an uploaded PNG file (multipart)
- ``POST /api/trace``               everything ``predict`` gives, plus every layer's a and z and
                                    the strongest connections, for the network diagram
- ``POST /api/neuron``              one neuron: incoming weights, bias, and its z and a
- ``GET  /api/weights``             the first layer's weights as a grid of 28x28 images (PNG)
- ``GET  /api/test-images``         test images (random, or only mistakes) with the answers
- ``POST /api/train``               start a live training run (one at a time: else 409)
- ``POST /api/train/stop``          stop it after the current mini-batch step
- ``GET  /api/train/status``        the job's state and its epoch records
- ``GET  /api/train/events``        server-sent events: each epoch's numbers and weight images
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitnet import __version__
from digitnet.errors import DigitnetError
from digitnet.model_io import model_header, recipe_of, save_model, strict_json
from digitnet.network import Network, Trace
from digitnet.train import TrainConfig
from digitnet.views.diagram import MAX_NEURONS, diagram_selection
from digitnet.web.images import ImageRejected, decode_base64_png, png_to_input
from digitnet.web.schemas import (
    N_INPUTS,
    ErrorMessage,
    ImageInput,
    ModelInfo,
    NeuronAnswer,
    NeuronRequest,
    Prediction,
    TestImages,
    TraceAnswer,
    TrainRequest,
    TrainStatus,
    WeightImages,
)
from digitnet.web.training import Busy, Job, Trainer, weights_event

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 2_000_000  # bytes: a 1 MB PNG in base64 JSON fits, anything much larger is refused
MAX_TEST_IMAGES = 60
DIGITS = tuple(str(d) for d in range(10))

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorMessage} for code in (400, 404, 409, 413, 415, 422)
}


class ApiError(Exception):
    """An answer with a 4xx status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Served:
    """The network being served, and what goes with it. Replaced whole after live training."""

    net: Network
    header: dict[str, Any]
    data: Any = None  # a digitnet.data.Dataset for the explore panel, or None
    version: int = 1
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


# -- the body-size limit ----------------------------------------------------------------------


class _BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"the request body is larger than {MAX_BODY:,} bytes")


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, from Content-Length before reading, or
    as soon as a chunked body grows past it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            message = (
                f"the request body is larger than {self.max_bytes:,} bytes"
                if length.isdigit()
                else "the Content-Length header is not a number"
            )
            status = 413 if length.isdigit() else 400
            await JSONResponse({"detail": message}, status)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        await self.app(scope, limited, send)


# -- helpers ----------------------------------------------------------------------------------


def _floats(a: np.ndarray, digits: int = 4) -> list[float]:
    return np.round(np.asarray(a, np.float64), digits).tolist()


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    if any(e.get("type") == "json_invalid" for e in errors):
        return "malformed JSON: the request body is not valid JSON"
    for err in errors[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "invalid request: " + "; ".join(parts) + more


def _input_of(body: ImageInput) -> np.ndarray:
    """The 784 inputs of a request: its pixels, or its PNG through the shared preprocessing."""
    if body.pixels is not None:
        return np.asarray(body.pixels, np.float32)
    assert body.png is not None
    try:
        return png_to_input(decode_base64_png(body.png))
    except ImageRejected as err:
        raise ApiError(err.status, str(err)) from None


def _answer(served: Served, x: np.ndarray, trace: Trace) -> dict[str, Any]:
    """The prediction part of an answer: the outputs read off the trace of one image, and their
    probabilities from :meth:`Network.predict_proba`, the one place they are computed."""
    out = trace.output[0]
    probs = served.net.predict_proba(x)[0]
    j = int(np.argmax(out))
    return {
        "prediction": j,
        "label": served.class_names[j],
        "confidence": round(float(probs[j]), 4),
        "probabilities": _floats(probs),
        "outputs": _floats(out),
        "output_activation": served.net.output,
        "image": _floats(x, 3),
        "model_version": served.version,
    }


def _diagram(net: Network, trace: Trace) -> dict[str, Any]:
    """Every layer's a (and z), and what the network diagram draws: the neurons shown and the
    strongest connections w_jk a_k (the push neuron k gives neuron j for this image), chosen by
    :func:`digitnet.views.diagram.diagram_selection` as ``digitnet plot network`` chooses them."""
    selection = diagram_selection(net, trace)
    layers = [
        {
            "layer": l,
            "size": net.sizes[l],
            "a": _floats(trace.a[l][0]),
            "z": None if trace.z[l] is None else _floats(trace.z[l][0]),
            "shown": selection.shown[l],
            "scale": round(selection.scale[l], 4),
        }
        for l in range(net.n_layers + 1)
    ]
    connections = [
        {
            "layer": c.layer,
            "from": c.k,
            "to": c.j,
            "weight": round(c.w, 4),
            "push": round(c.push, 4),
        }
        for c in selection.connections
    ]
    return {"layers": layers, "connections": connections}


def _describe(served: Served) -> dict[str, Any]:
    net, header = served.net, served.header
    history = header.get("history") or {}
    epochs = history.get("epochs") or []
    last = epochs[-1] if epochs else {}
    dataset = header.get("dataset") or {}
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
        "diagram_neurons": MAX_NEURONS,
        "version": served.version,
        "digitnet_version": __version__,
    }


# -- the application --------------------------------------------------------------------------


def create_app(
    net: Network,
    header: dict[str, Any] | None = None,
    data: Any = None,
    *,
    data_dir: str | Path | None = None,
    save_dir: str | Path | None = None,
    load_data: Callable[[str], Any] | None = None,
) -> FastAPI:
    """The web app serving ``net`` (with its model-file ``header``).

    ``data`` (a :class:`digitnet.data.Dataset`) feeds the explore panel and, when its name
    matches, live training; other datasets are loaded from ``data_dir`` when a training run asks
    for them (``load_data(name)`` replaces that loader). Networks trained live are written to
    ``save_dir`` when it is given.
    """
    if net.sizes[0] != N_INPUTS:
        raise DigitnetError(
            f"the web app draws 28x28 digits: the network's input layer must have {N_INPUTS} "
            f"neurons, not {net.sizes[0]}"
        )
    served = Served(net, header or model_header(net), data)
    loaded: dict[str, Any] = {}
    if data is not None and len(getattr(data, "y_train", ())):
        loaded[data.name] = data
    data_lock = threading.Lock()

    def get_data(name: str) -> Any:
        with data_lock:
            if name not in loaded:
                if load_data is not None:
                    loaded[name] = load_data(name)
                else:
                    from digitnet.data import load

                    loaded[name] = load(name, data_dir=data_dir, validation=10_000)
            return loaded[name]

    def adopt(job: Job, dataset: Any) -> None:
        extra = {
            "recipe": recipe_of(job.net, job.config, dataset),
            "dataset": dataset,
            "training": job.config.to_dict(),
            "history": strict_json(job.history.to_dict()),
            "trained_live": job.settings,
        }
        new = Served(job.net, model_header(job.net, **extra), dataset, served_box[0].version + 1)
        served_box[0] = new
        if save_dir is not None:
            path = Path(save_dir) / f"live-{job.id}-v{new.version}.npz"
            try:
                save_model(path, job.net, **extra)
                job.message += f"; saved to {path}"
            except OSError as err:
                job.message += f"; could not save it: {err}"

    served_box = [served]
    trainer = Trainer(get_data, adopt)

    app = FastAPI(
        title="digitnet",
        version=__version__,
        description="Draw a digit and watch a from-scratch NumPy network think. Every answer "
        "comes from one forward trace of the network.",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: nothing is fetched
        redoc_url=None,  # from outside, so the schema is served as /openapi.json only
    )
    app.state.trainer = trainer
    app.state.served = served_box
    app.add_middleware(BodyLimit)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }  # fmt: skip
            for e in exc.errors()
        ]
        return JSONResponse({"detail": _validation_message(errors), "errors": errors[:20]}, 422)

    @app.exception_handler(DigitnetError)
    async def _digitnet_error(request: Request, exc: DigitnetError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 422)

    # -- the page --------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- the network -----------------------------------------------------------------------
    @app.get("/api/model", responses=ERRORS, summary="The network being served")
    def model() -> ModelInfo:
        return strict_json(_describe(served_box[0]))

    @app.post(
        "/api/predict",
        responses={**ERRORS, 200: {"model": Prediction}},
        summary="The digit in one image",
    )
    async def predict(body: ImageInput) -> JSONResponse:
        # 784 numbers take well under a millisecond: answered on the event loop; a PNG is
        # decoded and preprocessed in the thread pool
        s = served_box[0]
        x = _input_of(body) if body.png is None else await run_in_threadpool(_input_of, body)
        return JSONResponse(_answer(s, x, s.net.trace(x)))

    @app.post(
        "/api/predict/upload",
        responses={**ERRORS, 200: {"model": Prediction}},
        summary="The digit in an uploaded PNG",
    )
    def predict_upload(
        file: Annotated[UploadFile, File(description="a PNG, at most 1 MB and 2000x2000 px")],
    ) -> JSONResponse:
        from digitnet.web.images import MAX_PNG_BYTES

        data = file.file.read(MAX_PNG_BYTES + 1)
        try:
            x = png_to_input(data)
        except ImageRejected as err:
            raise ApiError(err.status, str(err)) from None
        s = served_box[0]
        return JSONResponse(_answer(s, x, s.net.trace(x)))

    @app.post(
        "/api/trace",
        responses={**ERRORS, 200: {"model": TraceAnswer}},
        summary="The prediction plus every layer's activations and the strongest connections",
    )
    async def trace(body: ImageInput) -> JSONResponse:
        s = served_box[0]
        x = _input_of(body) if body.png is None else await run_in_threadpool(_input_of, body)
        t = s.net.trace(x)  # the one forward pass: everything below reads it
        return JSONResponse({**_answer(s, x, t), **_diagram(s.net, t), "sizes": s.net.sizes})

    @app.post("/api/neuron", responses=ERRORS, summary="One neuron's weights, bias, z and a")
    def neuron(body: NeuronRequest) -> NeuronAnswer:
        s = served_box[0]
        net, l, j = s.net, body.layer, body.index
        if l > net.n_layers:
            raise ApiError(404, f"there is no layer {l}: this network has layers 1..{net.n_layers}")
        if j >= net.sizes[l]:
            raise ApiError(
                404,
                f"layer {l} has {net.sizes[l]} neurons (0..{net.sizes[l] - 1}); "
                f"there is no neuron {j}",
            )
        w = net.W[l - 1][j]  # (n_{l-1},): the weights into neuron j
        answer: dict[str, Any] = {
            "layer": l,
            "index": j,
            "label": s.class_names[j] if l == net.n_layers else None,
            "activation": net.sigma_of(l).name,
            "weights": _floats(w),
            "weights_shape": [28, 28] if l == 1 else [1, len(w)],
            "bias": round(float(net.b[l - 1][j]), 4),
            "z": None,
            "a": None,
            "inputs": None,
        }
        if body.pixels is not None:
            t = net.trace(np.asarray(body.pixels, np.float32))
            answer["z"] = round(float(t.z[l][0, j]), 4)
            answer["a"] = round(float(t.a[l][0, j]), 4)
            answer["inputs"] = _floats(t.a[l - 1][0])
        return answer

    @app.get("/api/weights", responses=ERRORS, summary="The first layer's weights as images")
    def weights(
        max_neurons: Annotated[int, Query(ge=1, le=256)] = 64,
    ) -> WeightImages:
        return WeightImages(**weights_event(served_box[0].net, max_neurons))

    # -- explore ---------------------------------------------------------------------------
    @app.get("/api/test-images", responses=ERRORS, summary="Test images with the network's answer")
    def test_images(
        mode: Literal["random", "mistakes"] = "random",
        count: Annotated[int, Query(ge=1, le=MAX_TEST_IMAGES)] = 12,
        seed: Annotated[int | None, Query(ge=0, le=2**32 - 1)] = None,
    ) -> TestImages:
        s = served_box[0]
        if s.data is None or len(s.data.y_test) == 0:
            raise ApiError(404, "no test images are loaded (start the server with --data-dir)")
        predicted, confidence = s.test_answers()
        y = s.data.y_test
        wrong = np.flatnonzero(predicted != y)
        pool = wrong if mode == "mistakes" else np.arange(len(y))
        rng = np.random.default_rng(seed)
        pick = rng.choice(pool, size=min(count, len(pool)), replace=False) if len(pool) else []
        names = s.class_names
        return {
            "dataset": s.data.name,
            "source": s.data.source,
            "total": len(y),
            "mistakes": len(wrong),
            "accuracy": round(1 - len(wrong) / len(y), 4),
            "mode": mode,
            "images": [
                {
                    "index": int(i),
                    "label": int(y[i]),
                    "label_name": names[int(y[i])],
                    "prediction": int(predicted[i]),
                    "prediction_name": names[int(predicted[i])],
                    "confidence": round(float(confidence[i]), 4),
                    "pixels": np.rint(s.data.X_test[i] * 255).astype(int).tolist(),
                }
                for i in pick
            ],
        }

    # -- train live ------------------------------------------------------------------------
    @app.post("/api/train", responses=ERRORS, summary="Start a live training run")
    def train_start(body: TrainRequest) -> TrainStatus:
        if trainer.running:
            raise ApiError(409, str(Busy(_busy_message(trainer.job))))
        try:
            net = Network.from_config(
                {
                    "sizes": body.sizes,
                    "activation": body.activation,
                    "output": body.output,
                    "cost": body.cost,
                    "init": body.init,
                    "dtype": "float32",
                },
                seed=body.seed,
            )
            config = TrainConfig(
                epochs=body.epochs,
                batch_size=body.batch_size,
                lr=body.lr,
                optimizer=body.optimizer,
                schedule=body.schedule,
                seed=body.seed,
            )
            config.validate()
        except DigitnetError as err:
            raise ApiError(422, str(err)) from None
        try:
            job = trainer.start(body.model_dump(), net, config)
        except Busy as err:
            raise ApiError(409, str(err)) from None
        return TrainStatus(**job.summary(), running=True)

    @app.post("/api/train/stop", responses=ERRORS, summary="Stop the live training run")
    def train_stop() -> TrainStatus:
        try:
            job = trainer.stop()
        except DigitnetError as err:
            raise ApiError(409, str(err)) from None
        return TrainStatus(**job.summary(), stopping=True)

    @app.get("/api/train/status", responses=ERRORS, summary="The live training run's state")
    def train_status() -> TrainStatus:
        job = trainer.job
        if job is None:
            return TrainStatus(job=None, state="idle", running=False)
        return TrainStatus(**job.summary(), running=not job.done)

    @app.get(
        "/api/train/events",
        responses=ERRORS,
        response_class=StreamingResponse,
        summary="Server-sent events of the live training run",
    )
    async def train_events(request: Request) -> StreamingResponse:
        job = trainer.job
        if job is None:
            raise ApiError(404, "no training run has been started")
        return StreamingResponse(
            _events(job, trainer, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


def _busy_message(job: Job | None) -> str:
    if job is None:
        return "a training job is already running"
    return (
        f"a training job (#{job.id}) is already running ({len(job.history.epochs)} of "
        f"{job.config.epochs} epochs done); stop it first or wait for it to end"
    )


def _sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(strict_json(data), separators=(',', ':'))}\n\n"


async def _events(job: Job, trainer: Trainer, request: Request) -> AsyncIterator[str]:
    """Every event of ``job`` from its start, then new ones as they come, up to its "end"."""
    sent, progress_seen = 0, -1
    yield _sse("status", job.summary())
    while True:
        events = job.events
        while sent < len(events):
            event = events[sent]
            sent += 1
            yield _sse(event["event"], event)
            if event["event"] == "end":  # always the job's last event
                return
        if job.progress_count != progress_seen and job.progress:
            progress_seen = job.progress_count
            yield _sse("progress", {"job": job.id, **job.progress})
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.1)
