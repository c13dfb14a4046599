"""Pictures for the web app: checking uploaded PNGs before decoding, and weight grids as PNG.

An uploaded PNG is refused from its first 24 bytes (signature and IHDR chunk) when it is not a
PNG or is larger than ``MAX_PNG_SIDE`` pixels a side, before Pillow decodes anything; the digit in
it then goes through :func:`digitnet.preprocess.to_mnist`, the one preprocessing function.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import struct

import numpy as np
from PIL import Image

from digitnet.errors import DigitnetError
from digitnet.preprocess import to_mnist

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 1_000_000  # an uploaded PNG may hold at most 1 MB
MAX_PNG_SIDE = 2000  # and at most 2000x2000 pixels
MAX_PNG_BASE64 = 4 * math.ceil(MAX_PNG_BYTES / 3) + 64  # its base64 text, with a data: prefix

POSITIVE = np.array([33, 102, 172], np.float32)  # blue: this pixel excites the neuron
NEGATIVE = np.array([178, 24, 43], np.float32)  # red: it inhibits it
WHITE = np.array([255, 255, 255], np.float32)
GAP = np.array([200, 200, 200], np.uint8)


class ImageRejected(DigitnetError):
    """An uploaded image that is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def decode_base64_png(text: str) -> bytes:
    """The bytes of a base64 PNG (a ``data:image/png;base64,`` prefix is allowed), size-checked
    on the text before anything is decoded."""
    if len(text) > MAX_PNG_BASE64:
        raise ImageRejected(
            f"the PNG is larger than {MAX_PNG_BYTES:,} bytes ({len(text):,} characters of base64)",
            413,
        )
    if text.startswith("data:"):
        head, sep, text = text.partition(",")
        if not sep or not head.endswith(";base64"):
            raise ImageRejected("a data: URL must look like data:image/png;base64,...")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected("png is not valid base64") from None


def check_png(data: bytes) -> tuple[int, int]:
    """(width, height) of the PNG ``data``, read from its header; ImageRejected if it is not a PNG,
    is more than MAX_PNG_BYTES long or more than MAX_PNG_SIDE pixels a side."""
    if len(data) > MAX_PNG_BYTES:
        raise ImageRejected(
            f"the PNG is {len(data):,} bytes, more than the {MAX_PNG_BYTES:,} accepted", 413
        )
    if not data.startswith(PNG_SIGNATURE):
        raise ImageRejected("not a PNG image (it does not start with the PNG signature)", 415)
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageRejected("a broken PNG: its header (IHDR chunk) is missing")
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        raise ImageRejected(f"the PNG is {width}x{height} pixels: it has no pixels")
    if width > MAX_PNG_SIDE or height > MAX_PNG_SIDE:
        raise ImageRejected(
            f"the PNG is {width}x{height} pixels, more than the {MAX_PNG_SIDE}x{MAX_PNG_SIDE} "
            "accepted",
            413,
        )
    return width, height


def png_to_input(data: bytes) -> np.ndarray:
    """The digit in the PNG ``data`` as the network's input, float32 (784,), via ``to_mnist``."""
    check_png(data)
    try:
        return to_mnist(data, max_pixels=MAX_PNG_SIDE * MAX_PNG_SIDE, max_bytes=MAX_PNG_BYTES)
    except DigitnetError as err:
        raise ImageRejected(str(err)) from None


def weight_tiles(W: np.ndarray, side: int = 28) -> np.ndarray:
    """RGB tiles (n, side, side, 3) uint8 of the rows of W (n, side*side): each row scaled by its
    own largest |w|, white at zero, blue for positive weights, red for negative ones."""
    W = np.asarray(W, np.float32).reshape(len(W), side, side)
    m = np.abs(W).reshape(len(W), -1).max(axis=1)
    v = W / np.where(m > 0, m, 1)[:, None, None]  # in [-1, 1]
    v = v[..., None]
    rgb = WHITE + np.abs(v) * (np.where(v > 0, POSITIVE, NEGATIVE) - WHITE)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def weight_grid(W: np.ndarray, columns: int = 8, scale: int = 2, gap: int = 1) -> bytes:
    """The rows of W (n, 784) as a grid of 28x28 tiles, ``columns`` a row, as PNG bytes."""
    tiles = weight_tiles(W)
    n, side = len(tiles), tiles.shape[1]
    rows = max(1, math.ceil(n / columns))
    step = side + gap
    grid = np.empty((rows * step + gap, columns * step + gap, 3), np.uint8)
    grid[...] = GAP
    for j, tile in enumerate(tiles):
        r, c = divmod(j, columns)
        grid[gap + r * step : gap + r * step + side, gap + c * step : gap + c * step + side] = tile
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return png_bytes(grid)


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
