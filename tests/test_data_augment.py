"""Augmentation: seeded, shape- and range-preserving, and each part doing what it says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from digitnet.data import Augmentation, augment_batch, load_embedded
from digitnet.data.augment import _gaussian_matrix, elastic_field, shift, warp
from digitnet.errors import DigitnetError

FULL = Augmentation(translate=2, rotate=10.0, elastic_alpha=8.0, elastic_sigma=4.0)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """200 real digits from the embedded sample, float32 (200, 784)."""
    return np.array(load_embedded(validation=0).X_train[:200])


def centre_of_mass(X: np.ndarray) -> np.ndarray:
    """(n, 2) centre of mass (row, column) of each image."""
    images = X.reshape(-1, 28, 28).astype(np.float64)
    mass = images.sum(axis=(1, 2))
    rows = (images.sum(axis=2) * np.arange(28)).sum(axis=1) / mass
    cols = (images.sum(axis=1) * np.arange(28)).sum(axis=1) / mass
    return np.stack([rows, cols], axis=1)


def images_of(X: np.ndarray) -> np.ndarray:
    return X.reshape(-1, 28, 28)


def test_same_seed_same_output(digits: np.ndarray) -> None:
    a = augment_batch(digits, FULL, np.random.default_rng(7))
    b = augment_batch(digits, FULL, np.random.default_rng(7))
    c = augment_batch(digits, FULL, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_shape_dtype_range_and_input_untouched(digits: np.ndarray) -> None:
    before = digits.copy()
    out = augment_batch(digits.astype(np.float64), FULL, np.random.default_rng(0))
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(digits, before)
    assert not np.array_equal(out, digits)
    assert augment_batch(digits[:0], FULL, np.random.default_rng(0)).shape == (0, 784)


def test_all_zero_is_a_copy(digits: np.ndarray) -> None:
    off = Augmentation(translate=0, rotate=0.0, elastic_alpha=0.0)
    assert not off.enabled
    out = augment_batch(digits, off, np.random.default_rng(0))
    assert np.array_equal(out, digits) and out is not digits and out.dtype == np.float32


def test_flip_mirrors_about_half_the_images_left_to_right(digits: np.ndarray) -> None:
    flip = Augmentation(translate=0, rotate=0.0, flip=True)
    assert flip.enabled
    out = images_of(augment_batch(digits, flip, np.random.default_rng(3)))
    original = images_of(digits)
    mirrored = (out == original[:, :, ::-1]).all(axis=(1, 2))
    unchanged = (out == original).all(axis=(1, 2))
    assert np.all(mirrored | unchanged)
    assert 70 < mirrored.sum() < 130  # of 200, with probability 1/2 each


def test_translation_moves_the_centre_of_mass(digits: np.ndarray) -> None:
    images = digits.reshape(-1, 28, 28)
    margin = np.ones((28, 28), bool)
    margin[2:-2, 2:-2] = False
    digits = digits[~(images[:, margin] > 0).any(axis=1)]  # no ink a shift could push out
    assert len(digits) > 150
    shifted = warp(digits, shifts=np.tile([2, -1], (len(digits), 1)))
    assert np.allclose(centre_of_mass(shifted) - centre_of_mass(digits), [2, -1], atol=1e-4)
    assert np.array_equal(shifted.reshape(-1, 28, 28)[:, 2:, :-1], images_of(digits)[:, :-2, 1:])
    # Random shifts: each image moves by whole pixels within +-2, and keeps all its ink.
    out = augment_batch(digits, Augmentation(translate=2, rotate=0.0), np.random.default_rng(1))
    moved = centre_of_mass(out) - centre_of_mass(digits)
    assert np.allclose(moved, np.round(moved), atol=1e-4)
    assert np.abs(moved).max() <= 2 + 1e-4
    assert len({tuple(m) for m in np.round(moved).astype(int)}) > 10  # many different shifts
    assert np.allclose(out.sum(axis=1), digits.sum(axis=1), rtol=1e-5)


@pytest.mark.parametrize("t", [1, 2, 5])
def test_whole_pixel_shifts_copy_exactly_what_interpolation_gives(digits: np.ndarray, t) -> None:
    rng = np.random.default_rng(t)
    shifts = rng.integers(-t, t + 1, size=(len(digits), 2))
    assert np.array_equal(shift(digits, shifts), warp(digits, shifts=shifts))
    # and the augmentation's shift-only path draws the same shifts as the general one would
    out = augment_batch(digits, Augmentation(translate=t, rotate=0.0), np.random.default_rng(4))
    drawn = np.random.default_rng(4).integers(-t, t + 1, size=(len(digits), 2))
    assert np.array_equal(out, warp(digits, shifts=drawn))


def test_erase_blanks_one_rectangle_in_about_the_chosen_share_of_images() -> None:
    X = np.full((400, 784), 0.5, np.float32)  # all grey: every blanked pixel shows
    out = augment_batch(
        X, Augmentation(translate=0, rotate=0.0, erase=0.5), np.random.default_rng(2)
    )
    changed = (out != X).any(axis=1)
    assert 160 < changed.sum() < 240  # of 400, with probability 1/2 each
    for image in out[changed].reshape(-1, 28, 28):
        rows, cols = np.nonzero(image == 0)
        box = image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (box == 0).all()  # one solid rectangle, and nothing else touched
        assert (image != 0).sum() + box.size == 784
        assert 0.01 * 784 <= box.size <= 0.3 * 784
    assert set(np.unique(out)) == {0.0, 0.5}
    with pytest.raises(DigitnetError, match="erase"):
        Augmentation(erase=1.5)


def test_rotation_by_a_quarter_turn_is_rot90(digits: np.ndarray) -> None:
    turned = warp(digits[:5], angles=np.full(5, np.pi / 2))
    expected = np.rot90(digits[:5].reshape(5, 28, 28), k=1, axes=(1, 2)).reshape(5, 784)
    assert np.allclose(turned, expected, atol=1e-5)


def test_small_rotations_keep_the_ink(digits: np.ndarray) -> None:
    out = augment_batch(digits, Augmentation(translate=0, rotate=10.0), np.random.default_rng(2))
    assert np.allclose(out.sum(axis=1), digits.sum(axis=1), rtol=0.05)
    shift = np.abs(centre_of_mass(out) - centre_of_mass(digits)).max()
    assert shift < 1.5  # rotation is about the image centre, close to the digit's


def test_elastic_smoothing_is_a_zero_padded_gaussian() -> None:
    sigma = 4.0
    G = _gaussian_matrix(sigma)
    radius = int(4 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    x = np.random.default_rng(3).uniform(-1, 1, 28)
    assert np.allclose(G @ x, np.convolve(x, kernel, mode="full")[radius : radius + 28], atol=1e-6)
    field = elastic_field(64, alpha=34.0, sigma=sigma, rng=np.random.default_rng(4))
    assert field.shape == (64, 2, 28, 28)
    assert 0 < np.abs(field).mean() < 34  # smoothed noise is much smaller than alpha
    # Neighbouring displacements are nearly equal: the field is smooth.
    assert np.abs(np.diff(field, axis=-1)).mean() < 0.2 * np.abs(field).mean()


def test_elastic_only(digits: np.ndarray) -> None:
    aug = Augmentation(translate=0, rotate=0.0, elastic_alpha=34.0, elastic_sigma=4.0)
    out = augment_batch(digits, aug, np.random.default_rng(5))
    assert out.min() >= 0 and out.max() <= 1
    change = np.abs(out - digits).mean(axis=1)
    assert (change > 0).all()
    # Stretching here and squeezing there: the ink of each image changes, but not on average.
    ratio = out.sum(axis=1) / digits.sum(axis=1)
    assert 0.9 < ratio.mean() < 1.1 and ratio.min() > 0.4


def test_bad_parameters() -> None:
    for kwargs in (
        {"translate": -1},
        {"translate": 2.5},
        {"translate": 40},
        {"rotate": -3.0},
        {"rotate": float("nan")},
        {"rotate": 200.0},
        {"elastic_alpha": 5.0, "elastic_sigma": 0.0},
        {"elastic_alpha": "34"},
        {"scale": -0.1},
        {"scale": 1.0},
        {"scale": float("inf")},
    ):
        with pytest.raises(DigitnetError):
            Augmentation(**kwargs)
    assert Augmentation(translate=2.0).translate == 2  # a whole number from a JSON file
    with pytest.raises(ValueError, match="784"):
        augment_batch(np.zeros((3, 28, 28), np.float32), FULL, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        augment_batch(np.zeros((3, 784), np.float32), FULL, np.random.RandomState(0))


def test_large_batches_are_processed_in_chunks(digits: np.ndarray) -> None:
    X = np.tile(digits, (25, 1))  # 5,000 images: more than one chunk
    out = augment_batch(X, FULL, np.random.default_rng(6))
    assert out.shape == X.shape and out.min() >= 0 and out.max() <= 1
    assert not np.array_equal(out[:200], out[200:400])  # every image gets its own draw


def test_elastic_fields_have_the_covariance_of_smoothed_pixel_noise() -> None:
    """The fields are drawn in the smoothing's leading directions (A M A^T) instead of as
    G N G^T from 784 noise values: their covariance must still be that of G N G^T,
    E[d_ij d_kl] = alpha^2 / 3 (G G^T)_ik (G G^T)_jl, with N uniform on [-1, 1] (variance 1/3)."""
    sigma, alpha, n = 4.0, 34.0, 20_000
    G = _gaussian_matrix(sigma).astype(np.float64)
    C = G @ G.T  # (28, 28): covariance of one smoothed direction, per unit noise variance
    field = elastic_field(n, alpha, sigma, np.random.default_rng(11)).astype(np.float64)
    rows = field[:, 0].reshape(n, -1)  # (n, 784) row displacements
    measured = rows.T @ rows / n  # (784, 784)
    expected = alpha**2 / 3 * np.kron(C, C)
    assert np.abs(rows.mean(axis=0)).max() < 0.05 * np.sqrt(expected.diagonal().max())
    scale = expected.diagonal().max()
    assert np.abs(measured - expected).max() < 0.05 * scale
    # the two components are independent draws
    cross = field[:, 0].reshape(n, -1).T @ field[:, 1].reshape(n, -1) / n
    assert np.abs(cross).max() < 0.05 * scale


def spread(X: np.ndarray) -> np.ndarray:
    """(n, 2) standard deviation of each image's ink along the rows and along the columns."""
    images = X.reshape(-1, 28, 28).astype(np.float64)
    mass = images.sum(axis=(1, 2))
    centre = centre_of_mass(X)
    index = np.arange(28)
    rows = (images.sum(axis=2) * (index - centre[:, :1]) ** 2).sum(axis=1) / mass
    cols = (images.sum(axis=1) * (index - centre[:, 1:]) ** 2).sum(axis=1) / mass
    return np.sqrt(np.stack([rows, cols], axis=1))


def test_scaling_stretches_height_and_width_by_their_own_factors(digits: np.ndarray) -> None:
    n = len(digits)
    scales = np.tile([1.2, 0.8], (n, 1))  # taller and narrower
    ratio = spread(warp(digits, scales=scales)) / spread(digits)
    assert np.allclose(np.median(ratio, axis=0), [1.2, 0.8], atol=0.03)
    # about the centre of the image: the digit's centre moves by the factor too, little
    moved = np.abs(centre_of_mass(warp(digits, scales=scales)) - centre_of_mass(digits))
    assert np.median(moved) < 0.5


def test_a_scale_of_one_changes_nothing_bit_for_bit(digits: np.ndarray) -> None:
    """Recipes without scaling resample exactly as before it existed: multiplying by 1 is exact,
    and augment_batch draws no scales from the generator."""
    rng = np.random.default_rng(21)
    angles = np.deg2rad(rng.uniform(-10, 10, len(digits)))
    ones = np.ones((len(digits), 2))
    assert np.array_equal(warp(digits, angles=angles, scales=ones), warp(digits, angles=angles))
    generator = np.random.default_rng(22)
    augment_batch(digits, Augmentation(translate=2, rotate=10.0, scale=0.0), generator)
    untouched = np.random.default_rng(22)
    augment_batch(digits, Augmentation(translate=2, rotate=10.0), untouched)
    assert generator.random() == untouched.random()


def test_random_scales_stay_in_their_range(digits: np.ndarray) -> None:
    aug = Augmentation(translate=0, rotate=0.0, scale=0.2)
    out = augment_batch(digits, aug, np.random.default_rng(23))
    ratio = spread(out) / spread(digits)
    assert ratio.min() > 0.75 and ratio.max() < 1.25  # within 1 -/+ 0.2, with resampling's blur
    assert ratio[:, 0].std() > 0.05 and ratio[:, 1].std() > 0.05  # each image its own draw
    assert abs(np.corrcoef(ratio[:, 0], ratio[:, 1])[0, 1]) < 0.3  # height and width apart


@pytest.mark.parametrize("parts", ["shifts", "angles", "scales", "fields", "all", "far"])
def test_the_compiled_resampling_gives_numpys_images(digits: np.ndarray, parts: str) -> None:
    """digitnet.engine.augment does warp_numpy's float32 arithmetic in the same order: the
    same images, bit for bit, including positions far outside the image."""
    from digitnet.data.augment import warp_numpy
    from digitnet.engine.augment import compiled_warp

    assert compiled_warp() is not None  # Numba is installed by make test (digitnet[fast])
    rng = np.random.default_rng(12)
    n = len(digits)
    shifts = rng.integers(-3, 4, size=(n, 2)) if parts in ("shifts", "all", "far") else None
    spread = 180.0 if parts == "far" else 15.0
    angles = None
    if parts in ("angles", "all", "far"):
        angles = np.deg2rad(rng.uniform(-spread, spread, n))
    fields = None
    if parts in ("fields", "all", "far"):
        fields = elastic_field(n, 34.0 * (8 if parts == "far" else 1), 4.0, rng)
    scales = None
    if parts in ("scales", "all", "far"):
        scales = rng.uniform(0.1 if parts == "far" else 0.8, 1.2, size=(n, 2))
    a = warp(digits, shifts, angles, fields, scales)
    b = warp_numpy(digits, shifts, angles, fields, scales)
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape == digits.shape
    assert np.array_equal(a, b)
    assert not np.array_equal(a, digits)


def test_without_numba_augmentation_runs_in_numpy(digits: np.ndarray, monkeypatch) -> None:
    import sys

    from digitnet.engine import augment as compiled

    expected = augment_batch(digits, FULL, np.random.default_rng(13))
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    monkeypatch.setattr(compiled, "_KERNEL", [])
    assert compiled.compiled_warp() is None
    assert np.array_equal(augment_batch(digits, FULL, np.random.default_rng(13)), expected)


def test_training_builds_the_compiled_resampling_before_its_first_epoch(monkeypatch) -> None:
    """The compile (or cache load) is counted in History.compile_seconds, not in an epoch."""
    from digitnet import Network, TrainConfig, train
    from digitnet.engine import augment as compiled

    monkeypatch.setattr(compiled, "_KERNEL", [])
    calls: list[int] = []
    real = compiled.compiled_warp
    monkeypatch.setattr(compiled, "compiled_warp", lambda: calls.append(1) or real())
    data = load_embedded(validation=0)
    net = Network([784, 8, 10], seed=0)
    config = TrainConfig(epochs=1, batch_size=50, lr=0.1, augment=FULL)
    history = train(net, data.X_train[:100], data.y_train[:100], config)
    assert len(calls) >= 1 and compiled._KERNEL  # built before the loop
    assert isinstance(history.compile_seconds, float) and math.isfinite(history.compile_seconds)
