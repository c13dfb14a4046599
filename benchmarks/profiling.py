"""Where the time of a training epoch goes: py-spy, native frames included, over one epoch.

    .venv/bin/pip install py-spy
    .venv/bin/python benchmarks/profiling.py                  # W1, W4 and best; profile-raw.md

Each workload trains one epoch (five for W1 and W2; 2 threads) in a child process that py-spy
samples 250 times a second with ``--native``, so a sample ends in the C function that was
running: an OpenBLAS GEMM kernel, a NumPy loop, NumPy's dispatch, or the Python interpreter.
Only samples inside ``digitnet.train.train`` count, and not those of its set-up before the
first epoch (building or loading compiled code). ``profile-raw.md`` gets, per workload, the
share of each kind and the lines of digitnet that the samples were under; RESULTS.md includes it.
"""

from __future__ import annotations

import argparse
import collections
import linecache
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from workloads import WORKLOADS  # noqa: E402

EPOCH = """
import sys
sys.path.insert(0, {here!r})
from threadpoolctl import threadpool_limits
from workloads import WORKLOADS, make_network
from digitnet.data import load
from digitnet.train import TrainConfig, train
data = load("mnist", data_dir={data!r})
w = WORKLOADS[{name!r}]
with threadpool_limits(2):
    net = make_network(w, 0)
    config = TrainConfig(epochs={epochs}, batch_size=w.batch_size, lr=w.lr, optimizer=w.optimizer,
                         momentum=w.momentum, dropout=w.dropout, monitor=100)
    history = train(net, data.X_train, data.y_train, config)
print("EPOCH-SECONDS", sum(history.column("seconds")) / len(history.epochs))
"""

# One epoch of a preset's own recipe (augmentation and weight averaging included).
PRESET_EPOCH = """
from threadpoolctl import threadpool_limits
from digitnet.commands.train import make_config
from digitnet.data import load
from digitnet.network import Network
from digitnet.presets import get_preset
from digitnet.train import train
preset = get_preset({name!r})
data = load(preset.dataset, data_dir={data!r}, validation=preset.validation)
with threadpool_limits(2):
    config = make_config(dict(preset.training, epochs={epochs}, monitor=100), preset.augment)
    net = Network.from_config(preset.network, seed=0)
    history = train(net, data.X_train, data.y_train, config)
print("EPOCH-SECONDS", sum(history.column("seconds")) / len(history.epochs))
"""

# Frames of the work train() does once before its first epoch (building or loading compiled
# code): not part of an epoch, so not counted.
SETUP = ("make_step (digitnet/train.py", "prepare (digitnet/data/augment.py")

# Frames that call Numba-compiled code (digitnet.engine.small, digitnet.engine.augment).
COMPILED = ("SmallStep._call (digitnet/engine/small.py", "warp (digitnet/data/augment.py")

LOOP = re.compile(r"^(FLOAT|DOUBLE|BOOL|LONG|INT|UBYTE|HALF|ULONG)_|_loop|^npy_|expit|logistic")


def kind(leaf: str) -> str:
    name, _, where = leaf.partition(" (")
    if "openblas" in where:
        return "BLAS (matrix products)"
    if "_multiarray_umath" in where or "numpy" in where or "scipy" in where:
        return "NumPy loops" if LOOP.search(name) else "NumPy dispatch"
    if "libpython" in where or where.startswith("digitnet/") or ".py:" in where:
        return "Python"
    return "other (libc, kernel)"


def digitnet_line(frames: list[str]) -> str:
    ours = [f for f in frames if "digitnet/" in f]
    if not ours:
        return "?"
    m = re.match(r"(.+) \((digitnet/[^:]+):(\d+)\)", ours[-1])
    if not m:
        return ours[-1]
    func, path, line = m.groups()
    text = linecache.getline(str(ROOT / "src" / path), int(line)).strip()
    return f"`{path}:{line}` {func}: `{text[:70]}`"


def profile(name: str, data_dir: Path, spy: str) -> tuple[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "epoch.py"
        if name in WORKLOADS:
            epochs = 5 if WORKLOADS[name].batch_size < 100 else 1  # enough samples for W1, W2
            code = EPOCH.format(here=str(HERE), data=str(data_dir), name=name, epochs=epochs)
        else:  # a preset
            epochs = 1
            code = PRESET_EPOCH.format(data=str(data_dir), name=name, epochs=epochs)
        script.write_text(code)
        raw = Path(tmp) / "raw.txt"
        proc = subprocess.run(
            [spy, "record", "--native", "--rate", "250", "--format", "raw", "-o", str(raw)]
            + ["--", sys.executable, str(script)],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = float(re.findall(r"EPOCH-SECONDS (\S+)", proc.stdout)[-1])
        kinds: collections.Counter[str] = collections.Counter()
        lines: collections.Counter[str] = collections.Counter()
        for row in raw.read_text().splitlines():
            stack, _, count = row.rpartition(" ")
            frames = stack.split(";")
            if not any(f.startswith("train (digitnet/train.py") for f in frames):
                continue
            if any(f.startswith(SETUP) for f in frames):  # before the first epoch
                continue
            what = kind(frames[-1])
            if what.startswith("other") and any(f.startswith(COMPILED) for f in frames):
                what = "compiled code (Numba)"  # JIT frames have no library name
            kinds[what] += int(count)
            lines[digitnet_line(frames)] += int(count)
    total = sum(kinds.values())
    out = [
        f"**{name}** ({epochs} epoch{'s' if epochs > 1 else ''}, {seconds:.2f} s each under the "
        f"profiler, {total} samples in `train`):",
        "",
        "| where | share |",
        "| --- | ---: |",
    ]
    out += [f"| {k} | {100 * v / total:.0f}% |" for k, v in kinds.most_common()]
    out += ["", "| digitnet line the samples were under | share |", "| --- | ---: |"]
    out += [f"| {k} | {100 * v / total:.1f}% |" for k, v in lines.most_common(10)]
    return name, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--workloads", nargs="+", default=["W1", "W4", "best"], help="workloads or presets"
    )
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DIGITNET_DATA", "")))
    p.add_argument("--out", type=Path, default=HERE / "profile-raw.md")
    args = p.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        sys.exit("benchmarks/profiling.py needs py-spy: .venv/bin/pip install py-spy")
    data_dir = (
        args.data_dir if str(args.data_dir) not in ("", ".") else ROOT.parent / "shared" / "data"
    )
    sections = ["### Profiles (py-spy --native, 250 samples/s)", ""]
    for name in args.workloads:
        _, lines = profile(name, data_dir, spy)
        sections += lines + [""]
        print("\n".join(lines), flush=True)
    args.out.write_text("\n".join(sections))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
