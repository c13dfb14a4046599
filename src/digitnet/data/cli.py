"""``digitnet data fetch | import | info``: get the datasets into the cache and see what is where.

A thin layer: parse, call one library function, print a few lines, return an exit code. Errors
are :class:`~digitnet.errors.DigitnetError` and become one line on stderr in ``digitnet.cli``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from digitnet.data import idx, sources
from digitnet.data.fetch import FetchResult, fetch, import_dir, verify
from digitnet.data.load import embedded_path, read_embedded
from digitnet.data.registry import DATASETS
from digitnet.errors import DigitnetError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``digitnet data`` and its three commands to the main parser."""
    data = subparsers.add_parser(
        "data",
        help="get, check and list the datasets",
        description="Get the datasets into the cache, check them, and see what is where.",
    )
    data.set_defaults(func=lambda args: _usage(data))
    commands = data.add_subparsers(dest="data_command", metavar="COMMAND", parser_class=type(data))

    fetch_cmd = commands.add_parser(
        "fetch",
        help="download a dataset into the cache, verified",
        description="Download the four IDX files of NAME into the cache, trying each mirror in"
        " turn, and verify their decompressed content before they get their final names.",
    )
    fetch_cmd.add_argument("name", metavar="NAME", choices=list(DATASETS), help=", ".join(DATASETS))
    fetch_cmd.add_argument("--cache-dir", type=Path, metavar="DIR", help=_cache_help())
    fetch_cmd.add_argument(
        "--mirror",
        action="append",
        metavar="URL",
        help="base URL to download from instead of the registry's mirrors (repeatable)",
    )
    fetch_cmd.set_defaults(func=_fetch)

    imp = commands.add_parser(
        "import",
        help="verify files you already have and copy them into the cache",
        description="Verify the IDX files in DIR (gzip or not) and copy them into the cache."
        " DIR holds the four files of one dataset (e.g. /usr/share/datasets/fashion-mnist) or a"
        " folder per dataset (mnist/, fashion-mnist/, kmnist/).",
    )
    imp.add_argument("dir", metavar="DIR", type=Path)
    imp.add_argument("--name", choices=list(DATASETS), help="which dataset DIR holds")
    imp.add_argument("--cache-dir", type=Path, metavar="DIR", help=_cache_help())
    imp.set_defaults(func=_import)

    info = commands.add_parser(
        "info",
        help="show which datasets are available, and where",
        description="Show where each dataset is found, in the order load() searches.",
    )
    info.add_argument("--data-dir", type=Path, metavar="DIR", help="a folder holding mnist/, ...")
    info.add_argument("--verify", action="store_true", help="also check every file's checksum")
    info.set_defaults(func=_info)


def _cache_help() -> str:
    return f"cache folder (default ${sources.ENV_CACHE} or {sources.cache_dir()})"


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fetch(args: argparse.Namespace) -> int:
    result = fetch(args.name, cache_dir=args.cache_dir, mirrors=args.mirror)
    for record in result.files:
        for failure in record.failures:
            print(f"  {record.name}: {failure}")
        print(f"{record.path.name}: {_origin(record.origin)}")
    print(f"{result.spec.title} is ready in {result.folder} ({_verified(result)})")
    return 0


def _import(args: argparse.Namespace) -> int:
    for result in import_dir(args.dir, name=args.name, cache_dir=args.cache_dir):
        origin = result.files[0].origin
        if origin == "already in the cache":
            print(f"{result.spec.title} is already in {result.folder} ({_verified(result)})")
        else:
            src = Path(origin).parent
            print(f"{result.spec.title}: imported {src} into {result.folder} ({_verified(result)})")
    return 0


def _origin(origin: str) -> str:
    return origin if origin == "already in the cache" else f"from {origin}"


def _verified(result: FetchResult) -> str:
    if result.spec.verified_by_checksum:
        return f"{len(result.files)} files verified by sha256"
    return f"{len(result.files)} files checked for size and format; no published checksums"


def _info(args: argparse.Namespace) -> int:
    env = os.environ.get(sources.ENV_DATA)
    print("Searched in this order:")
    if args.data_dir is not None:
        print(f"  --data-dir       {args.data_dir}")
    print(f"  ${sources.ENV_DATA:<15} {env or '(not set)'}")
    print(f"  cache            {sources.cache_dir()}")
    print()
    width = max(len(name) for name in DATASETS)
    status = 0
    for name, spec in DATASETS.items():
        found, _ = sources.locate(spec, args.data_dir)
        if found is None:
            line = f"not found (`digitnet data fetch {name}` or `digitnet data import DIR`)"
        else:
            size = sum(p.stat().st_size for p in found.paths)
            line = f"{found.folder} ({found.place.label}, {size / 1e6:.1f} MB)"
            if args.verify:
                try:
                    for file_spec, path in zip(spec.files, found.paths, strict=True):
                        data = idx.read_bytes(path, max_size=file_spec.size)
                        verify(data, file_spec, str(path), spec.title)
                    line += ", verified" if spec.verified_by_checksum else ", size and format ok"
                except DigitnetError as err:
                    line += f", INVALID: {err}"
                    status = 1
        print(f"{name:<{width}}  {spec.title:<16} {line}")
    path = embedded_path()
    if path.is_file():
        sample = read_embedded()
        n_train, n_test = len(sample["train_labels"]), len(sample["test_labels"])
        line = f"{n_train:,} train / {n_test:,} test, {path.stat().st_size / 1e6:.1f} MB, {path}"
    else:
        line = f"missing ({path}); reinstall digitnet"
        status = 1
    print(f"{'embedded':<{width}}  {'MNIST sample':<16} {line}")
    return status
