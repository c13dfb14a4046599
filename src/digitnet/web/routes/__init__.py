"""The web app's routes, one APIRouter a room: the network (``network``), teaching one
backprop step (``teach``), the test images (``explore``) and live training (``live``).

Routes are thin: they read the request, call an answer of :mod:`digitnet.web.answers` or a
method of :class:`digitnet.web.models.Models`, and add the served model's version. The helpers
here turn a request's image into the network's input.
"""

from __future__ import annotations

import numpy as np
from starlette.concurrency import run_in_threadpool

from digitnet.web.api_errors import ApiError
from digitnet.web.images import ImageRejected, decode_base64_png, png_to_input
from digitnet.web.models import DIGITS, Served
from digitnet.web.schemas import ImageInput, TeachInput

#: An image whose brightest pixel is below this is blank: there is nothing to teach.
BLANK_INK = 0.05


def image_of(body: ImageInput) -> np.ndarray:
    """The 784 inputs of a request: its pixels, or its PNG through the shared preprocessing."""
    if body.pixels is not None:
        return np.asarray(body.pixels, np.float32)
    assert body.png is not None
    try:
        return png_to_input(decode_base64_png(body.png))
    except ImageRejected as err:
        raise ApiError(err.status, str(err)) from None


async def image_of_async(body: ImageInput) -> np.ndarray:
    """:func:`image_of`; 784 numbers take well under a millisecond and are read on the event
    loop, a PNG is decoded and preprocessed in the thread pool."""
    return image_of(body) if body.png is None else await run_in_threadpool(image_of, body)


def teaching_input(served: Served, body: TeachInput) -> tuple[np.ndarray, int]:
    """The image (784,) and label of a teaching request, refused when there is nothing to
    teach: a label the model does not have, or a blank image."""
    n_L = served.net.sizes[-1]
    if body.label >= n_L:
        names = served.class_names
        named = "" if names == DIGITS else f" ({names[0]}..{names[-1]})"
        raise ApiError(
            422, f"label {body.label} is not one of this model's classes: 0..{n_L - 1}{named}"
        )
    x = image_of(body)
    if float(np.max(x)) < BLANK_INK:
        raise ApiError(422, "the image is blank: draw a digit (or pick a test image) to teach")
    return x, body.label
