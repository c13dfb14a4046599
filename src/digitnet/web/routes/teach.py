"""The teach room: one image and its label, the backward pass, and one gradient step; and a
mini-batch of test images, each one's wishes for the outputs before they are averaged."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from digitnet.model_io import strict_json
from digitnet.web.answers import backprop_answer, step_answer, wishes_answer
from digitnet.web.api_errors import ERRORS, ApiError
from digitnet.web.models import Models
from digitnet.web.routes import teaching_input
from digitnet.web.schemas import (
    BackpropAnswer,
    BatchRequest,
    BatchWishes,
    StepAnswer,
    StepInput,
    TeachInput,
)


def router(models: Models) -> APIRouter:
    room = APIRouter()

    @room.post(
        "/api/backprop",
        responses={**ERRORS, 200: {"model": BackpropAnswer}},
        summary="The backward pass for one image and its label: the nudges and every gradient",
    )
    def backprop(body: TeachInput) -> JSONResponse:
        s = models.served[0]
        x, y = teaching_input(s, body)
        answer = backprop_answer(s.net, x, y, s.class_names)
        return JSONResponse(strict_json({**answer, "model_version": s.version}))

    @room.post(
        "/api/backprop/step",
        responses={**ERRORS, 200: {"model": StepAnswer}},
        summary="One gradient step of eta on a scratch copy: the answer before and after",
    )
    def backprop_step(body: StepInput) -> JSONResponse:
        s = models.served[0]
        x, y = teaching_input(s, body)
        answer = step_answer(s.net, x, y, body.eta, s.class_names)
        return JSONResponse(strict_json({**answer, "model_version": s.version}))

    @room.post(
        "/api/backprop/batch",
        responses={**ERRORS, 200: {"model": BatchWishes}},
        summary="A mini-batch of test images: each one's wishes for the outputs, then the average",
    )
    def backprop_batch(body: BatchRequest) -> JSONResponse:
        s = models.served[0]
        if s.data is None or len(s.data.y_test) == 0:
            raise ApiError(404, "no test images are loaded (start the server with --data-dir)")
        rng = np.random.default_rng(body.seed)
        pick = np.sort(rng.choice(len(s.data.y_test), size=body.size, replace=False))
        X, y = s.data.X_test[pick], s.data.y_test[pick]
        answer = wishes_answer(s.net, s.net.trace(X), y, s.class_names)
        return JSONResponse(
            strict_json(
                {
                    **answer,
                    "indices": pick.tolist(),
                    "pixels": np.rint(X * 255).astype(int).tolist(),
                    "model_version": s.version,
                }
            )
        )

    return room
