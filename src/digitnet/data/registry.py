"""The datasets digitnet knows: where to get them, what their files are, and how to check them.

Each dataset is four IDX files (train images, train labels, test images, test labels). A file is
identified by the size, sha256 and md5 of its *decompressed* content: mirrors recompress the
``.gz`` archives, so the archive's own checksum says nothing about the data inside.

``DATASETS`` is the one place where a dataset name (as typed on the command line) becomes its
description; :func:`get` turns an unknown name into a one-line :class:`DigitnetError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from digitnet.errors import DigitnetError

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
ROWS = COLS = 28
N_TRAIN = 60_000
N_TEST = 10_000


@dataclass(frozen=True)
class FileSpec:
    """One IDX file of a dataset, as it is after decompression.

    ``sha256`` and ``md5`` are ``None`` when no trusted value is published (then size and format
    are all that can be checked).
    """

    name: str  # e.g. "train-images-idx3-ubyte"; on mirrors it is "<name>.gz"
    kind: Literal["images", "labels"]
    split: Literal["train", "test"]
    count: int
    size: int  # bytes, decompressed
    sha256: str | None
    md5: str | None

    @property
    def candidates(self) -> tuple[str, ...]:
        """File names under which this file may be found in a folder, preferred first."""
        dotted = self.name.replace("-idx", ".idx")  # as some unzip tools on Windows leave them
        return (f"{self.name}.gz", self.name, f"{dotted}.gz", dotted)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset in the MNIST format: its name, files, mirrors and class names."""

    name: str  # the folder name and the command-line name, e.g. "fashion-mnist"
    title: str  # for people, e.g. "Fashion-MNIST"
    mirrors: tuple[str, ...]  # base URLs, each ending in "/", tried in order
    files: tuple[FileSpec, ...]  # train images, train labels, test images, test labels
    class_names: tuple[str, ...]
    license: str
    homepage: str

    @property
    def verified_by_checksum(self) -> bool:
        """True when every file has a published sha256 of its decompressed content."""
        return all(f.sha256 is not None for f in self.files)

    def file(self, split: str, kind: str) -> FileSpec:
        """The file holding ``kind`` ("images" or "labels") of ``split`` ("train" or "test")."""
        for f in self.files:
            if f.split == split and f.kind == kind:
                return f
        raise KeyError((split, kind))


def _files(sums: Mapping[str, tuple[str | None, str | None]]) -> tuple[FileSpec, ...]:
    """The four standard files, with (sha256, md5) of each decompressed file from ``sums``."""
    layout = [
        ("train-images-idx3-ubyte", "images", "train", N_TRAIN),
        ("train-labels-idx1-ubyte", "labels", "train", N_TRAIN),
        ("t10k-images-idx3-ubyte", "images", "test", N_TEST),
        ("t10k-labels-idx1-ubyte", "labels", "test", N_TEST),
    ]
    specs = []
    for name, kind, split, count in layout:
        size = 16 + count * ROWS * COLS if kind == "images" else 8 + count
        sha256, md5 = sums[name]
        specs.append(FileSpec(name, kind, split, count, size, sha256, md5))  # type: ignore[arg-type]
    return tuple(specs)


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    files=_files(
        {
            "train-images-idx3-ubyte": (
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "6bbc9ace898e44ae57da46a324031adb",
            ),
            "train-labels-idx1-ubyte": (
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "a25bea736e30d166cdddb491f175f624",
            ),
            "t10k-images-idx3-ubyte": (
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "2646ac647ad5339dbf082846283269ea",
            ),
            "t10k-labels-idx1-ubyte": (
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                "27ae3e4e09519cfbb04c329615203637",
            ),
        }
    ),
    class_names=tuple(str(d) for d in range(10)),
    license="CC BY-SA 3.0",
    homepage="http://yann.lecun.com/exdb/mnist/",
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    files=_files(
        {
            "train-images-idx3-ubyte": (
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            ),
            "train-labels-idx1-ubyte": (
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "9018921c3c673c538a1fc5bad174d6f9",
            ),
            "t10k-images-idx3-ubyte": (
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "8181f5470baa50b63fa0f6fddb340f0a",
            ),
            "t10k-labels-idx1-ubyte": (
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                "15d484375f8d13e6eb1aabb0c3f46965",
            ),
        }
    ),
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    license="MIT",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)

# KMNIST (Kuzushiji-MNIST, Clanuwat et al. 2018). Its authors and the libraries that mirror it
# publish checksums of the .gz archives only (e.g. md5 bdb82020997e1d708af4cf47b453dcf7 for
# train-images-idx3-ubyte.gz), never of the decompressed files, and a recompressed archive has a
# different checksum. So KMNIST files are verified by their exact decompressed size and a full
# IDX format check (magic, dimensions, byte count, labels 0..9, counts agree) only; the checksum
# digitnet reports for KMNIST is computed from the content it actually read.
KMNIST = DatasetSpec(
    name="kmnist",
    title="Kuzushiji-MNIST",
    mirrors=(
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        "https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
    ),
    files=_files(
        {
            "train-images-idx3-ubyte": (None, None),
            "train-labels-idx1-ubyte": (None, None),
            "t10k-images-idx3-ubyte": (None, None),
            "t10k-labels-idx1-ubyte": (None, None),
        }
    ),
    # One hiragana for each of the ten rows of the syllabary, romanised:
    # お き す つ な は ま や れ を.
    class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    license="CC BY-SA 4.0",
    homepage="https://github.com/rois-codh/kmnist",
)

DATASETS: Mapping[str, DatasetSpec] = MappingProxyType(
    {spec.name: spec for spec in (MNIST, FASHION_MNIST, KMNIST)}
)


def get(name: str) -> DatasetSpec:
    """The registered dataset called ``name``; a one-line error listing the known names if none."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise DigitnetError(f"unknown dataset {name!r}: choose one of {known}") from None
