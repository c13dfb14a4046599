"""The live-training room: start a run, stop, pause, step it one mini-batch at a time, set its
speed, watch its events (with every mini-batch's cost and its path on the landscape), see the
nudges of its latest slow-motion step, trace its network as it is now, and adopt the network it
leaves.

A live run never replaces the served network by itself (see :mod:`digitnet.web.models`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from digitnet.errors import DigitnetError
from digitnet.model_io import strict_json
from digitnet.network import Network
from digitnet.settings import TrainConfig
from digitnet.web.answers import diagram_answer, prediction_answer
from digitnet.web.api_errors import ERRORS, ApiError
from digitnet.web.models import Models, Served, describe
from digitnet.web.routes import image_of_async
from digitnet.web.schemas import (
    AdoptRequest,
    CostsAnswer,
    EmptyBody,
    ImageInput,
    LandscapeAnswer,
    ModelInfo,
    SpeedRequest,
    StepNudges,
    TraceAnswer,
    TrainRequest,
    TrainStatus,
)
from digitnet.web.security import public
from digitnet.web.training import AVERAGE_OVER, Busy, Job, busy_message, landscape_answer

#: ``since`` counts steps or points already seen; no run holds more than this many.
MAX_SINCE = 10**9
Since = Annotated[int, Query(ge=0, le=MAX_SINCE, description="skip this many already seen")]


def router(models: Models) -> APIRouter:
    room = APIRouter()

    @room.post("/api/train", responses=ERRORS, summary="Start a live training run")
    def train_start(body: TrainRequest) -> TrainStatus:
        if models.trainer.running:
            raise ApiError(409, busy_message(models.trainer.job))
        known = models.loaded.get(body.dataset)
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
            models.trainer.start(body.model_dump(), net, config)
        except Busy as err:
            raise ApiError(409, str(err)) from None
        return models.status()

    def _control(action: Callable[[], Job]) -> TrainStatus:
        try:
            action()
        except DigitnetError as err:
            raise ApiError(409, str(err)) from None
        return models.status()

    @room.post("/api/train/stop", responses=ERRORS, summary="Stop the live training run")
    def train_stop(body: Annotated[EmptyBody | None, Body()] = None) -> TrainStatus:
        answer = _control(models.trainer.stop)
        answer.stopping = True
        return answer

    @room.post(
        "/api/train/pause",
        responses=ERRORS,
        summary="Pause the live run before its next mini-batch (answers once it rests)",
    )
    def train_pause(body: Annotated[EmptyBody | None, Body()] = None) -> TrainStatus:
        return _control(models.trainer.pause)

    @room.post("/api/train/resume", responses=ERRORS, summary="Let the paused run train on")
    def train_resume(body: Annotated[EmptyBody | None, Body()] = None) -> TrainStatus:
        return _control(models.trainer.resume)

    @room.post(
        "/api/train/step",
        responses=ERRORS,
        summary="While paused: exactly one mini-batch step (answers once it is taken)",
    )
    def train_step(body: Annotated[EmptyBody | None, Body()] = None) -> TrainStatus:
        return _control(models.trainer.step)

    @room.post(
        "/api/train/speed",
        responses=ERRORS,
        summary="Slow motion: at most this many steps a second (null: full speed)",
    )
    def train_speed(body: SpeedRequest) -> TrainStatus:
        return _control(lambda: models.trainer.set_speed(body.steps_per_second))

    def _job() -> Job:
        job = models.trainer.job
        if job is None:
            raise ApiError(404, "no training run has been started")
        return job

    @room.get(
        "/api/train/costs",
        responses=ERRORS,
        summary="Every mini-batch's cost (before its step) and the running average",
    )
    def train_costs(since: Since = 0) -> CostsAnswer:
        job = _job()
        n = len(job.costs)  # the job's thread appends as this answer is made
        return strict_json(
            {"job": job.id, "average_over": AVERAGE_OVER, "costs": job.costs[since:n], "count": n}
        )

    @room.get(
        "/api/train/landscape",
        responses=ERRORS,
        summary="The cost on a slice through the run's start, and the run's path on it",
    )
    def train_landscape(since: Since = 0) -> LandscapeAnswer:
        return strict_json(landscape_answer(_job(), since))

    @room.get(
        "/api/train/nudges",
        responses=ERRORS,
        summary="The latest slow-motion step: each example's wishes, their average, the costs",
    )
    def train_nudges() -> StepNudges:
        job = _job()
        if job.last_step is None:
            raise ApiError(
                404,
                "no step has been taken in slow motion yet: pause the run and step it, or set "
                "a speed",
            )
        return strict_json(job.last_step)

    @room.post(
        "/api/train/adopt",
        responses=ERRORS,
        summary="Serve the candidate: the network of the finished live run",
    )
    def train_adopt(body: Annotated[AdoptRequest | None, Body()] = None) -> ModelInfo:
        new = models.adopt(None if body is None else body.job)
        return strict_json(describe(new, None))

    @room.post(
        "/api/train/trace",
        responses={**ERRORS, 200: {"model": TraceAnswer}},
        summary="/api/trace with the live run's network (or the candidate's), as it is now",
    )
    async def train_trace(body: ImageInput) -> JSONResponse:
        job = models.trainer.job
        if job is None:
            raise ApiError(404, "no training run has been started")
        base = models.served[0]
        live = Served(job.net, base.header, None, base.version)
        x = await image_of_async(body)
        t = live.net.trace(x)
        answer = {
            **prediction_answer(live.net, x, t, live.class_names),
            "model_version": live.version,
        }
        return JSONResponse(
            strict_json({**answer, **diagram_answer(live.net, t), "sizes": live.net.sizes})
        )

    @room.get("/api/train/status", responses=ERRORS, summary="The live training run's state")
    def train_status() -> TrainStatus:
        return models.status()

    @room.get(
        "/api/train/events",
        responses=ERRORS,
        response_class=StreamingResponse,
        summary="Server-sent events of the live training run",
    )
    async def train_events(request: Request) -> StreamingResponse:
        job = models.trainer.job
        if job is None:
            raise ApiError(404, "no training run has been started")
        return StreamingResponse(
            _events(job, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return room


def _sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(strict_json(data), separators=(',', ':'))}\n\n"


def _public_event(event: dict[str, Any]) -> dict[str, Any]:
    summary = event.get("summary")
    if isinstance(summary, dict) and summary.get("message"):
        return {**event, "summary": {**summary, "message": public(summary["message"])}}
    return event


async def _events(job: Job, request: Request) -> AsyncIterator[str]:
    """Every event of ``job`` from its start, then new ones as they come, up to its "end".

    A "progress" event carries the mini-batch costs and landscape points recorded since the
    last one; those recorded before an epoch (or the end) are sent before its event."""
    sent, progress_seen, costs_sent, path_sent = 0, -1, 0, 0
    yield _sse("status", _public_event({"summary": job.summary()})["summary"])
    while True:
        events = job.events
        n_events = len(events)  # read first: every cost recorded before these is seen below
        n_costs, n_path = len(job.costs), len(job.path)
        moved = job.progress_count != progress_seen or n_costs > costs_sent or n_path > path_sent
        if moved and job.progress:
            progress_seen = job.progress_count
            costs, path = job.costs[costs_sent:n_costs], job.path[path_sent:n_path]
            costs_sent, path_sent = n_costs, n_path
            last = job.last_step
            yield _sse(
                "progress",
                {
                    "job": job.id,
                    **job.progress,
                    "state": job.shown_state,
                    "costs": costs,
                    "path": path,
                    "last_step": None if last is None else last["step"],
                    "steps_per_second": job.speed,
                },
            )
        while sent < n_events:
            event = events[sent]
            sent += 1
            yield _sse(event["event"], _public_event(event))
            if event["event"] == "end":  # always the job's last event
                return
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.1)
