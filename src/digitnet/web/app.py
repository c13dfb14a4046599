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
- ``POST /api/backprop``            an image and its label -> the cost, what each output wants,
                                    the three ways to get it, one layer back, and every layer's
                                    delta, dC/db and dC/dW on the diagram's connections
- ``POST /api/backprop/step``       one gradient step of eta on a scratch copy: the answer before
                                    and after (the served network never changes)
- ``POST /api/train``               start a live training run (one at a time: else 409), maybe
                                    paused
- ``POST /api/train/stop``          stop it before its next mini-batch step
- ``POST /api/train/pause``         hold it before its next mini-batch
- ``POST /api/train/resume``        let it train on
- ``POST /api/train/step``          while paused: exactly one mini-batch step
- ``POST /api/train/adopt``         serve the finished run's network (the candidate)
- ``POST /api/train/trace``         ``/api/trace`` with the live run's (or candidate's) network
- ``GET  /api/train/status``        the job's state, mini-batches and epochs done, the candidate
- ``GET  /api/train/events``        server-sent events: each epoch's numbers and weight images

A live run never replaces the served network by itself: when it ends it becomes the candidate,
shown beside the served one, and is saved as ``candidate-*.npz`` in ``save_dir``; adopting it
renames the file ``live-*.npz``. At most :data:`MAX_LIVE_MODELS` such files are kept (the oldest
others are deleted, never the one being served).

On a shared machine (see :class:`HostGuard`): a request whose ``Host`` is not this server gets
400 (DNS rebinding); a state-changing request must be sent as JSON, and an ``Origin``, if any,
must be the page's own, else 403 (cross-site forms and ``text/plain`` posts). No answer holds an
absolute path of the server's files.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Body, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitnet.errors import DigitnetError
from digitnet.model_io import model_header, portable_source, recipe_of, save_model, strict_json
from digitnet.network import Network, Trace
from digitnet.settings import TrainConfig
from digitnet.version import __version__
from digitnet.views.diagram import MAX_CONNECTIONS, MAX_NEURONS, diagram_selection
from digitnet.views.nudges import backprop_nudges
from digitnet.web.images import ImageRejected, decode_base64_png, png_to_input
from digitnet.web.schemas import (
    IMAGE_SIDE,
    MAX_ETA,
    N_INPUTS,
    AdoptRequest,
    BackpropAnswer,
    EmptyBody,
    ErrorMessage,
    ImageInput,
    ModelInfo,
    NeuronAnswer,
    NeuronRequest,
    Prediction,
    StepAnswer,
    StepInput,
    TeachInput,
    TestImages,
    TraceAnswer,
    TrainRequest,
    TrainStatus,
    WeightImages,
)
from digitnet.web.training import Busy, Job, Trainer, busy_message, record_dict, weights_event

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 2_000_000  # bytes: a 1 MB PNG in base64 JSON fits, anything much larger is refused
MAX_TEST_IMAGES = 60
#: At most this many networks trained live are kept on disk (candidates and adopted ones); the
#: oldest others are deleted when a run ends, never the file of the network being served.
MAX_LIVE_MODELS = 3
#: An image whose brightest pixel is below this is blank: there is nothing to teach.
BLANK_INK = 0.05
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: POSTs that change what the server holds or does: JSON only, and same-origin only.
STATE_CHANGING = frozenset(
    {
        "/api/train",
        "/api/train/stop",
        "/api/train/pause",
        "/api/train/resume",
        "/api/train/step",
        "/api/train/adopt",
        "/api/backprop/step",
    }
)
DIGITS = tuple(str(d) for d in range(10))

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorMessage} for code in (400, 403, 404, 409, 413, 415, 422)
}


class ApiError(Exception):
    """An answer with a 4xx status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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


# -- the shared-machine guard -----------------------------------------------------------------


def host_name(host: str) -> str:
    """A host as a Host header names it: lower case, an IPv6 address in brackets."""
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def _split_host(value: str, default_port: int) -> tuple[str, int] | None:
    """(name, port) of a Host header value, or None when it is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
    if not name:
        return None
    if not rest:
        return name, default_port
    if rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6:
        return name, int(rest[1:])
    return None


class HostGuard:
    """What keeps a server on 127.0.0.1 for the person at the machine.

    - The ``Host`` header must name this server: one of ``hosts`` with the port it listens on,
      else 400. A page on another site that rebinds its own name to 127.0.0.1 sends its own name.
    - A POST to a state-changing path (:data:`STATE_CHANGING`) must be ``application/json``,
      else 403: a browser sends a cross-site form or ``text/plain`` post without asking, but a
      JSON one only after a CORS preflight, which this server never grants.
    - Any request other than GET/HEAD/OPTIONS with an ``Origin`` header must come from the page's
      own origin (the scheme and the Host), else 403.
    """

    def __init__(self, app: ASGIApp, hosts: Sequence[str] = LOOPBACK_HOSTS) -> None:
        self.app = app
        self.hosts = frozenset(host_name(h) for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scheme = scope.get("scheme", "http")
        host = headers.get("host", "")
        refusal = self._refusal(scope, headers, scheme, host)
        if refusal is not None:
            status, message = refusal
            await JSONResponse({"detail": message}, status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(
        self, scope: Scope, headers: dict[str, str], scheme: str, host: str
    ) -> tuple[int, str] | None:
        default_port = 443 if scheme in ("https", "wss") else 80
        split = _split_host(host, default_port)
        server = scope.get("server")
        port = server[1] if server else None
        if split is None or split[0] not in self.hosts or (port is not None and split[1] != port):
            shown = sorted(self.hosts)[0] if self.hosts else "127.0.0.1"
            where = f"{shown}:{port}" if port is not None else shown
            return 400, (
                f"the Host header {host[:80]!r} does not name this server: "
                f"open it as http://{where}/"
            )
        method = scope.get("method", "GET")
        if method in ("GET", "HEAD", "OPTIONS"):
            return None
        origin = headers.get("origin")
        own = f"{'https' if scheme in ('https', 'wss') else 'http'}://{host.strip().lower()}"
        if origin is not None and origin.strip().lower() != own:
            return 403, (
                f"a request from another page ({origin[:80]}) is refused: only this server's "
                f"own page ({own}) may send it"
            )
        if scope.get("path") in STATE_CHANGING:
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media != "application/json":
                return 403, (
                    f"{scope.get('path')} takes only JSON (Content-Type: application/json), "
                    f"not {media or 'a body without a content type'}"
                )
        return None


# -- helpers ----------------------------------------------------------------------------------

_ABSOLUTE_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(=]))(?:[A-Za-z]:[\\/]|~?/)[^\s'\"),;]+")


def public(text: str) -> str:
    """``text`` as one line with every absolute path cut to its last component (``.../name``):
    an answer never tells a client where the server keeps its files."""
    line = " ".join(str(text).split())
    return _ABSOLUTE_PATH.sub(lambda m: ".../" + (PureWindowsPath(m[0]).name or "?"), line)


def _floats(a: np.ndarray, digits: int = 4) -> list[float]:
    return np.round(np.asarray(a, np.float64), digits).tolist()


def _sig(a: np.ndarray | float, digits: int = 6) -> Any:
    """``a`` rounded to ``digits`` significant digits (gradients can be 1e-7 and still matter),
    as a float or nested lists of floats."""
    a = np.asarray(a, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(a)))
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0)
    scale = 10.0 ** (digits - 1 - magnitude)
    rounded = np.round(a * scale) / scale
    rounded = np.where(np.isfinite(rounded), rounded, a)
    return rounded.tolist()


_PROBLEMS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "finite_number": "must be a finite number (not NaN or infinity)",
    "missing": "is missing",
    "extra_forbidden": "is not a setting this request takes",
    "literal_error": "must be one of {expected}",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}
_VALUE_PREFIXES = ("Value error, ", "Assertion failed, ")


def _field_name(loc: Sequence[Any]) -> str:
    """Where an error is, as the page and the command line name it: ``hidden layer 2``,
    ``pixel 5``, ``lr``; empty for the request body as a whole."""
    parts = [p for p in loc if p not in ("body", "query", "path")]
    if not parts:
        return ""
    name = str(parts[0])
    if len(parts) > 1 and str(parts[1]).isdigit():
        i = int(parts[1])
        if name == "hidden":
            return f"hidden layer {i + 1}"
        if name == "pixels":
            return f"pixel {i}"
        return f"{name} item {i}"
    return name


def _problem(err: dict[str, Any]) -> str:
    kind, ctx = str(err.get("type", "")), err.get("ctx") or {}
    msg = str(err.get("msg", "is invalid"))
    if kind in _PROBLEMS:
        shown_ctx = {
            k: f"{v:g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else v
            for k, v in ctx.items()
        }
        try:
            problem = _PROBLEMS[kind].format(**shown_ctx)
        except (KeyError, IndexError):
            problem = _PROBLEMS[kind].split(" {", 1)[0]
    else:
        for prefix in _VALUE_PREFIXES:
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        problem = msg
    value = err.get("input")
    if kind not in ("missing", "extra_forbidden") and isinstance(value, int | float | str | bool):
        shown = json.dumps(value) if not isinstance(value, float) else f"{value:g}"
        if len(shown) <= 40:
            problem += f", got {shown}"
    return problem


def _validation_message(errors: Sequence[dict[str, Any]]) -> str:
    """Pydantic's errors as one plain line naming each field as the user knows it."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return "malformed JSON: the request body is not valid JSON"
    parts = []
    for err in errors[:3]:
        where = _field_name(err.get("loc", ()))
        problem = _problem(err)
        if not where:
            where = "the request body" if err.get("type") in _PROBLEMS else ""
        parts.append(f"{where} {problem}" if where else problem)
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return public("; ".join(parts) + more)


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


def _teaching_input(served: Served, body: TeachInput) -> tuple[np.ndarray, int]:
    """The image (784,) and label of a teaching request, refused when there is nothing to
    teach: a label the model does not have, or a blank image."""
    n_L = served.net.sizes[-1]
    if body.label >= n_L:
        names = served.class_names
        named = "" if names == DIGITS else f" ({names[0]}..{names[-1]})"
        raise ApiError(
            422, f"label {body.label} is not one of this model's classes: 0..{n_L - 1}{named}"
        )
    x = _input_of(body)
    if float(np.max(x)) < BLANK_INK:
        raise ApiError(422, "the image is blank: draw a digit (or pick a test image) to teach")
    return x, body.label


def backprop_answer(served: Served, x: np.ndarray, y: int) -> dict[str, Any]:
    """The lessons' backward pass for the image x (784,) with label y, from one forward trace
    and one backprop (:func:`digitnet.views.nudges.backprop_nudges`, the numbers ``digitnet plot
    nudges`` draws), with the connections and neurons of
    :func:`digitnet.views.diagram.diagram_selection` (the ones ``/api/trace`` gives)."""
    net, L = served.net, served.net.n_layers
    trace = net.trace(x)  # the one forward pass
    nudges = backprop_nudges(net, trace, np.array([y]))  # the one backprop
    selection = diagram_selection(net, trace)
    delta = [-g for g in nudges.minus_grad_b]  # delta^(l) = dC/db^(l) for one image, l = 1..L
    wanted = [np.empty(0)] * (L + 1)  # wanted[l] = -dC/da^(l)
    wanted[L] = nudges.wanted_a
    if L > 1:
        wanted[L - 1] = nudges.wanted_prev
    for l in range(L - 2, 0, -1):  # -dC/da^(l) = -delta^(l+1) W^(l+1)
        wanted[l] = -(delta[l] @ np.asarray(net.W[l], np.float64))
    layers = []
    for l in range(1, L + 1):
        dW = nudges.minus_grad_W[l - 1]  # the sign does not change |.| or the norm
        layers.append(
            {
                "layer": l,
                "size": net.sizes[l],
                "delta": _sig(delta[l - 1]),
                "dC_db": _sig(delta[l - 1]),
                "wanted_a": _sig(wanted[l]),
                "max_abs_dC_dW": _sig(float(np.max(np.abs(dW)))),
                "norm_dC_dW": _sig(float(np.linalg.norm(dW))),
                "shown": selection.shown[l],
            }
        )
    connections = [
        {
            "layer": c.layer,
            "from": c.k,
            "to": c.j,
            "weight": round(c.w, 4),
            "push": round(c.push, 4),
            "dC_dw": _sig(-nudges.minus_grad_W[c.layer - 1][c.j, c.k]),
        }
        for c in selection.connections
    ]
    names = served.class_names
    out = trace.output[0]
    j = int(np.argmax(out))
    cost = float(net.cost.fn(trace.z[L], trace.a[L], np.array([y])))
    return {
        "label": y,
        "label_name": names[y],
        "prediction": j,
        "prediction_name": names[j],
        "cost": _sig(cost),
        "cost_name": net.cost.name,
        "sizes": net.sizes,
        "outputs": _sig(out),
        "wanted_a": _sig(nudges.wanted_a),
        "via_bias": _sig(nudges.via_bias),
        "via_weights": _sig(nudges.via_weights),
        "via_activations": _sig(nudges.via_activations),
        "wanted_prev": _sig(nudges.wanted_prev),
        "layers": layers,
        "connections": connections,
        "model_version": served.version,
    }


def step_answer(served: Served, x: np.ndarray, y: int, eta: float) -> dict[str, Any]:
    """One gradient descent step, W <- W - eta dC/dW and b <- b - eta dC/db for the image x and
    label y, taken on ``served.net.copy()``: the answer before (the served network) and after
    (the copy). The served network is never changed."""
    net, L = served.net, served.net.n_layers
    ys = np.array([y])
    trace = net.trace(x)
    nudges = backprop_nudges(net, trace, ys)
    scratch = net.copy()
    for l in range(L):
        scratch.W[l] += (eta * nudges.minus_grad_W[l]).astype(net.dtype)
        scratch.b[l] += (eta * nudges.minus_grad_b[l]).astype(net.dtype)
    before = net.predict_proba(x)[0]
    after = scratch.predict_proba(x)[0]
    cost_before = float(net.cost.fn(trace.z[L], trace.a[L], ys))
    cost_after = scratch.total_cost(net.as_input(x), ys)
    names = served.class_names
    return {
        "label": y,
        "label_name": names[y],
        "eta": eta,
        "cost_before": _sig(cost_before),
        "cost_after": _sig(cost_after),
        "prediction_before": int(np.argmax(trace.output[0])),
        "prediction_after": int(np.argmax(scratch.feedforward(x)[0])),
        "probabilities_before": _floats(before, 6),
        "probabilities_after": _floats(after, 6),
        "label_probability_before": _sig(float(before[y])),
        "label_probability_after": _sig(float(after[y])),
        "model_version": served.version,
    }


def _describe(served: Served, candidate: CandidateModel | None = None) -> dict[str, Any]:
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


# -- the application --------------------------------------------------------------------------


def create_app(
    net: Network,
    header: dict[str, Any] | None = None,
    data: Any = None,
    *,
    data_dir: str | Path | None = None,
    save_dir: str | Path | None = None,
    load_data: Callable[[str], Any] | None = None,
    hosts: Sequence[str] = (),
    max_live_models: int = MAX_LIVE_MODELS,
) -> FastAPI:
    """The web app serving ``net`` (with its model-file ``header``).

    ``data`` (a :class:`digitnet.data.Dataset`) feeds the explore panel and, when its name
    matches, live training; other datasets are loaded from ``data_dir`` when a training run asks
    for them (``load_data(name)`` replaces that loader). Networks trained live are written to
    ``save_dir`` when it is given, at most ``max_live_models`` of them. ``hosts`` are host names
    the server answers to besides 127.0.0.1, localhost and [::1] (the ``--host`` it listens on).
    """
    if net.sizes[0] != N_INPUTS:
        raise DigitnetError(
            f"the web app draws 28x28 digits: the network's input layer must have {N_INPUTS} "
            f"neurons, not {net.sizes[0]}"
        )
    if max_live_models < 1:
        raise DigitnetError(f"max_live_models must be at least 1, got {max_live_models}")
    served_box = [Served(net, header or model_header(net), data)]
    candidate_box: list[CandidateModel | None] = [None]
    state_lock = threading.Lock()
    loaded: dict[str, Any] = {}
    if data is not None and len(getattr(data, "y_train", ())):
        loaded[data.name] = data
    data_lock = threading.Lock()
    folder = None if save_dir is None else Path(save_dir)

    def get_data(name: str) -> Any:
        with data_lock:
            if name not in loaded:
                if load_data is not None:
                    loaded[name] = load_data(name)
                else:
                    from digitnet.data import load

                    loaded[name] = load(name, data_dir=data_dir, validation=10_000)
            return loaded[name]

    def finished(job: Job, dataset: Any) -> None:
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
        if folder is not None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = folder / f"candidate-{stamp}-{os.getpid()}-{job.id}.npz"
            try:
                save_model(path, job.net, **extra)
                served.file = path
                job.message += f"; saved as {path.name}"
                with state_lock:
                    protect = served_box[0].file
                prune_live_models(folder, max_live_models, protect)
            except OSError as err:
                job.message += f"; could not save it: {public(str(err))}"
        with state_lock:
            candidate_box[0] = CandidateModel(job, served, test_accuracy)

    trainer = Trainer(get_data, finished)

    def adopt(job_id: int | None) -> Served:
        with state_lock:
            candidate = candidate_box[0]
            if candidate is None:
                raise ApiError(409, "there is no finished live run to adopt: train one first")
            if job_id is not None and job_id != candidate.job.id:
                raise ApiError(
                    409,
                    f"run #{job_id} is not the candidate: the candidate is run #{candidate.job.id}",
                )
            new = candidate.served
            new.version = served_box[0].version + 1
            if new.file is not None:
                adopted = new.file.with_name("live-" + new.file.name.removeprefix("candidate-"))
                try:
                    os.replace(new.file, adopted)
                    new.file = adopted
                except OSError as err:
                    log.warning("could not rename %s: %s", new.file.name, err)
            served_box[0] = new
            candidate_box[0] = None
            return new

    def status() -> dict[str, Any]:
        job = trainer.job
        with state_lock:
            candidate = candidate_box[0]
            version = served_box[0].version
        answer: dict[str, Any] = (
            {"job": None, "state": "idle", "running": False}
            if job is None
            else {**job.summary(), "running": not job.done}
        )
        if answer.get("message"):
            answer["message"] = public(answer["message"])
        answer["candidate"] = None if candidate is None else candidate.describe()
        answer["served_version"] = version
        return strict_json(answer)

    app = FastAPI(
        title="digitnet",
        version=__version__,
        description="Draw a digit and watch a from-scratch NumPy network think, and teach it "
        "one backprop step at a time. Every answer comes from one forward trace of the network. "
        "State-changing requests must be JSON from the page's own origin.",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: nothing is fetched
        redoc_url=None,  # from outside, so the schema is served as /openapi.json only
    )
    app.state.trainer = trainer
    app.state.served = served_box
    app.state.candidate = candidate_box
    app.add_middleware(BodyLimit)
    app.add_middleware(HostGuard, hosts=(*LOOPBACK_HOSTS, *hosts))

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": public(exc.message)}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }  # fmt: skip
            for e in raw
        ]
        return JSONResponse({"detail": _validation_message(raw), "errors": errors[:20]}, 422)

    @app.exception_handler(DigitnetError)
    async def _digitnet_error(request: Request, exc: DigitnetError) -> JSONResponse:
        return JSONResponse({"detail": public(str(exc))}, 422)

    # -- the page --------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- the network -----------------------------------------------------------------------
    @app.get("/api/model", responses=ERRORS, summary="The network being served")
    def model() -> ModelInfo:
        with state_lock:
            served, candidate = served_box[0], candidate_box[0]
        return strict_json(_describe(served, candidate))

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
            raise ApiError(
                404,
                f"there is no layer {l}: the served network has layers 1..{net.n_layers}",
            )
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
            "weights_shape": [IMAGE_SIDE, IMAGE_SIDE] if l == 1 else [1, len(w)],
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

    # -- teach: one backprop step ----------------------------------------------------------
    @app.post(
        "/api/backprop",
        responses={**ERRORS, 200: {"model": BackpropAnswer}},
        summary="The backward pass for one image and its label: the nudges and every gradient",
    )
    def backprop(body: TeachInput) -> JSONResponse:
        s = served_box[0]
        x, y = _teaching_input(s, body)
        return JSONResponse(strict_json(backprop_answer(s, x, y)))

    @app.post(
        "/api/backprop/step",
        responses={**ERRORS, 200: {"model": StepAnswer}},
        summary="One gradient step of eta on a scratch copy: the answer before and after",
    )
    def backprop_step(body: StepInput) -> JSONResponse:
        s = served_box[0]
        x, y = _teaching_input(s, body)
        return JSONResponse(strict_json(step_answer(s, x, y, body.eta)))

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
            "source": portable_source(s.data.source),
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
            raise ApiError(409, busy_message(trainer.job))
        known = loaded.get(body.dataset)
        if known is not None and body.train_examples > len(known.y_train):
            raise ApiError(
                422,
                f"train_examples: {known.name} has {len(known.y_train):,} training images (the "
                f"validation split holds {len(known.y_val):,} more); ask for at most "
                f"{len(known.y_train):,}, got {body.train_examples:,}",
            )
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
            trainer.start(body.model_dump(), net, config)
        except Busy as err:
            raise ApiError(409, str(err)) from None
        return status()

    def _control(action: Callable[[], Job]) -> dict[str, Any]:
        try:
            action()
        except DigitnetError as err:
            raise ApiError(409, str(err)) from None
        return status()

    @app.post("/api/train/stop", responses=ERRORS, summary="Stop the live training run")
    def train_stop(body: Annotated[EmptyBody | None, Body()] = None) -> TrainStatus:
        answer = _control(trainer.stop)
        return {**answer, "stopping": True}

    @app.post(
        "/api/train/pause",
        responses=ERRORS,
        summary="Pause the live run before its next mini-batch (answers once it rests)",
    )
    def train_pause(body: Annotated[EmptyBody | None, Body()] = None) -> TrainStatus:
        return _control(trainer.pause)

    @app.post("/api/train/resume", responses=ERRORS, summary="Let the paused run train on")
    def train_resume(body: Annotated[EmptyBody | None, Body()] = None) -> TrainStatus:
        return _control(trainer.resume)

    @app.post(
        "/api/train/step",
        responses=ERRORS,
        summary="While paused: exactly one mini-batch step (answers once it is taken)",
    )
    def train_step(body: Annotated[EmptyBody | None, Body()] = None) -> TrainStatus:
        return _control(trainer.step)

    @app.post(
        "/api/train/adopt",
        responses=ERRORS,
        summary="Serve the candidate: the network of the finished live run",
    )
    def train_adopt(body: Annotated[AdoptRequest | None, Body()] = None) -> ModelInfo:
        new = adopt(None if body is None else body.job)
        return strict_json(_describe(new, None))

    @app.post(
        "/api/train/trace",
        responses={**ERRORS, 200: {"model": TraceAnswer}},
        summary="/api/trace with the live run's network (or the candidate's), as it is now",
    )
    async def train_trace(body: ImageInput) -> JSONResponse:
        job = trainer.job
        if job is None:
            raise ApiError(404, "no training run has been started")
        base = served_box[0]
        live = Served(job.net, base.header, None, base.version)
        x = _input_of(body) if body.png is None else await run_in_threadpool(_input_of, body)
        t = live.net.trace(x)
        return JSONResponse(
            strict_json({**_answer(live, x, t), **_diagram(live.net, t), "sizes": live.net.sizes})
        )

    @app.get("/api/train/status", responses=ERRORS, summary="The live training run's state")
    def train_status() -> TrainStatus:
        return status()

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
            _events(job, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


def _sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(strict_json(data), separators=(',', ':'))}\n\n"


def _public_event(event: dict[str, Any]) -> dict[str, Any]:
    summary = event.get("summary")
    if isinstance(summary, dict) and summary.get("message"):
        return {**event, "summary": {**summary, "message": public(summary["message"])}}
    return event


async def _events(job: Job, request: Request) -> AsyncIterator[str]:
    """Every event of ``job`` from its start, then new ones as they come, up to its "end"."""
    sent, progress_seen = 0, -1
    yield _sse("status", _public_event({"summary": job.summary()})["summary"])
    while True:
        events = job.events
        while sent < len(events):
            event = events[sent]
            sent += 1
            yield _sse(event["event"], _public_event(event))
            if event["event"] == "end":  # always the job's last event
                return
        if job.progress_count != progress_seen and job.progress:
            progress_seen = job.progress_count
            yield _sse("progress", {"job": job.id, **job.progress, "state": job.shown_state})
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.1)
