"""The explore room: test images, at random or only the mistakes, with the network's answers."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query

from digitnet.model_io import portable_source
from digitnet.web.api_errors import ERRORS, ApiError
from digitnet.web.models import Models
from digitnet.web.schemas import TestImage, TestImages

MAX_TEST_IMAGES = 60


def router(models: Models) -> APIRouter:
    room = APIRouter()

    @room.get("/api/test-images", responses=ERRORS, summary="Test images with the network's answer")
    def test_images(
        mode: Literal["random", "mistakes"] = "random",
        count: Annotated[int, Query(ge=1, le=MAX_TEST_IMAGES)] = 12,
        seed: Annotated[int | None, Query(ge=0, le=2**32 - 1)] = None,
    ) -> TestImages:
        s = models.served[0]
        if s.data is None or len(s.data.y_test) == 0:
            raise ApiError(404, "no test images are loaded (start the server with --data-dir)")
        predicted, confidence = s.test_answers()
        y = s.data.y_test
        wrong = np.flatnonzero(predicted != y)
        pool = wrong if mode == "mistakes" else np.arange(len(y))
        rng = np.random.default_rng(seed)
        pick = rng.choice(pool, size=min(count, len(pool)), replace=False) if len(pool) else pool
        names = s.class_names
        return TestImages(
            dataset=s.data.name,
            source=portable_source(s.data.source),
            total=len(y),
            mistakes=len(wrong),
            accuracy=round(1 - len(wrong) / len(y), 4),
            mode=mode,
            images=[
                TestImage(
                    index=int(i),
                    label=int(y[i]),
                    label_name=names[int(y[i])],
                    prediction=int(predicted[i]),
                    prediction_name=names[int(predicted[i])],
                    confidence=round(float(confidence[i]), 4),
                    pixels=np.rint(s.data.X_test[i] * 255).astype(int).tolist(),
                )
                for i in pick
            ],
        )

    return room
