"""Turn a photo or a drawing of one digit into the 784 numbers the network reads, the MNIST way.

MNIST was made like this (LeCun, Cortes and Burges): each digit was scaled to fit a 20x20 box,
keeping its aspect ratio, which left grey anti-aliased edges; then it was placed in a 28x28 field
so that its centre of mass sat at the centre. :func:`to_mnist` does the same to any image:

1. **decode** PNG (grey, RGB, RGBA, palette, 16-bit), JPEG and a few other formats, any size,
   turned upright by its EXIF orientation. A transparent background counts as paper (RGBA is
   composited over white; over black if that leaves nothing, for light ink on a see-through
   background). The pixel count is checked from the header before anything is decoded.
2. **grey**, reduced (box average) to at most ``WORK_SIDE`` pixels a side: the digit ends up 20
   pixels tall, so nothing of use is lost.
3. **ink versus paper**: Otsu's threshold splits the pixels in two, and the side that fills most of
   the border is the paper. Dark ink on light paper (a photo) and light ink on a dark background
   (MNIST itself, a canvas drawing) both work; from here on ink is high. If the "ink" is a fat
   blob rather than strokes (a white sheet photographed on a dark table), the other side is.
4. **paper noise**: the paper is read in a ring around the ink, so margins or a table further
   out do not count; a smooth surface (a quadratic in x and y) fitted to it is subtracted, which
   removes a brightness gradient. Pixels less than ``NOISE_DEVIATIONS`` noise deviations above
   the paper become 0 and a typical stroke becomes 1, keeping the grey anti-aliased edges
   between. Ink far from the strokes, specks of dirt and surrounds touching much of the border
   are dropped.
5. **pen strokes** much thinner than MNIST's (a ballpoint photographed close up) are widened to
   a typical MNIST stroke, which the network knows; MNIST-like strokes are left alone.
6. **crop, scale, centre**: crop to the ink's bounding box, scale it so that its longer side is
   20 pixels, and place it in 28x28 with its centre of mass at (14, 14), in one LANCZOS
   resampling. (MNIST moved whole pixels, so its centres of mass lie within half a pixel of
   (14, 14); here they are exact.) A digit whose mass is far off the middle of its box is moved
   only as far as keeps the whole box inside the field.

:func:`from_array` runs steps 2 to 6 on a grey, RGB or RGBA array, such as canvas pixels;
MNIST's own images come out of it almost unchanged. Every problem with the input raises a
:class:`~digitnet.errors.DigitnetError` whose one line names the file: not an image, truncated or
corrupt, too many pixels or bytes, or no ink at all.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import threading
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from digitnet.errors import DigitnetError

__all__ = ["FORMATS", "MNIST_BOX", "MNIST_CENTRE", "MNIST_SIZE", "from_array", "to_mnist"]

MNIST_SIZE = 28  # the field, 28x28 pixels
MNIST_BOX = 20  # the digit is scaled to fit a 20x20 box inside it
MNIST_CENTRE = 14.0  # where its centre of mass goes (row and column)
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")  # what Pillow may decode here
WORK_SIDE = 640  # larger images are reduced (box average) to at most this many pixels a side
SAMPLE_SIDE = 128  # statistics (thresholds, the paper surface) use about 128x128 samples
MIN_CONTRAST = 0.1  # ink must differ from the paper by 10% of black-to-white, else it is blank
NOISE_DEVIATIONS = 4.0  # pixels closer than this many noise deviations to the paper are paper
SPECK_FRACTION = 0.01  # ink pieces with less than 1% of the largest piece's ink are dirt
MAX_INK_FRACTION = 0.4  # no digit covers more of its image (MNIST's boldest: a third)
SURROUND_GAP = 0.3  # ...unless it splits into paper and ink this far apart: then a surround
SURROUND_BORDER = 0.4  # an ink piece covering more of the border than this is a surround
MAX_THICKNESS = 0.35  # ink thicker than this for its size is a blob (the paper), not strokes
MIN_STROKE = 0.05  # strokes narrower than this fraction of the digit's size are thickened...
TYPICAL_STROKE = 0.10  # ...to this (MNIST's: 0.08 to 0.2, most often 0.12)
MAX_BYTES = 64_000_000  # a larger image file is refused before it is read

_WARNINGS_LOCK = threading.RLock()

ImageSource = Image.Image | str | os.PathLike | bytes | bytearray | memoryview


def to_mnist(
    image: ImageSource,
    *,
    max_pixels: int = 40_000_000,
    max_bytes: int = MAX_BYTES,
) -> np.ndarray:
    """The digit in ``image`` as the network's input: float32 ``(784,)`` in [0, 1], ink high.

    ``image`` is a Pillow image, a path, or the bytes of an image file. An image with more than
    ``max_pixels`` pixels is refused from its header, before it is decoded; a file (or bytes)
    longer than ``max_bytes`` is refused before it is read.
    """
    name, fp = _source(image, max_bytes)
    if isinstance(fp, Image.Image):  # the caller's: read it, but do not change it
        return _prepare(_grey_of_image(fp, name, max_pixels, draft=False), name)
    with _pillow_warnings():
        try:
            im = Image.open(fp, formats=FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise DigitnetError(_too_many_pixels(name, err, max_pixels)) from None
        except UnidentifiedImageError:
            raise DigitnetError(f"{name}: not an image ({', '.join(FORMATS)})") from None
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise DigitnetError(f"{name}: cannot read the image ({_one_line(err)})") from None
    with im:
        grey = _grey_of_image(im, name, max_pixels)
    return _prepare(grey, name)


def from_array(a: np.ndarray) -> np.ndarray:
    """The digit in the image array ``a`` as the network's input, float32 ``(784,)``, ink high.

    ``a`` is a grey image ``(h, w)``, or ``(h, w, 3)`` RGB / ``(h, w, 4)`` RGBA (as a browser
    canvas gives it). Integer arrays are read as 0..255 (uint16: 0..65535); float arrays as 0..1,
    or 0..255 if any value is above 1. Either polarity works: dark ink on light paper, or light ink
    on dark (MNIST's own images pass through almost unchanged).
    """
    name = "image array"
    a = np.asarray(a)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape:
        raise DigitnetError(
            f"{name} has shape {a.shape}; expected a grey (h, w), RGB (h, w, 3) or RGBA (h, w, 4) "
            "image"
        )
    grey = _unit_range(a, name)
    if a.ndim == 3:
        im = Image.fromarray(np.round(grey * 255).astype(np.uint8))  # RGB or RGBA
        return _prepare(_grey_of_image(im, name, None), name)
    return _prepare(_reduce(Image.fromarray(grey.astype(np.float32))), name)


# -- reading ------------------------------------------------------------------------------------


def _source(image: object, max_bytes: int) -> tuple[str, Image.Image | str | io.BytesIO]:
    """A name for messages, and what to hand to ``Image.open`` (or the image itself)."""
    if isinstance(image, Image.Image):
        return (getattr(image, "filename", "") or "image"), image
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
        if len(data) > max_bytes:
            raise DigitnetError(
                f"image data: {len(data):,} bytes, more than the {max_bytes:,} accepted"
            )
        if not data:
            raise DigitnetError("image data: empty, not an image")
        return "image data", io.BytesIO(data)
    if isinstance(image, str | os.PathLike):
        path = os.fspath(image)
        name = os.fsdecode(path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise DigitnetError(f"{name}: file not found") from None
        except OSError as err:
            raise DigitnetError(f"{name}: cannot read ({err.strerror or err})") from None
        if os.path.isdir(path):
            raise DigitnetError(f"{name}: is a folder, expected an image file")
        if st.st_size > max_bytes:
            raise DigitnetError(
                f"{name}: {st.st_size:,} bytes, more than the {max_bytes:,} accepted"
            )
        if st.st_size == 0:
            raise DigitnetError(f"{name}: empty file, not an image")
        return name, name
    raise DigitnetError(f"expected an image, a file path or bytes, not {type(image).__name__}")


@contextlib.contextmanager
def _pillow_warnings() -> Iterator[None]:
    """Pillow's decompression-bomb warning becomes an error; its other warnings (odd EXIF data and
    the like) are of no use to someone asking which digit this is, and are silenced.

    ``catch_warnings`` swaps process-wide state, so two threads (a web server's) must not be inside
    it at once: a lock takes them in turn.
    """
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _too_many_pixels(
    name: str, size: tuple[int, int] | BaseException, max_pixels: int | None
) -> str:
    """The message for an image whose ``size`` is too large, or which Pillow's own limit refused
    inside ``Image.open`` (``size`` is then Pillow's exception, whose text holds the count)."""
    if isinstance(size, BaseException):
        limits = [n for n in (max_pixels, Image.MAX_IMAGE_PIXELS) if n]
        count = re.search(r"\((\d+) pixels\)", str(size))
        has = f"{int(count[1]):,} pixels" if count else "too many pixels"
        limit = f", more than the {min(limits):,} accepted" if limits else ""
        return f"{name}: the image has {has}{limit}, too many to decode"
    w, h = size
    return f"{name}: the image is {w}x{h}, more than the {max_pixels:,} pixels accepted"


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _grey_of_image(
    im: Image.Image, name: str, max_pixels: int | None, draft: bool = True
) -> np.ndarray:
    """Decode ``im`` (checking its size first) into grey float32 ``(h, w)`` in [0, 1], white 1.

    With ``draft``, a large JPEG is decoded straight to grey at a half, quarter or eighth of its
    size, which is much faster.
    """
    w, h = im.size
    if max_pixels is not None and w * h > max_pixels:
        raise DigitnetError(_too_many_pixels(name, im.size, max_pixels))
    if w == 0 or h == 0:
        raise DigitnetError(f"{name}: the image is {w}x{h}, it has no pixels")
    with _pillow_warnings():
        try:
            if draft and im.format == "JPEG" and max(w, h) > 2 * WORK_SIDE:
                im.draft("L", (w * WORK_SIDE // max(w, h), h * WORK_SIDE // max(w, h)))
            im.load()
            if im.getexif().get(ExifTags.Base.Orientation, 1) != 1:
                im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
                return _reduce(Image.fromarray(_unit_range(np.asarray(im), name)))
            if im.has_transparency_data:
                im = _composite(im.convert("RGBA"))
            return _reduce(im.convert("L"))
        except DigitnetError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise DigitnetError(_too_many_pixels(name, err, max_pixels)) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as err:
            raise DigitnetError(
                f"{name}: cannot decode the image, it is truncated or corrupt ({_one_line(err)})"
            ) from None


def _spread(band: Image.Image) -> float:
    """Largest minus smallest value of a one-band image."""
    lo, hi = band.getextrema()
    if not isinstance(lo, int | float) or not isinstance(hi, int | float):
        raise ValueError(f"expected a one-band image, got mode {band.mode!r}")
    return hi - lo


def _composite(rgba: Image.Image) -> Image.Image:
    """RGBA over white paper; over black if that leaves nothing to see (light ink on a transparent
    background) while the transparency itself draws something."""
    over_white = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if _spread(over_white.convert("L")) < MIN_CONTRAST * 255 <= _spread(rgba.getchannel("A")):
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return over_white


def _reduce(im: Image.Image) -> np.ndarray:
    """The grey image ``im`` ("L" or "F") as float32 in [0, 1], box-reduced to WORK_SIDE or less."""
    factor = math.ceil(max(im.size) / WORK_SIDE)
    if factor > 1:
        im = im.reduce(factor)
    a = np.asarray(im, dtype=np.float32)
    return a / np.float32(255) if im.mode == "L" else a


def _unit_range(a: np.ndarray, name: str) -> np.ndarray:
    """A numeric array of pixels as float32 in [0, 1]: bool as 0/1, uint16 as 0..65535, other
    integers as 0..255 (or 0..65535 if larger), floats as 0..1 (or 0..255 if larger)."""
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise DigitnetError(f"{name} holds {a.dtype} values, expected numbers")
    if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
        raise DigitnetError(f"{name} holds NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if a.dtype == np.uint16 or (np.issubdtype(a.dtype, np.integer) and hi > 255):
        scale = 65535.0
    elif np.issubdtype(a.dtype, np.integer) or hi > 1:
        scale = 255.0
    else:
        scale = 1.0
    if lo < 0 or hi > scale:
        raise DigitnetError(
            f"{name} has values from {lo:g} to {hi:g}; expected 0..1, 0..255 or 0..65535"
        )
    return (a / scale).astype(np.float32)


# -- the MNIST recipe -----------------------------------------------------------------------------


def _prepare(grey: np.ndarray, name: str) -> np.ndarray:
    """Grey float32 ``(h, w)`` in [0, 1] (any polarity) -> the MNIST-style (784,) input."""
    ink = _ink(grey)
    if ink is None:
        raise DigitnetError(f"{name}: no ink found, the image is blank")
    return _fit_and_centre(_thicken(_crop(ink))).ravel()


def _ink(grey: np.ndarray) -> np.ndarray | None:
    """How much ink each pixel of ``grey`` holds, 0 (paper) .. 1 (a full stroke); None if none.

    The paper is the side of Otsu's split that fills most of the border. If the ink that leaves is
    a fat blob rather than strokes (a white sheet photographed on a dark table, whose border is the
    table), the other polarity is tried as well.
    """
    if float(grey.max() - grey.min()) < MIN_CONTRAST:
        return None
    dark_ink = np.mean(_border(grey) > _otsu(_sample(grey))) >= 0.5  # the paper is light
    first = _ink_of(1 - grey if dark_ink else grey)
    if first is not None and _thickness(first) <= MAX_THICKNESS:
        return first
    second = _ink_of(grey if dark_ink else 1 - grey)
    if second is not None and (first is None or _thickness(second) <= MAX_THICKNESS):
        return second
    return first


def _ink_of(x: np.ndarray) -> np.ndarray | None:
    """The ink of ``x`` (ink high, paper low), or None if there is none.

    Otsu's split gives the ink roughly; the paper is read in a ring around it (so a margin or a
    table further away does not count), a smooth surface fitted to that paper is subtracted, the
    paper noise is cut off and a typical stroke is scaled to 1. Anything outside the ring, specks
    and surrounds are dropped.
    """
    k = _sample_step(x)
    xs = x[::k, ::k]
    surround, t = _paper_band(xs)
    y = _ink_above(x, surround, t)
    if y is None:  # Otsu split the paper's noise: a few pixels of ink hardly move its histogram
        t_outlier = _outlier_threshold(xs)
        if t_outlier > t:
            y = _ink_above(x, surround, t_outlier)
    return y


def _outlier_threshold(xs: np.ndarray) -> float:
    """Where ink begins when it covers only a few pixels: the paper is the median of ``xs`` and
    its noise their median absolute deviation; ink stands NOISE_DEVIATIONS noise deviations (and
    at least MIN_CONTRAST) above it."""
    paper = float(np.median(xs))
    noise = 1.4826 * float(np.median(np.abs(xs - paper)))
    return paper + max(NOISE_DEVIATIONS * noise, MIN_CONTRAST)


def _ink_above(x: np.ndarray, surround: float, t: float) -> np.ndarray | None:
    """The ink of ``x`` whose samples from ``t`` up are roughly ink (values below ``surround``
    are a surround), or None if there is none."""
    h, w = x.shape
    k = _sample_step(x)
    xs = x[::k, ::k]
    rough = x >= t
    if k > 1:  # a sample is ink if any pixel around it is: no thin stroke slips between samples
        rough = ndimage.maximum_filter(rough, size=k)[::k, ::k]
    if not rough.any():
        return None
    distance = ndimage.distance_transform_edt(~rough)  # in samples, from the rough ink
    fringe = max(1.5, _stroke_width(rough))  # anti-aliased edges, blur
    near = distance <= 3 * fringe + 1  # where ink can be
    ring = (distance > fringe) & near & (xs >= surround)
    if ring.sum() < 50:  # ink everywhere, or a tiny image: all the paper there is
        ring = (xs < t) & (xs >= surround)
    residual = x - _paper_surface(x, ring, k)
    rs = residual[::k, ::k]
    inside = near & (xs >= surround)  # paper and ink, not the surround
    t = _otsu(np.clip(rs[inside], 0, 1))  # split again, now that the paper is flat
    paper_r, ink_r = rs[ring], rs[inside & (rs >= t)]
    near_all = np.repeat(np.repeat(near, k, axis=0), k, axis=1)[:h, :w]  # every pixel's
    if ink_r.size < 30:  # few samples: use every pixel
        ink_r = residual[near_all & (x >= surround) & (residual >= t)]
    if ink_r.size == 0:
        return None
    noise = 1.4826 * float(np.median(np.abs(paper_r - np.median(paper_r)))) if paper_r.size else 0
    level = float(np.median(ink_r))  # a typical stroke's ink becomes 1, like MNIST's 255
    floor = max(NOISE_DEVIATIONS * noise, 0.05 * level)
    if level - floor < MIN_CONTRAST:
        return None
    y = np.clip((residual - floor) / (level - floor), 0, 1).astype(np.float32)
    y[(x < surround) | ~near_all] = 0
    return _strokes(y)


def _stroke_width(mask: np.ndarray) -> float:
    """The width of the strokes in ``mask``: 2 area / perimeter (for a long stroke, its width)."""
    perimeter = int((mask & ~ndimage.binary_erosion(mask)).sum())
    return 2 * int(mask.sum()) / max(perimeter, 1)


def _sample_step(x: np.ndarray) -> int:
    """k such that every k-th pixel in both directions, about 128x128 of them, is a sample."""
    return max(1, math.ceil(max(x.shape) / SAMPLE_SIDE))


def _sample(x: np.ndarray) -> np.ndarray:
    """Samples of ``x`` for statistics: every k-th pixel in both directions."""
    k = _sample_step(x)
    return x[::k, ::k]


def _otsu(x: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1]: the cut that best separates two classes (largest
    between-class variance), on a 256-bin histogram."""
    counts = np.bincount(np.clip(x * 255 + 0.5, 0, 255).astype(np.intp).ravel(), minlength=256)
    levels = np.arange(256) / 255.0
    w0 = np.cumsum(counts)  # pixels at or below each level
    w1 = w0[-1] - w0
    s0 = np.cumsum(counts * levels)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[-1] - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float((np.argmax(between) + 0.5) / 255.0)


def _paper_band(xs: np.ndarray) -> tuple[float, float]:
    """(surround, ink): values below ``surround`` are a lighter surround, such as transparent
    margins around a cut-out sheet, and count as paper; values from ``ink`` up are ink.

    Otsu's split first; while its ink side covers more than MAX_INK_FRACTION of the image (more
    than any digit does) and itself splits into a large lower part and a small, clearly higher
    part, the lower part is the paper and everything below it a surround.
    """
    surround, t = -1.0, _otsu(xs)
    for _ in range(2):
        upper = xs[xs >= t]
        if upper.size <= MAX_INK_FRACTION * xs.size:
            break
        t2 = _otsu(upper)
        lower, higher = upper[upper < t2], upper[upper >= t2]
        if not lower.size or higher.size >= lower.size:
            break
        if higher.mean() - lower.mean() < SURROUND_GAP:
            break
        surround, t = t, t2
    return surround, t


def _border(x: np.ndarray) -> np.ndarray:
    """The pixels of a frame about 3% of the image's size wide (at least one pixel)."""
    h, w = x.shape
    k = max(1, round(0.03 * min(h, w)))
    return np.concatenate([x[:k].ravel(), x[-k:].ravel(), x[:, :k].ravel(), x[:, -k:].ravel()])


def _paper_surface(x: np.ndarray, paper: np.ndarray, k: int) -> np.ndarray | float:
    """A quadratic surface a + b u + c v + d u^2 + e uv + f v^2 fitted (least squares) to the
    paper samples of ``x`` (``paper`` marks them in ``x[::k, ::k]``); their median if few."""
    xs = x[::k, ::k]
    if paper.sum() < 50:
        return float(np.median(xs[paper])) if paper.any() else 0.0
    h, w = x.shape
    rows, cols = np.nonzero(paper)
    u = rows * (2 * k / max(h - 1, 1)) - 1  # coordinates in [-1, 1]
    v = cols * (2 * k / max(w - 1, 1)) - 1
    A = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)
    coef = np.linalg.solve(A.T @ A + 1e-9 * np.eye(6), A.T @ xs[rows, cols].astype(np.float64))
    a, b, c, d, e, f = coef.astype(np.float32)
    U = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    V = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    return (a + b * U + d * U * U) + (c + e * U + f * V) * V


def _strokes(y: np.ndarray) -> np.ndarray | None:
    """``y`` without specks and surrounds. A connected piece of ink is a speck if it holds less
    than SPECK_FRACTION of the largest piece's ink, or never reaches a quarter of a full stroke
    (a faint smudge); it is a surround if it covers more than SURROUND_BORDER of the image's
    border (a table around a sheet), unless nothing else is left."""
    labels, n = ndimage.label(y > 0, structure=np.ones((3, 3)))
    if n == 0:
        return None
    mass = np.bincount(labels.ravel(), weights=y.ravel(), minlength=n + 1)
    mass[0] = 0
    on_border = _border(labels)
    cover = np.bincount(on_border, minlength=n + 1) / on_border.size
    cover[0] = 0
    surround = cover > SURROUND_BORDER
    if mass[~surround].max() > 0:
        mass[surround] = 0
    strong = np.bincount(labels[y >= 0.25], minlength=n + 1) > 0
    if (mass * strong).max() > 0:
        mass *= strong
    keep = mass >= SPECK_FRACTION * mass.max()
    keep[0] = False
    if keep[1:].all():
        return y
    return np.where(keep[labels], y, np.float32(0))


def _thickness(y: np.ndarray) -> float:
    """How thick the ink is for its size: 2 area / perimeter (a stroke's width) over the longer
    side of its bounding box. A digit's strokes give 0.1 to 0.25; a filled rectangle 0.5."""
    mask = y >= 0.5
    if not mask.any():
        mask = y > 0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return _stroke_width(mask) / (max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)


def _crop(y: np.ndarray) -> np.ndarray:
    """``y`` cut down to the bounding box of its ink."""
    rows = np.flatnonzero(y.any(axis=1))
    cols = np.flatnonzero(y.any(axis=0))
    return y[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _thicken(y: np.ndarray) -> np.ndarray:
    """Pen strokes much thinner than MNIST's widened to a typical MNIST stroke, else ``y`` itself.

    MNIST's writers used pens that left strokes about a tenth of the digit's height wide (2 to 3
    pixels of 20); a ballpoint photographed close up leaves a fortieth, which the network has never
    seen. Strokes narrower than MIN_STROKE of the digit's size grow (by the distance transform, with
    a soft edge) to TYPICAL_STROKE. Crops under 40 pixels are too coarse to measure and are kept.
    """
    size = max(y.shape)
    mask = y >= 0.5
    if size < 40 or not mask.any():
        return y
    width = _stroke_width(mask)
    if width >= MIN_STROKE * size:
        return y
    grow = (TYPICAL_STROKE * size - width) / 2
    pad = math.ceil(grow) + 1
    y, mask = np.pad(y, pad), np.pad(mask, pad)
    distance = ndimage.distance_transform_edt(~mask)
    y = np.maximum(y, np.clip(grow + 0.5 - distance, 0, 1).astype(np.float32))
    return _crop(y)


def _fit_and_centre(y: np.ndarray) -> np.ndarray:
    """The cropped ink ``y`` scaled so that its longer side spans 20 pixels and placed in 28x28
    with its centre of mass at (14, 14): one LANCZOS resampling of the exact region needed.

    A digit whose centre of mass is far from the middle of its box is moved only as far as keeps
    the whole box inside the 28x28 field.
    """
    factor = max(y.shape) // (8 * MNIST_BOX)
    if factor > 1:  # first average blocks of pixels, to resample fewer
        y = np.asarray(Image.fromarray(y).reduce(factor), dtype=np.float32)
    h, w = y.shape
    scale = MNIST_BOX / max(h, w)  # output pixels per input pixel
    cy, cx = ndimage.center_of_mass(y)
    # Pillow's coordinates run along pixel edges: pixel i covers [i, i + 1), centre i + 0.5.
    # An input point p lands at offset + p * scale; the centre of mass must land at 14.5.
    top = min(max(MNIST_CENTRE + 0.5 - (cy + 0.5) * scale, 0.0), MNIST_SIZE - h * scale)
    left = min(max(MNIST_CENTRE + 0.5 - (cx + 0.5) * scale, 0.0), MNIST_SIZE - w * scale)
    x0, y0 = -left / scale, -top / scale  # the input region that fills the 28x28 field
    x1, y1 = x0 + MNIST_SIZE / scale, y0 + MNIST_SIZE / scale
    pad = [max(0, math.ceil(-y0)), max(0, math.ceil(y1 - h)), max(0, math.ceil(-x0)),
           max(0, math.ceil(x1 - w))]  # fmt: skip
    padded = np.pad(y, ((pad[0], pad[1]), (pad[2], pad[3])))
    box = (x0 + pad[2], y0 + pad[0], x1 + pad[2], y1 + pad[0])
    out = Image.fromarray(padded).resize(
        (MNIST_SIZE, MNIST_SIZE), Image.Resampling.LANCZOS, box=box
    )
    return np.clip(np.asarray(out, dtype=np.float32), 0, 1)
