"""The network room: what is served, its answer for an image, its neurons and weights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse

from digitnet.model_io import strict_json
from digitnet.network import Network
from digitnet.web.answers import (
    diagram_answer,
    neuron_answer,
    neuron_function_answer,
    prediction_answer,
)
from digitnet.web.api_errors import ERRORS, ApiError
from digitnet.web.images import MAX_PNG_BYTES, ImageRejected, png_to_input
from digitnet.web.models import Models, describe
from digitnet.web.neuron_schemas import NeuronFunctionAnswer, NeuronFunctionInput
from digitnet.web.routes import image_of, image_of_async
from digitnet.web.schemas import (
    ImageInput,
    ModelInfo,
    NeuronAnswer,
    NeuronRequest,
    Prediction,
    TraceAnswer,
    WeightImages,
)
from digitnet.web.training import weights_event


def router(models: Models) -> APIRouter:
    room = APIRouter()

    @room.get("/api/model", responses=ERRORS, summary="The network being served")
    def model() -> ModelInfo:
        served, candidate = models.now()
        return strict_json(describe(served, candidate))

    @room.post(
        "/api/predict",
        responses={**ERRORS, 200: {"model": Prediction}},
        summary="The digit in one image",
    )
    async def predict(body: ImageInput) -> JSONResponse:
        s = models.served[0]
        x = await image_of_async(body)
        answer = prediction_answer(s.net, x, s.net.trace(x), s.class_names)
        return JSONResponse({**answer, "model_version": s.version})

    @room.post(
        "/api/predict/upload",
        responses={**ERRORS, 200: {"model": Prediction}},
        summary="The digit in an uploaded PNG",
    )
    def predict_upload(
        file: Annotated[UploadFile, File(description="a PNG, at most 1 MB and 2000x2000 px")],
    ) -> JSONResponse:
        data = file.file.read(MAX_PNG_BYTES + 1)
        try:
            x = png_to_input(data)
        except ImageRejected as err:
            raise ApiError(err.status, str(err)) from None
        s = models.served[0]
        answer = prediction_answer(s.net, x, s.net.trace(x), s.class_names)
        return JSONResponse({**answer, "model_version": s.version})

    @room.post(
        "/api/trace",
        responses={**ERRORS, 200: {"model": TraceAnswer}},
        summary="The prediction plus every layer's activations and the strongest connections",
    )
    async def trace(body: ImageInput) -> JSONResponse:
        s = models.served[0]
        x = await image_of_async(body)
        t = s.net.trace(x)  # the one forward pass: everything below reads it
        answer = {**prediction_answer(s.net, x, t, s.class_names), "model_version": s.version}
        return JSONResponse({**answer, **diagram_answer(s.net, t), "sizes": s.net.sizes})

    @room.post("/api/neuron", responses=ERRORS, summary="One neuron's weights, bias, z and a")
    def neuron(body: NeuronRequest) -> NeuronAnswer:
        s = models.served[0]
        check_neuron(s.net, body.layer, body.index)
        return neuron_answer(s.net, body.layer, body.index, body.pixels, s.class_names)

    @room.post(
        "/api/neuron/function",
        responses=ERRORS,
        summary="One neuron as a function: its activation curve, z and a, and the answer with "
        "a new bias or weight tried on a scratch copy (the served network never changes)",
    )
    def neuron_function(body: NeuronFunctionInput) -> NeuronFunctionAnswer:
        s = models.served[0]
        check_neuron(s.net, body.layer, body.index)
        weight = None if body.weight is None else (body.weight.k, body.weight.value)
        answer = neuron_function_answer(
            s.net, image_of(body), body.layer, body.index, body.bias, weight
        )
        return NeuronFunctionAnswer.model_validate({**answer, "model_version": s.version})

    @room.get("/api/weights", responses=ERRORS, summary="The first layer's weights as images")
    def weights(
        max_neurons: Annotated[int, Query(ge=1, le=256)] = 64,
    ) -> WeightImages:
        return WeightImages(**weights_event(models.served[0].net, max_neurons))

    return room


def check_neuron(net: Network, l: int, j: int) -> None:
    """404 unless neuron j of layer l (1..L) is in ``net``."""
    if l > net.n_layers:
        raise ApiError(
            404, f"there is no layer {l}: the served network has layers 1..{net.n_layers}"
        )
    if j >= net.sizes[l]:
        raise ApiError(
            404,
            f"layer {l} has {net.sizes[l]} neurons (0..{net.sizes[l] - 1}); there is no neuron {j}",
        )
