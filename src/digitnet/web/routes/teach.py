"""The teach room: one image and its label, the backward pass, and one gradient step."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from digitnet.model_io import strict_json
from digitnet.web.answers import backprop_answer, step_answer
from digitnet.web.api_errors import ERRORS
from digitnet.web.models import Models
from digitnet.web.routes import teaching_input
from digitnet.web.schemas import BackpropAnswer, StepAnswer, StepInput, TeachInput


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

    return room
