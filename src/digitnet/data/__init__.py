"""The datasets: MNIST and its siblings, read, verified, split and augmented.

``load(name)`` gives a :class:`Dataset` of float32 images and integer labels, from the first
place that has the full data (``data_dir``, ``$DIGITNET_DATA``, the user cache) or, for MNIST,
from the sample shipped inside the package. ``fetch`` and ``import_dir`` fill the cache;
``augment_batch`` disturbs a mini-batch on the fly. Nothing here downloads on import or on
``load`` unless asked to.
"""

from digitnet.data.augment import Augmentation, augment_batch
from digitnet.data.fetch import fetch, import_dir
from digitnet.data.idx import read_images, read_labels, read_pair
from digitnet.data.load import Dataset, load, load_embedded
from digitnet.data.registry import DATASETS, DatasetSpec, FileSpec
from digitnet.data.sources import cache_dir

__all__ = [
    "DATASETS",
    "Augmentation",
    "Dataset",
    "DatasetSpec",
    "FileSpec",
    "augment_batch",
    "cache_dir",
    "fetch",
    "import_dir",
    "load",
    "load_embedded",
    "read_images",
    "read_labels",
    "read_pair",
]
