"""The FastAPI application: a JSON API around one network, and the page that uses it.

Every answer about an image comes from one forward trace, ``net.trace(X)``
(:mod:`digitnet.web.answers`). Images arrive as 784 numbers or as a PNG, which goes through
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

The app is built in rooms, each its own module:

- :mod:`digitnet.web.security`: the Host guard and the body limit (middleware), and
  :func:`~digitnet.web.security.public`, which keeps the server's paths out of every answer;
- :mod:`digitnet.web.api_errors`: every error as a 4xx ``{"detail": "one line"}``;
- :mod:`digitnet.web.answers`: the answers themselves, pure functions of a network and an image;
- :mod:`digitnet.web.models`: the served network, the candidate a live run leaves, the data;
- :mod:`digitnet.web.training`: the live runs, in a background thread;
- :mod:`digitnet.web.routes`: one thin APIRouter a room (network, teach, explore, live).

This module puts them together: :func:`create_app`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.version import __version__
from digitnet.web.answers import backprop_answer, step_answer
from digitnet.web.api_errors import ApiError, add_error_handlers
from digitnet.web.models import MAX_LIVE_MODELS, Models
from digitnet.web.routes import explore, live, network, teach
from digitnet.web.schemas import N_INPUTS
from digitnet.web.security import LOOPBACK_HOSTS, STATE_CHANGING, BodyLimit, HostGuard, public

__all__ = [
    "MAX_LIVE_MODELS",
    "STATE_CHANGING",
    "ApiError",
    "backprop_answer",
    "create_app",
    "public",
    "step_answer",
]

STATIC = Path(__file__).resolve().parent / "static"


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
    models = Models(net, header, data, data_dir, save_dir, load_data, max_live_models)

    app = FastAPI(
        title="digitnet",
        version=__version__,
        description="Draw a digit and watch a from-scratch NumPy network think, and teach it "
        "one backprop step at a time. Every answer comes from one forward trace of the network. "
        "State-changing requests must be JSON from the page's own origin.",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: nothing is fetched
        redoc_url=None,  # from outside, so the schema is served as /openapi.json only
    )
    app.state.models = models
    app.state.trainer = models.trainer
    app.state.served = models.served
    app.state.candidate = models.candidate
    app.add_middleware(BodyLimit)
    app.add_middleware(HostGuard, hosts=(*LOOPBACK_HOSTS, *hosts))

    add_error_handlers(app)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for room in (network, teach, explore, live):
        app.include_router(room.router(models))
    return app
