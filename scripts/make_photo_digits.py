"""Make "photos" of MNIST digits: dark ink on light, noisy paper, large and off-centre.

Each MNIST test image is inverted (dark ink on light paper), enlarged to 200-600 pixels with a
random aspect-preserving scale, placed off-centre on a sheet up to 1.6 times larger, given paper
texture, grain and a brightness gradient, and saved as a grey, RGB or RGBA PNG, or an RGB JPEG
(quality 85).
``tests/test_preprocess.py`` uses :func:`photo` to check that :func:`digitnet.preprocess.to_mnist`
turns such photos back into what the network knows.

Usage::

    python scripts/make_photo_digits.py OUT_DIR [--count 8] [--data-dir ../shared/data]
        [--size 160 240] [--seed 0] [--prepared]

writes ``OUT_DIR/photo-<index>-<label>-<format>.{png,jpg}``, small enough for a README, and with
``--prepared`` what ``to_mnist`` makes of each, ``...-mnist.png``. The sample in
``docs/photo-digits/`` was made with ``--count 4 --size 100 130 --prepared``.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np
from PIL import Image

FORMATS = ("png-grey", "png-rgb", "png-rgba", "jpeg")
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_idx(path: Path) -> np.ndarray:
    """The uint8 array in an IDX file, gzip-compressed or not: images (n, 28, 28), labels (n,)."""
    raw = path.read_bytes()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def photo(
    digit: np.ndarray,
    rng: np.random.Generator,
    fmt: str = "png-grey",
    size: tuple[int, int] = (200, 600),
) -> Image.Image:
    """A photo-like picture of the MNIST ``digit`` (uint8 (28, 28), ink 255).

    The 28x28 field becomes ``size[0]``..``size[1]`` pixels wide; the sheet is 1.15 to 1.6 times
    larger in each direction, so the digit sits off-centre. ``fmt`` chooses the image mode (one of
    :data:`FORMATS`): "L" for png-grey, "RGB" for png-rgb and jpeg, "RGBA" for png-rgba, whose
    paper is either see-through (only the ink is opaque) or a cut-out sheet with transparent,
    black margins.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    side = int(rng.integers(size[0], size[1] + 1))
    H, W = (int(side * rng.uniform(1.15, 1.6)) for _ in range(2))
    top, left = int(rng.integers(0, H - side + 1)), int(rng.integers(0, W - side + 1))
    ink = Image.new("L", (W, H), 0)  # how much ink covers each pixel
    ink.paste(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC), (left, top))

    # paper: a level, a brightness gradient and a blotchy texture (all smooth, so made on a 6x6
    # grid and enlarged), then fine grain on every pixel
    u = np.linspace(-0.5, 0.5, 6, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    smooth = (
        rng.uniform(0.72, 0.95)
        + rng.uniform(0.03, 0.12) * (np.cos(angle) * u[:, None] + np.sin(angle) * u[None, :])
        + rng.uniform(0.005, 0.02) * rng.standard_normal((6, 6), dtype=np.float32)
    )
    paper = np.asarray(Image.fromarray(smooth).resize((W, H), Image.Resampling.BICUBIC))
    paper = paper + rng.standard_normal((H, W), dtype=np.float32) * rng.uniform(0.01, 0.04)
    paper_l = Image.fromarray(np.clip(paper * 255 + 0.5, 0, 255).astype(np.uint8))

    if fmt == "png-grey":
        ink_level = int(rng.uniform(0.05, 0.3) * 255)
        return Image.composite(Image.new("L", (W, H), ink_level), paper_l, ink)
    tint = (1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 1.0))  # warm paper
    paper_rgb = Image.merge("RGB", [paper_l.point(lambda v, t=t: v * t) for t in tint])
    colours = [(25, 25, 25), (25, 38, 115), (13, 13, 64)]  # black, blue or dark blue ink
    colour = colours[int(rng.integers(len(colours)))]
    rgb = Image.composite(Image.new("RGB", (W, H), colour), paper_rgb, ink)
    if fmt in ("png-rgb", "jpeg"):
        return rgb
    if rng.random() < 0.5:  # ink on a see-through background, as a drawing exported with alpha
        see_through = Image.new("RGBA", (W, H), colour)
        see_through.putalpha(ink)
        return see_through
    # a cut-out sheet: opaque paper in the middle, transparent black margins around it
    m = max(1, min(top, left, H - top - side, W - left - side) // 2)
    alpha = Image.new("L", (W, H), 0)
    alpha.paste(255, (m, m, W - m, H - m))
    sheet = Image.composite(rgb, Image.new("RGB", (W, H), 0), alpha)
    sheet.putalpha(alpha)
    return sheet


def save(im: Image.Image, path: Path, fmt: str) -> Path:
    """Save ``im`` as ``path`` with the suffix of ``fmt`` (.jpg at quality 85, or .png)."""
    if fmt == "jpeg":
        path = path.with_suffix(".jpg")
        im.save(path, quality=85)
    else:
        path = path.with_suffix(".png")
        im.save(path, compress_level=1)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the images into")
    parser.add_argument("--count", type=int, default=8, help="how many images (default 8)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="folder holding mnist/")
    parser.add_argument("--size", type=int, nargs=2, default=(160, 240), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--prepared",
        action="store_true",
        help="also write what digitnet.preprocess.to_mnist makes of each photo, *-mnist.png "
        "(28x28 enlarged 4 times, white ink on black as in MNIST)",
    )
    args = parser.parse_args(argv)
    try:
        images = read_idx(args.data_dir / "mnist" / "t10k-images-idx3-ubyte.gz")
        labels = read_idx(args.data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz")
    except OSError as err:
        print(f"error: cannot read MNIST in {args.data_dir}: {err}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for i in range(args.count):
        fmt = FORMATS[i % len(FORMATS)]
        path = save(
            photo(images[i], rng, fmt, tuple(args.size)),
            args.out / f"photo-{i}-{labels[i]}-{fmt}",
            fmt,
        )
        print(path)
        if args.prepared:
            from digitnet.preprocess import to_mnist

            x = to_mnist(path).reshape(28, 28)
            big = np.kron(np.round(x * 255).astype(np.uint8), np.ones((4, 4), np.uint8))
            prepared = path.with_name(f"{path.stem}-mnist.png")
            Image.fromarray(big).save(prepared, optimize=True)
            print(prepared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
