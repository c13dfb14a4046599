"""Photos of digits become MNIST digits: the network reads them as well as MNIST's own images.

The photo set is made from the first 1,000 MNIST test images by ``scripts/make_photo_digits.py``
(inverted, enlarged to 200-450 pixels, off-centre on noisy paper with a brightness gradient, saved
as grey, RGB and RGBA PNG and as JPEG; a few much larger photos are checked on their own). A
network trained for two epochs on MNIST must recognise them within 3 points of its accuracy on
the same MNIST images. Then thin pen strokes, every kind of bad input, and property tests.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageDraw, ImageFile
from scipy import ndimage

from digitnet import preprocess
from digitnet.errors import DigitnetError
from digitnet.network import Network
from digitnet.preprocess import from_array, to_mnist
from digitnet.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
N_PHOTOS = 1000
PHOTO_SIZE = (200, 450)  # the 28x28 field becomes this many pixels wide (sheets: up to 720)


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


photos = _load_script("make_photo_digits")


def read_idx(path: Path) -> np.ndarray:
    """uint8 images (n, 28, 28) or labels (n,) from a gzip-compressed IDX file."""
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


@pytest.fixture(scope="module")
def mnist_test(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The first N_PHOTOS MNIST test images, uint8 (n, 28, 28), and their labels."""
    images = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")[:N_PHOTOS]
    labels = read_idx(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz")[:N_PHOTOS]
    return images, labels.astype(np.intp)


@pytest.fixture(scope="module")
def net(shared_data: Path) -> Network:
    """784-100-10 ReLU/softmax, two epochs of momentum SGD on the 60,000 MNIST training images."""
    X = read_idx(shared_data / "mnist" / "train-images-idx3-ubyte.gz").reshape(-1, 784)
    y = read_idx(shared_data / "mnist" / "train-labels-idx1-ubyte.gz").astype(np.intp)
    network = Network(
        [784, 100, 10], activation="relu", output="softmax", cost="cross-entropy", init="he"
    )
    config = TrainConfig(epochs=2, batch_size=32, lr=0.1, optimizer="momentum", monitor=1000)
    train(network, X.astype(np.float32) / 255, y, config)
    return network


@pytest.fixture(scope="module")
def photo_set(tmp_path_factory: pytest.TempPathFactory, mnist_test) -> dict[str, np.ndarray]:
    """Each MNIST test image as a photo file, the formats taking turns, read back by to_mnist.

    Returns ``{"X": (n, 784) to_mnist outputs, "format": (n,) format names, "errors": (n,)
    messages}``; an image to_mnist refuses counts as misread (its X row is 0).
    """
    images, _ = mnist_test
    folder = tmp_path_factory.mktemp("photos")

    def one(i: int) -> tuple[np.ndarray, str]:
        fmt = photos.FORMATS[i % len(photos.FORMATS)]
        rng = np.random.default_rng([2024, i])
        im = photos.photo(images[i], rng, fmt, size=PHOTO_SIZE)
        path = photos.save(im, folder / f"{i}", fmt)
        try:
            return to_mnist(path), ""
        except DigitnetError as err:
            return np.zeros(784, np.float32), str(err)
        finally:
            path.unlink()  # keep the disk use small

    with ThreadPoolExecutor(max_workers=2) as pool:
        X, errors = zip(*pool.map(one, range(len(images))), strict=True)
    fmts = [photos.FORMATS[i % len(photos.FORMATS)] for i in range(len(images))]
    return {"X": np.stack(X), "format": np.array(fmts), "errors": np.array(errors)}


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson's correlation of each row of a with the same row of b."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))


def centre_of_mass(x: np.ndarray) -> np.ndarray:
    return np.array(ndimage.center_of_mass(x.reshape(28, 28)))


# -- real outcomes ---------------------------------------------------------------------------------


def test_the_network_reads_photos_within_3_points_of_mnist(net, mnist_test, photo_set):
    images, labels = mnist_test
    on_mnist = net.predict(images.reshape(-1, 784).astype(np.float32) / 255) == labels
    on_photos = net.predict(photo_set["X"]) == labels
    report = ", ".join(
        f"{fmt} {on_photos[photo_set['format'] == fmt].mean():.3f}"
        f" (mnist {on_mnist[photo_set['format'] == fmt].mean():.3f})"
        for fmt in photos.FORMATS
    )
    refused = [e for e in photo_set["errors"] if e]
    summary = (
        f"mnist {on_mnist.mean():.3f}, photos {on_photos.mean():.3f}: {report}; "
        f"{len(refused)} refused: {refused[:3]}"
    )
    assert len(refused) <= 2, summary
    # observed: mnist 0.959, photos 0.961; grey PNG 0.980 (its MNIST images 0.972), RGB PNG 0.960
    # (0.960), RGBA PNG 0.944 (0.952), JPEG 0.960 (0.952)
    assert on_mnist.mean() > 0.93, summary
    assert on_photos.mean() >= on_mnist.mean() - 0.03, summary
    for fmt in photos.FORMATS:  # 250 images each: allow for the smaller samples
        mine = photo_set["format"] == fmt
        assert on_photos[mine].mean() >= on_mnist[mine].mean() - 0.05, summary


def test_photos_come_out_like_the_mnist_images_they_were_made_from(mnist_test, photo_set):
    images, _ = mnist_test
    read = photo_set["errors"] == ""
    reference = np.stack([from_array(d) for d in images[read]])
    r = correlation(photo_set["X"][read], reference)
    # observed: mean 0.977, 1st percentile 0.937, lowest 0.910
    assert r.mean() > 0.96 and np.percentile(r, 1) > 0.88 and r.min() > 0.8, (r.mean(), r.min())
    X = photo_set["X"][read]
    assert X.dtype == np.float32 and X.shape == (read.sum(), 784)
    assert X.min() >= 0 and X.max() <= 1 and np.all(np.isfinite(X))
    coms = np.array([centre_of_mass(x) for x in X])
    assert np.abs(coms - 14).max() < 0.6


@pytest.mark.parametrize(("fmt", "size"), [("jpeg", 2400), ("png-grey", 1000)])
def test_phone_sized_photos(tmp_path, mnist_test, fmt, size):
    """Photos up to 4000 pixels wide: a JPEG is decoded at a fraction of its size, a PNG is
    reduced after decoding."""
    images, _ = mnist_test
    for i in range(2):
        im = photos.photo(images[i], np.random.default_rng(i), fmt, size=(size, size))
        path = photos.save(im, tmp_path / f"big{i}", fmt)
        x = to_mnist(path)  # how long it takes is a benchmark's question, not a test's
        assert correlation(x[None], from_array(images[i])[None])[0] > 0.95


def test_mnist_images_pass_through_from_array_almost_unchanged(net, mnist_test):
    images, labels = mnist_test
    original = images.reshape(-1, 784).astype(np.float32) / 255
    prepared = np.stack([from_array(d) for d in images])
    r = correlation(prepared, original)
    assert r.mean() > 0.93 and r.min() > 0.75  # observed 0.962 and 0.82 (re-centring to 1/10 px)
    accuracy = [(net.predict(X) == labels).mean() for X in (original, prepared)]
    assert abs(accuracy[0] - accuracy[1]) <= 0.01, accuracy
    # uint8 and float versions of the same image agree
    np.testing.assert_allclose(from_array(images[0]), from_array(original[0].reshape(28, 28)))


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning of a boolean image down to lines one pixel wide."""
    img = np.pad(mask, 1).astype(np.uint8)
    around = [(1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1)]
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = [np.roll(img, shift, axis=(0, 1)) for shift in around]  # north, then clockwise
            b = sum(p)
            a = sum((p[i] == 0) & (p[(i + 1) % 8] == 1) for i in range(8))
            if step == 0:
                c = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                c = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            remove = (img == 1) & (b >= 2) & (b <= 6) & (a == 1) & c
            if remove.any():
                img[remove] = 0
                changed = True
    return img[1:-1, 1:-1].astype(bool)


def pen_drawing(digit: np.ndarray, side: int = 400, pen: int = 5) -> Image.Image:
    """The MNIST ``digit`` redrawn with a thin pen (``pen`` of ``side`` pixels, about 1/60 of the
    digit's height where MNIST's strokes are about 1/8) along its skeleton."""
    big = np.asarray(Image.fromarray(digit).resize((56, 56), Image.Resampling.BICUBIC)) > 100
    rows, cols = np.nonzero(skeleton(big))
    on = set(zip(rows.tolist(), cols.tolist(), strict=True))
    im = Image.new("L", (side, side), 235)
    draw, s = ImageDraw.Draw(im), side / 56
    for r, c in on:
        for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):
            if (r + dr, c + dc) in on:
                ends = [((c + 0.5) * s, (r + 0.5) * s), ((c + dc + 0.5) * s, (r + dr + 0.5) * s)]
                draw.line(ends, fill=40, width=pen)
    return im


def test_thin_pen_strokes_are_widened_to_mnist_strokes(net, mnist_test, monkeypatch):
    images, labels = mnist_test[0][:200], mnist_test[1][:200]
    drawings = [pen_drawing(d) for d in images]
    on_mnist = (net.predict(images.reshape(-1, 784).astype(np.float32) / 255) == labels).mean()
    widened = (net.predict(np.stack([to_mnist(im) for im in drawings])) == labels).mean()
    monkeypatch.setattr(preprocess, "MIN_STROKE", 0.0)  # as they are
    thin = (net.predict(np.stack([to_mnist(im) for im in drawings])) == labels).mean()
    # observed: mnist 0.96, widened 0.95, left thin 0.73
    assert widened >= on_mnist - 0.04 and widened >= thin + 0.1, (on_mnist, widened, thin)


def test_a_thin_stroke_on_its_own_is_kept_wherever_it_lies():
    """A 3-pixel bar apart from the rest of a 7: statistics read every fifth pixel of a 640-pixel
    image, and must not lose it between two rows of samples."""
    bars = []
    for top in range(100, 105):
        im = Image.new("L", (640, 640), 230)
        draw = ImageDraw.Draw(im)
        draw.line([(150, top), (500, top)], fill=30, width=3)
        draw.line([(500, 300), (300, 600)], fill=30, width=3)
        bars.append(int((to_mnist(im).reshape(28, 28)[:10] > 0.3).sum()))
    assert min(bars) >= 20 and max(bars) - min(bars) <= 3, bars


def test_a_dot_of_three_pixels_on_noisy_paper_is_ink():
    """Found by hypothesis: far more paper than ink, and noise, once hid a small mark."""
    for seed in range(20):  # before the fix, more than half of these were "blank"
        a = 0.77 + 0.04 * np.random.default_rng(seed).standard_normal((16, 82))
        a[12, 42:44] = a[13, 44] = 0.2
        x = from_array(np.clip(a, 0, 1))
        np.testing.assert_allclose(centre_of_mass(x), [14, 14], atol=0.75)


# -- what the recipe promises ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def seven(mnist_test) -> np.ndarray:
    return mnist_test[0][0]  # the first test image is a 7


def test_the_digit_fills_20_pixels_and_its_centre_of_mass_is_at_14_14(seven):
    x = from_array(seven).reshape(28, 28)
    rows, cols = np.flatnonzero(x.max(axis=1) > 0.05), np.flatnonzero(x.max(axis=0) > 0.05)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)
    np.testing.assert_allclose(centre_of_mass(x), [14, 14], atol=0.15)


def test_ink_and_paper_are_found_whichever_is_darker(seven):
    light_on_dark = from_array(seven)
    dark_on_light = from_array(255 - seven)
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=1e-5)
    grey_paper = from_array((180 - seven * 0.6).astype(np.uint8))  # grey paper, grey ink
    assert correlation(grey_paper[None], light_on_dark[None])[0] > 0.98


def test_paths_bytes_and_pillow_images_give_the_same_answer(tmp_path, seven):
    im = photos.photo(seven, np.random.default_rng(1), "png-rgb")
    path = tmp_path / "seven.png"
    im.save(path)
    x = to_mnist(path)
    np.testing.assert_array_equal(x, to_mnist(str(path)))
    np.testing.assert_array_equal(x, to_mnist(path.read_bytes()))
    with Image.open(path) as im:
        np.testing.assert_array_equal(x, to_mnist(im))
        assert im.mode == "RGB" and im.size == (im.width, im.height)  # left as it was
    assert correlation(x[None], from_array(seven)[None])[0] > 0.95


def test_transparent_background_counts_as_paper(seven):
    reference = from_array(seven)[None]
    for colour in ((0, 0, 0), (255, 255, 255), (200, 30, 30)):  # dark, white or red ink
        rgba = np.zeros((28, 28, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = seven  # only the ink is opaque
        assert correlation(from_array(rgba)[None], reference)[0] > 0.99, colour
        buffer = io.BytesIO()
        Image.fromarray(rgba).save(buffer, format="PNG")
        assert correlation(to_mnist(buffer.getvalue())[None], reference)[0] > 0.99, colour


def test_palette_and_16_bit_pngs_are_read(tmp_path, seven):
    reference = from_array(seven)[None]
    big = Image.fromarray(255 - seven).resize((280, 280), Image.Resampling.BICUBIC)
    big.convert("P").save(tmp_path / "palette.png")
    Image.fromarray(np.asarray(big).astype(np.uint16) * 257).save(tmp_path / "deep.png")
    for name in ("palette.png", "deep.png"):
        assert correlation(to_mnist(tmp_path / name)[None], reference)[0] > 0.97, name


def test_a_sheet_photographed_on_a_dark_table(seven):
    """The border is the table, not the paper: the dark-ink reading is found all the same."""
    rng = np.random.default_rng(3)
    table = 0.25 + 0.03 * rng.standard_normal((600, 800))
    table[60:560, 150:650] = 0.9 + 0.02 * rng.standard_normal((500, 500))  # the sheet
    ink = np.asarray(Image.fromarray(seven).resize((300, 300), Image.Resampling.BICUBIC)) / 255
    table[150:450, 250:550] = table[150:450, 250:550] * (1 - ink) + 0.15 * ink
    x = from_array(np.clip(table, 0, 1))
    assert correlation(x[None], from_array(seven)[None])[0] > 0.95


def test_exif_orientation_is_applied(tmp_path, seven):
    im = Image.fromarray(255 - seven).resize((200, 200)).rotate(90)  # stored turned left...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with the tag that says "turn it right to view it"
    im.save(tmp_path / "turned.jpg", exif=exif, quality=95)
    x = to_mnist(tmp_path / "turned.jpg")
    assert correlation(x[None], from_array(seven)[None])[0] > 0.95


# -- bad input: one DigitnetError line, naming the file ----------------------------------------


def png_of_zeros(width: int, height: int) -> bytes:
    """A valid 1-bit black PNG of any size, built without holding its pixels in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def assert_one_line_error(call, *words: str) -> str:
    with pytest.raises(DigitnetError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


def test_a_text_file_named_png_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    assert_one_line_error(lambda: to_mnist(path), str(path), "not an image")
    assert_one_line_error(lambda: to_mnist(b"GIF89a nonsense"), "image data", "not an image")


def test_missing_empty_and_folder_paths(tmp_path):
    assert_one_line_error(lambda: to_mnist(tmp_path / "nope.png"), "nope.png", "not found")
    (tmp_path / "empty.png").write_bytes(b"")
    assert_one_line_error(lambda: to_mnist(tmp_path / "empty.png"), "empty.png", "empty")
    assert_one_line_error(lambda: to_mnist(tmp_path), str(tmp_path), "folder")
    assert_one_line_error(lambda: to_mnist(42), "int")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_file_is_refused(tmp_path, seven, fmt):
    buffer = io.BytesIO()
    Image.fromarray(255 - seven).resize((300, 300)).save(buffer, format=fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    assert_one_line_error(lambda: to_mnist(path), str(path), "truncated")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_blank_page_has_no_ink(tmp_path, fmt):
    rng = np.random.default_rng(0)
    paper = np.clip(230 + 3 * rng.standard_normal((400, 300)), 0, 255).astype(np.uint8)
    path = tmp_path / f"blank.{fmt.lower()}"
    Image.fromarray(paper).save(path, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    assert_one_line_error(lambda: to_mnist(path), str(path), "no ink")
    assert_one_line_error(lambda: to_mnist(Image.new("RGBA", (50, 50))), "no ink")  # see-through
    assert_one_line_error(lambda: from_array(np.full((28, 28), 0.5)), "no ink")


def test_a_20000_by_20000_png_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    path.write_bytes(png_of_zeros(20_000, 20_000))  # 400 million pixels in about 50 KB

    def no_decoding(self):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert_one_line_error(lambda: to_mnist(path), str(path), "400,000,000 pixels", "too many")


def test_pillows_own_limit_is_an_error_too_never_a_warning(tmp_path):
    """100 million pixels is over Pillow's warning limit (89 million): even when max_pixels would
    allow it, the answer is a DigitnetError, not a DecompressionBombWarning."""
    path = tmp_path / "big.png"
    path.write_bytes(png_of_zeros(10_000, 10_000))
    assert_one_line_error(lambda: to_mnist(path, max_pixels=10**9), str(path), "too many")


def test_more_pixels_than_max_pixels_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "large.png"
    path.write_bytes(png_of_zeros(8000, 6000))  # under Pillow's own limit, over ours

    def no_decoding(self):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert_one_line_error(lambda: to_mnist(path), str(path), "8000x6000", "40,000,000")
    with Image.open(path) as im:
        assert_one_line_error(lambda: to_mnist(im), "8000x6000")
    assert_one_line_error(lambda: to_mnist(path.read_bytes(), max_pixels=10**6), "8000x6000")


def test_too_many_bytes_is_refused_before_reading(tmp_path, seven):
    buffer = io.BytesIO()
    Image.fromarray(255 - seven).save(buffer, format="PNG")
    data = buffer.getvalue()
    (tmp_path / "seven.png").write_bytes(data)
    assert_one_line_error(lambda: to_mnist(data, max_bytes=100), "image data", "bytes")
    assert_one_line_error(
        lambda: to_mnist(tmp_path / "seven.png", max_bytes=100), "seven.png", "bytes"
    )
    assert to_mnist(data).shape == (784,)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((28,)),
        np.zeros((28, 28, 2)),
        np.zeros((0, 28)),
        np.array([[np.nan, 1.0], [0.0, 0.0]]),
        np.full((4, 4), -3.0),
        np.full((4, 4), "a"),
    ],
    ids=["1-d", "two-channels", "empty", "nan", "negative", "strings"],
)
def test_from_array_refuses_what_is_not_an_image(array):
    assert_one_line_error(lambda: from_array(array), "image array")


# -- properties --------------------------------------------------------------------------------


@st.composite
def drawings(draw) -> np.ndarray:
    """A random grey picture: paper of any shade, a few strokes of ink of another, some noise."""
    h, w = draw(st.integers(8, 120)), draw(st.integers(8, 120))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    paper, ink = draw(st.floats(0, 1)), draw(st.floats(0, 1))
    if abs(paper - ink) < 0.4:
        ink = 1.0 if paper < 0.5 else 0.0
    a = np.full((h, w), paper)
    for _ in range(draw(st.integers(1, 4))):  # straight strokes, 1 to 4 pixels wide
        r0, r1 = rng.integers(0, h, 2)
        c0, c1 = rng.integers(0, w, 2)
        width = int(rng.integers(1, 5))
        if (r0, c0) == (r1, c1):  # a stroke, not a lone pixel: a dot in the noise is a speck
            width = max(width, 2)
        for t in np.linspace(0, 1, 2 * max(h, w)):
            r, c = int(r0 + t * (r1 - r0)), int(c0 + t * (c1 - c0))
            a[r : r + width, c : c + width] = ink
    a += draw(st.floats(0, 0.05)) * rng.standard_normal((h, w))
    return np.clip(a, 0, 1).astype(draw(st.sampled_from([np.float32, np.float64])))


def faint_short_stroke() -> np.ndarray:
    """Hypothesis's find: dark noisy paper (0.05) and one short stroke of ink 0.5, 8 pixels in
    39x35. Otsu's split halves the paper's noise there, so the ink is found as outliers."""
    rng = np.random.default_rng(0)
    a = np.full((39, 35), 0.05)
    a[31:34, 27:29] = 0.5
    a[33, 29:31] = 0.5
    a += 0.049 * rng.standard_normal(a.shape)
    return np.clip(a, 0, 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawings())
@example(faint_short_stroke())
def test_any_drawing_gives_a_centred_mnist_input(a):
    x = from_array(a)
    assert x.shape == (784,) and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and x.min() >= 0 and x.max() <= 1 and x.max() > 0
    image = x.reshape(28, 28)
    com = centre_of_mass(image)
    # the centre of mass is at (14, 14), unless the digit was held back so as not to be cut
    for axis in (0, 1):
        held_back = image.sum(axis=1 - axis)[[0, -1]].max() > 0
        assert abs(com[axis] - 14) < 0.75 or held_back, com


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=40)))
def test_any_array_gives_an_input_or_one_clear_error(a):
    try:
        x = from_array(a)
    except DigitnetError as err:
        assert "\n" not in str(err)
    else:
        assert x.shape == (784,) and np.all(np.isfinite(x)) and x.min() >= 0 and x.max() <= 1
