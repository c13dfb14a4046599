"""The speed suite of issues 7 and 27: digitnet against PyTorch, JAX (a jit-compiled epoch with
``lax.scan``, and a jit-compiled step called per mini-batch) and scikit-learn where it can express
the workload, on W1-W4, alternating the systems within one run; writes ``benchmarks/RESULTS.md``.

    .venv/bin/python benchmarks/run.py                # what `make bench` runs (about 15 minutes)
    .venv/bin/python benchmarks/run.py --rounds 1 --workloads W1 W3   # a quick look
    .venv/bin/python benchmarks/run.py --before /tmp/old   # also an older digitnet, side by side
    .venv/bin/python benchmarks/run.py --systems digitnet jax-scan jax-step   # some systems only

``--systems`` measures only the systems named (digitnet always among them, as every ratio is to
it) and stores them in ``results/speed-<systems>.json`` instead of ``results/speed.json``, so
that the full run's figures stay; RESULTS.md shows such a run's JAX rows in a section of their
own until a full run has JAX in it.

When JAX is measured, a check comes first (not timed): JAX's parameters against digitnet's after
the same steps of one epoch from the same weights, in float32 and in float64
(``workloads.agreement``).

``--before DIR`` adds a fourth system: the digitnet whose source tree is DIR (for example a
``git worktree add /tmp/old REV``), run by the same workload code with ``DIR/src`` first on the
path, alternating with the others; RESULTS.md then gives its seconds and the ratio to it.

Every measurement runs in a child process of its own (so its peak memory is its own, read with
``resource.getrusage``), limited to 2 threads (threadpoolctl for NumPy's BLAS,
``torch.set_num_threads(2)``; for JAX, whose XLA sizes its CPU thread pools by the CPUs the
process may run on, an affinity of 2 CPUs where the machine has more). Round r runs digitnet,
PyTorch, JAX scan, JAX per-step, scikit-learn for each workload, the next round in the reverse
order, so that the noise of this shared machine hits all of them. The figure per system is the
median over all rounds of the per-epoch seconds, leaving out each child's first epoch (warm-up);
each ratio is a peer's median over digitnet's. JAX compiles ahead of time, before its first
epoch; its compile seconds are reported apart.
The accuracy section of RESULTS.md is read from ``benchmarks/results/*.json`` (see accuracy.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import RUNNERS, WORKLOADS, agreement, sklearn_expresses  # noqa: E402

THREADS = 2
SYSTEMS = ("digitnet", "pytorch", "jax-scan", "jax-step", "sklearn")
JAX_SYSTEMS = ("jax-scan", "jax-step")
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"


def need(module: str, install: str) -> None:
    """Stop with a clear message when a benchmark dependency is missing."""
    try:
        __import__(module)
    except ImportError:
        sys.exit(
            f"benchmarks/run.py needs {module!r}: .venv/bin/pip install {install} "
            "(the test extra of pyproject.toml lists what `make bench` installs)"
        )


# -- children ----------------------------------------------------------------------------------
def limit_threads() -> Any:
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(THREADS)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(THREADS)
    return limits


def limit_jax_threads() -> None:
    """XLA's CPU client sizes its thread pools by the CPUs this process may run on (its affinity
    mask): JAX 0.10 has no flag for it (``intra_op_parallelism_threads=N`` in XLA_FLAGS is an
    unread word, ``--intra_op_parallelism_threads`` an unknown flag). So where the machine has
    more than THREADS CPUs, the process is held to THREADS of them, before JAX starts."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) > THREADS:
        os.sched_setaffinity(0, allowed[:THREADS])


def threads_now() -> int:
    """The OS threads of this process."""
    return len(os.listdir("/proc/self/task"))


def child_train(system: str, workload: str, epochs: int, seed: int, data_dir: Path) -> dict:
    if system == "pytorch":
        import torch

        torch.set_num_threads(THREADS)
    if system in JAX_SYSTEMS:
        limit_jax_threads()
    _limits = limit_threads()
    from digitnet.data import load

    data = load("mnist", data_dir=data_dir, validation=10_000)
    start, cpu_start = time.perf_counter(), os.times()
    result = RUNNERS["digitnet" if system == "before" else system](
        WORKLOADS[workload], data, epochs, seed
    )
    wall, cpu_end = time.perf_counter() - start, os.times()
    cpu = (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["cpus_allowed"] = len(os.sched_getaffinity(0))
    result["threads"] = threads_now()
    result["cpu_over_wall"] = cpu / wall  # cores kept busy on average, compile included
    return result


def checks(name: str) -> list[tuple[str, float]]:
    """The (dtype, eta) of the checks of JAX against digitnet on workload ``name``.

    At eta 3 the lessons' networks amplify any float32 rounding difference until, within the
    epoch, two correct implementations are on different trajectories (see the notes): for them
    the same steps are also checked at eta 0.1, where an epoch stays on one trajectory, and in
    float64, whose rounding differences start 9 orders of magnitude lower. Every workload is
    checked in float64 too: in float32 W4's trajectories also part within its epoch."""
    w = WORKLOADS[name]
    if w.cost == "quadratic":
        return [("float32", w.lr), ("float32", 0.1), ("float64", w.lr)]
    return [("float32", w.lr), ("float64", w.lr)]


def child_check(workload: str, dtype: str, eta: float, seed: int, data_dir: Path) -> dict:
    """JAX against digitnet after the same steps (``workloads.agreement``), in ``dtype``."""
    limit_jax_threads()
    _limits = limit_threads()
    import jax

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    from digitnet.data import load

    data = load("mnist", data_dir=data_dir, validation=10_000)
    return agreement(WORKLOADS[workload], data, seed, dtype, eta)


def child_gemm_jax() -> dict:
    """float32 GEMM rates of XLA's CPU dot (a jit-compiled ``a @ b``), at the shapes of
    :func:`child_gemm`, 2 threads, GFLOP/s."""
    limit_jax_threads()
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    dot = jax.jit(lambda A, B: A @ B)
    for label, (m, k, n) in GEMM_SHAPES.items():
        A = jnp.asarray(rng.standard_normal((m, k), dtype=np.float32))
        B = jnp.asarray(rng.standard_normal((k, n), dtype=np.float32))
        dot(A, B).block_until_ready()
        reps = 5 if m * n * k > 1e9 else 200
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            dot(A, B).block_until_ready()
            times.append(time.perf_counter() - start)
        out[label] = 2.0 * m * n * k / min(times) / 1e9
    out["threads"] = threads_now()
    return out


GEMM_SHAPES = {
    "2048x2048x2048": (2048, 2048, 2048),
    "128x784x1024 (W4 layer 1 forward)": (128, 784, 1024),
    "128x1024x1024 (W4 layer 2 forward)": (128, 1024, 1024),
    "1024x128x1024 (W4 layer 2 dC/dW)": (1024, 128, 1024),
}


def child_gemm() -> dict:
    """float32 GEMM rates: NumPy (its OpenBLAS) and PyTorch (its MKL), 2 threads, GFLOP/s."""
    import numpy as np
    import torch

    torch.set_num_threads(THREADS)
    _limits = limit_threads()
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}

    def rate(f: Any, flops: float, repeat: int) -> float:
        f()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return flops / min(times) / 1e9

    for label, (m, k, n) in GEMM_SHAPES.items():
        A = rng.standard_normal((m, k), dtype=np.float32)
        B = rng.standard_normal((k, n), dtype=np.float32)
        C = np.empty((m, n), np.float32)
        tA, tB, tC = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(C)
        reps = 5 if m * n * k > 1e9 else 200
        flops = 2.0 * m * n * k
        out[label] = {
            "numpy": rate(lambda A=A, B=B, C=C: np.matmul(A, B, out=C), flops, reps),
            "pytorch": rate(lambda tA=tA, tB=tB, tC=tC: torch.mm(tA, tB, out=tC), flops, reps),
        }
    # The matrix products of one epoch of W3 and W4 alone, in NumPy, at their real shapes.
    for name in ("W3", "W4"):
        w = WORKLOADS[name]
        n, bs = 50_000, w.batch_size
        Ws = [
            rng.standard_normal((o, i), dtype=np.float32)
            for i, o in zip(w.sizes[:-1], w.sizes[1:], strict=True)
        ]
        acts = [rng.standard_normal((bs, s), dtype=np.float32) for s in w.sizes]
        deltas = [rng.standard_normal((bs, s), dtype=np.float32) for s in w.sizes]
        zs = [np.empty((bs, s), np.float32) for s in w.sizes]
        dWs = [np.empty_like(W) for W in Ws]

        def epoch(Ws=Ws, acts=acts, deltas=deltas, zs=zs, dWs=dWs, n=n, bs=bs) -> None:
            for _ in range(0, n, bs):
                for l, W in enumerate(Ws):
                    np.matmul(acts[l], W.T, out=zs[l + 1])
                for l in range(len(Ws) - 1, -1, -1):
                    np.matmul(deltas[l + 1].T, acts[l], out=dWs[l])
                    if l > 0:
                        np.matmul(deltas[l + 1], Ws[l], out=zs[l])

        times = []
        for _ in range(3):
            start = time.perf_counter()
            epoch()
            times.append(time.perf_counter() - start)
        out[f"{name} GEMMs of one epoch, measured"] = {"seconds": min(times)}
    return out


# -- parent ------------------------------------------------------------------------------------
def spawn(args: list[str], before: Path | None = None) -> dict:
    env = dict(os.environ)
    if before is not None:  # the older digitnet comes first on the path
        env["PYTHONPATH"] = str(before / "src")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(THREADS)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    import numpy as np
    import threadpoolctl
    import torch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = [  # NumPy's own BLAS (SciPy brings another one)
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture', '-')})"
        for i in threadpoolctl.threadpool_info()
        if i.get("user_api") == "blas" and "numpy" in i.get("filepath", "")
    ]
    try:
        import sklearn

        sk = sklearn.__version__
    except ImportError:
        sk = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": blas[0] if blas else "?",
        "torch": torch.__version__,
        "sklearn": sk,
        "jax": jax_version(),
        "platform": platform.platform(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
    }


def jax_version() -> str:
    try:
        from importlib.metadata import version

        return f"{version('jax')} (jaxlib {version('jaxlib')})"
    except ImportError:
        return "not installed"


def median_after_warmup(runs: list[dict]) -> float:
    times = [t for r in runs for t in (r["seconds"][1:] if len(r["seconds"]) > 1 else r["seconds"])]
    return statistics.median(times)


def per_round_ratios(runs: dict[str, list[dict]], peer: str) -> list[float]:
    """The peer's median epoch over digitnet's, round by round."""
    return [
        statistics.median(p["seconds"][1:] or p["seconds"])
        / statistics.median(d["seconds"][1:] or d["seconds"])
        for d, p in zip(runs["digitnet"], runs[peer], strict=True)
    ]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "systems": list(args.systems),
        "load_before": os.getloadavg(),
        "workloads": {},
    }
    print(f"machine: {report['machine']}", flush=True)
    print("measuring the float32 GEMM rate ...", flush=True)
    report["gemm"] = spawn(["gemm"])
    jax_on = any(s in JAX_SYSTEMS for s in args.systems)
    if jax_on:
        for label, rate in spawn(["gemm-jax"]).items():
            if label in report["gemm"]:
                report["gemm"][label]["jax"] = rate
    print(json.dumps(report["gemm"], indent=1), flush=True)
    if jax_on and args.check:
        report["agreement"] = {}
        for name in args.workloads:
            report["agreement"][name] = []
            for dtype, eta in checks(name):
                check = spawn(["check", name, dtype, str(eta), str(args.seed), str(args.data_dir)])
                report["agreement"][name].append(check)
                after = ", ".join(
                    f"{k} steps {v:.1e}" for k, v in check["max_abs_diff_after_steps"].items()
                )
                print(
                    f"{name} {dtype} eta {eta:g} JAX vs digitnet, max |difference|: {after}; "
                    f"scan epoch {check['scan_epoch_vs_digitnet']:.1e} "
                    f"(vs JAX's steps {check['scan_epoch_vs_jax_steps']:.1e})",
                    flush=True,
                )
    for name in args.workloads:
        w = WORKLOADS[name]
        systems = [s for s in args.systems if s != "sklearn" or sklearn_expresses(w)]
        if args.before is not None:
            systems.insert(1, "before")
        epochs = args.epochs or (4 if w.batch_size < 100 else 3)
        runs: dict[str, list[dict]] = {s: [] for s in systems}
        loads = []
        for r in range(args.rounds):
            order = systems if r % 2 == 0 else systems[::-1]
            for system in order:
                res = spawn(
                    ["train", system, name, str(epochs), str(args.seed), str(args.data_dir)],
                    args.before if system == "before" else None,
                )
                runs[system].append(res)
                loads.append(os.getloadavg()[0])
                secs = " ".join(f"{t:.3f}" for t in res["seconds"])
                extra = (
                    f"  compile {res['compile_seconds']:.1f} s" if "compile_seconds" in res else ""
                )
                print(
                    f"{name} round {r + 1} {system:8s} s/epoch [{secs}]  "
                    f"test {100 * res['test_accuracy']:.2f}%  peak {res['peak_rss_mb']:.0f} MB  "
                    f"threads {res['threads']} on {res['cpus_allowed']} CPUs, "
                    f"busy {res['cpu_over_wall']:.2f} cores{extra}",
                    flush=True,
                )
        summary = {
            s: {
                "median_seconds": median_after_warmup(runs[s]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs[s]),
                "test_accuracy": [r["test_accuracy"] for r in runs[s]],
                **(
                    {"compile_seconds": statistics.median(r["compile_seconds"] for r in runs[s])}
                    if "compile_seconds" in runs[s][0]
                    else {}
                ),
                "runs": runs[s],
            }
            for s in systems
        }
        peers = [s for s in systems if s not in ("digitnet", "before", "sklearn")]
        d = summary["digitnet"]["median_seconds"]
        report["workloads"][name] = {
            "epochs_per_run": epochs,
            "systems": summary,
            "ratios": {s: summary[s]["median_seconds"] / d for s in peers},
            "ratios_per_round": {s: per_round_ratios(runs, s) for s in peers},
            "gemm_flops_per_epoch": w.gemm_flops_per_epoch(50_000),
            **(
                {
                    "before": str(args.before),
                    "before_over_digitnet": summary["before"]["median_seconds"] / d,
                }
                if args.before is not None
                else {}
            ),
            "load_average_1min": [min(loads), max(loads)],
        }
        ratios = ", ".join(
            f"{s}/digitnet = {v:.2f}" for s, v in report["workloads"][name]["ratios"].items()
        )
        print(f"{name}: {ratios}", flush=True)
    report["load_after"] = os.getloadavg()
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=None, help="epochs per run (default 4 or 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--before", type=Path, default=None, help="an older digitnet source tree")
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DIGITNET_DATA", "")))
    p.add_argument(
        "--systems",
        nargs="+",
        default=list(SYSTEMS),
        choices=list(SYSTEMS),
        help="the systems to measure (default all; digitnet is always among them)",
    )
    p.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="skip the check of JAX's parameters against digitnet's",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to store the measurements (default results/speed.json, or "
        "results/speed-<systems>.json for some systems only)",
    )
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    p.add_argument(
        "--report-only", action="store_true", help="rewrite RESULTS.md from the stored JSON"
    )
    args = p.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        if kind == "gemm":
            result = child_gemm()
        elif kind == "gemm-jax":
            result = child_gemm_jax()
        elif kind == "check":
            workload, dtype, eta, seed, data_dir = rest
            result = child_check(workload, dtype, float(eta), int(seed), Path(data_dir))
        else:
            system, workload, epochs, seed, data_dir = rest
            result = child_train(system, workload, int(epochs), int(seed), Path(data_dir))
        print(json.dumps(result))
        return 0

    need("threadpoolctl", "threadpoolctl")
    need("torch", "torch==2.13.0")
    need("sklearn", "scikit-learn")
    if any(s in JAX_SYSTEMS for s in args.systems):
        need("jax", "jax==0.10.2 jaxlib==0.10.2")
    if not str(args.data_dir) or str(args.data_dir) == ".":
        args.data_dir = DEFAULT_DATA
    args.systems = ["digitnet"] + [s for s in SYSTEMS if s in args.systems and s != "digitnet"]
    if args.json is None:
        partial = args.systems != list(SYSTEMS)
        name = "speed-" + "+".join(args.systems[1:]) if partial else "speed"
        args.json = HERE / "results" / f"{name}.json"
    from report import write_results

    if not args.report_only:
        report = measure(args)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    write_results(HERE / "results", args.results)
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
