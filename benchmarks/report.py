"""Write ``benchmarks/RESULTS.md`` from the stored measurements: ``results/speed.json`` (run.py),
``results/<preset>-seed<N>.json`` (accuracy.py), ``profile.md`` (written by hand) and
``profile-raw.md`` (profiling.py)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

TARGETS = {
    "lessons": ("mnist", 0.94, None),
    "lessons-96": ("mnist", 0.96, None),
    "modern": ("mnist", 0.98, None),
    "best": ("mnist", 0.993, 600.0),
    "fashion": ("fashion-mnist", 0.91, 600.0),
}


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def held_out(recipe: dict[str, Any]) -> int:
    """Validation images the run held out (runs recorded before presets named theirs: 10,000)."""
    return recipe.get("validation", 10_000)


def speed_section(speed: dict[str, Any]) -> list[str]:
    m = speed["machine"]
    gemm = speed["gemm"]
    peak = max(v["numpy"] for k, v in gemm.items() if "numpy" in v)
    lines = [
        "## Speed: digitnet against PyTorch and scikit-learn",
        "",
        f"Measured {speed['started']} to {speed['finished']} by `make bench` "
        "(`.venv/bin/python benchmarks/run.py`). "
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GiB; Python {m['python']}, "
        f"NumPy {m['numpy']} ({m['numpy_blas']}), PyTorch {m['torch']}, "
        f"scikit-learn {m['sklearn']}; OPENBLAS_CORETYPE {m['OPENBLAS_CORETYPE']}. "
        f"1-minute load average {speed['load_before'][0]:.1f} at the start and "
        f"{speed['load_after'][0]:.1f} at the end: the machine is shared, so the systems "
        "alternate within each round and the figures are medians.",
        "",
        "Each system trains the same network from the same initial weights (PyTorch copies "
        "digitnet's), in float32, on the 50,000 MNIST training images, with 2 threads, for a few "
        "epochs per run in a child process of its own; rounds alternate the order of the systems. "
        "Seconds per epoch are the median over all rounds of every epoch but each run's first "
        "(warm-up); the ratio is PyTorch's median over digitnet's (the spread is the lowest and "
        "highest ratio of a single round). The GEMM-only bound is the floating-point work of the "
        "epoch's matrix products divided by the peak float32 GEMM rate measured below; peak "
        "memory is the child process's maximum resident set, data loading included.",
        "",
        "| workload | digitnet s/epoch | PyTorch s/epoch | PyTorch / digitnet | scikit-learn "
        "s/epoch | GEMM-only bound s | digitnet / bound | peak MB digitnet | peak MB PyTorch |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, w in speed["workloads"].items():
        s = w["systems"]
        d, t = s["digitnet"], s["pytorch"]
        sk = f"{s['sklearn']['median_seconds']:.3f}" if "sklearn" in s else "cannot express"
        bound = w["gemm_flops_per_epoch"] / (peak * 1e9)
        lo, hi = min(w["ratio_per_round"]), max(w["ratio_per_round"])
        lines.append(
            f"| {name} | {d['median_seconds']:.3f} | {t['median_seconds']:.3f} | "
            f"**{w['ratio']:.2f}x** ({lo:.2f}-{hi:.2f}) | {sk} | {bound:.3f} | "
            f"{d['median_seconds'] / bound:.2f} | {d['peak_rss_mb']:.0f} | "
            f"{t['peak_rss_mb']:.0f} |"
        )
    compared = {n: w for n, w in speed["workloads"].items() if "before" in w["systems"]}
    if compared:
        lines += [
            "",
            "An older digitnet (`--before`, the source tree "
            f"`{next(iter(compared.values()))['before']}`) ran in the same rounds, alternating "
            "with the others:",
            "",
            "| workload | digitnet s/epoch | older digitnet s/epoch | older / digitnet |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, w in compared.items():
            d, b = w["systems"]["digitnet"], w["systems"]["before"]
            lines.append(
                f"| {name} | {d['median_seconds']:.3f} | {b['median_seconds']:.3f} | "
                f"{w['before_over_digitnet']:.3f} |"
            )
    lines += [
        "",
        "Workloads: "
        + "; ".join(
            f"{name}: {w['epochs_per_run']} epochs a run, "
            f"{len(w['systems']['digitnet']['runs'])} rounds, load {w['load_average_1min'][0]:.1f}"
            f"-{w['load_average_1min'][1]:.1f}"
            for name, w in speed["workloads"].items()
        )
        + ".",
        "",
        "Test accuracy after those epochs, a check that the systems did the same work (W1-W3 "
        "follow the same data order from the same weights; W1 and W2 at eta 3 turn float32 "
        "rounding differences into different trajectories within an epoch, see the notes):",
        "",
        "| workload | digitnet | PyTorch | scikit-learn |",
        "| --- | --- | --- | --- |",
    ]
    for name, w in speed["workloads"].items():
        s = w["systems"]
        cells = [
            ", ".join(pct(a) for a in s[k]["test_accuracy"]) if k in s else "-"
            for k in ("digitnet", "pytorch", "sklearn")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### float32 GEMM rate (2 threads, best of several calls)",
        "",
        "| product (m x k x n) | NumPy (OpenBLAS) GFLOP/s | PyTorch (MKL) GFLOP/s |",
        "| --- | ---: | ---: |",
    ]
    for k, v in gemm.items():
        if "numpy" in v:
            lines.append(f"| {k} | {v['numpy']:.0f} | {v['pytorch']:.0f} |")
    for k, v in gemm.items():
        if "seconds" in v:
            lines.append(f"\n{k} (NumPy, the real shapes, no other work): {v['seconds']:.3f} s.")
    return lines


def accuracy_section(results_dir: Path) -> list[str]:
    runs: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(results_dir.glob("*-seed*.json")):
        r = json.loads(path.read_text())
        runs.setdefault(path.name.rsplit("-seed", 1)[0], []).append(r)
    lines = [
        "## Accuracy of the presets",
        "",
        "Each row trains `digitnet train --preset NAME` (through `benchmarks/accuracy.py`, which "
        "runs the same recipe and stores the history). Training time is the sum of the epochs' "
        "training seconds (the per-epoch evaluation of the train/validation/test curves is not "
        "in it; the wall time is). The test set is scored once, on the final weights; the "
        "per-epoch test accuracies are only for the curves and for the time to first reach "
        "99.0%. Nothing was tuned on the test set: the recipes were chosen on the validation "
        "split (the last 10,000 training images). A preset whose validation column says "
        '"all" was chosen that way (its runs are in the tuning log) and then trained on all '
        "60,000 training images, so it has no validation accuracy of its own.",
        "",
        "| preset | dataset | target | test accuracy | seeds | training time | wall time | "
        "first 99.0% (test) | validation | command |",
        "| --- | --- | --- | --- | --- | ---: | ---: | --- | --- | --- |",
    ]
    for name in TARGETS:
        rs = runs.get(name)
        dataset, target, limit = TARGETS[name]
        target_s = pct(target) if target else "(reference)"
        if not rs:
            lines.append(f"| {name} | {dataset} | {target_s} | not measured | | | | | | |")
            continue
        accs = [r["test_accuracy"] for r in rs]
        med = statistics.median(accs)
        each = ", ".join(f"{pct(a)} (seed {r['seed']})" for a, r in zip(accs, rs, strict=True))
        shown = f"**{pct(med)}**" + (f" median of {len(rs)}: {each}" if len(rs) > 1 else "")
        train_s = statistics.median(r["train_seconds"] for r in rs)
        wall_s = statistics.median(r["wall_seconds"] for r in rs)
        firsts = [r.get("first_test_99.0") for r in rs]
        first_s = "-"
        if dataset == "mnist" and all(firsts):
            epochs = sorted(f["epoch"] for f in firsts)
            seconds = ", ".join(f"{f['train_seconds']:.1f}" for f in firsts)
            first_s = (
                f"**{statistics.median(f['train_seconds'] for f in firsts):.1f} s** median "
                f"({seconds} s; epoch {epochs[0]}-{epochs[-1]})"
            )
        val = (
            pct(statistics.median(r["final_validation_accuracy"] for r in rs))
            if held_out(rs[0]["recipe"])
            else "all (none held out)"
        )
        seeds = ",".join(str(r["seed"]) for r in rs)
        cmd = f"`digitnet train --preset {name} --seed {rs[0]['seed']} --out runs/{name}.npz`"
        lines.append(
            f"| {name} | {dataset} | {target_s} | {shown} | {seeds} | {train_s:.0f} s | "
            f"{wall_s:.0f} s | {first_s} | {val} | {cmd} |"
        )
    lines += ["", "Recipes:", ""]
    for name in TARGETS:
        if runs.get(name):
            r = runs[name][0]["recipe"]
            lines.append(
                f"- `{name}`: network {json.dumps(r['network'])}; training "
                f"{json.dumps(r['training'])}; augmentation {json.dumps(r['augment'])}; "
                f"validation images held out {held_out(r)}"
            )
    return lines


def tuning_section(results_dir: Path) -> list[str]:
    """The recipes tried on the way to the presets, with what decided: the validation accuracy."""
    rows = []
    for path in sorted((results_dir / "tuning").glob("*.json")):
        r = json.loads(path.read_text())
        t = {k: v for k, v in r["recipe"]["training"].items() if k != "seed"}
        aug = json.dumps(r["recipe"]["augment"])
        network = {k: v for k, v in r["recipe"]["network"].items() if k == "sizes"}
        val = (
            pct(r["final_validation_accuracy"])
            if held_out(r["recipe"])
            else "- (all 60,000 trained on)"
        )
        first = next((e["epoch"] for e in r["history"] if e["validation_accuracy"] >= 0.99), None)
        rows.append(
            f"| {path.stem} | {r['preset']} | `{json.dumps(network)}` | `{json.dumps(t)}` | "
            f"`{aug}` | {val} | {first or '-'} | {r['train_seconds']:.0f} s |"
        )
    if not rows:
        return []
    return [
        "### Tuning log (chosen on the validation split)",
        "",
        "Runs on the way to the presets (`results/tuning/`), each from the preset of its row with "
        "the options shown, seed 0; most ran beside other jobs, so their times are only rough.",
        "",
        "| run | from preset | layers | training | augmentation | validation | "
        "first epoch at 99.0% validation | training time |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: |",
        *rows,
    ]


def write_results(speed_json: Path, results_dir: Path, out: Path) -> None:
    lines = [
        "# Measured results",
        "",
        "Written by `benchmarks/run.py` (`make bench`); the accuracy runs by "
        "`benchmarks/accuracy.py` (see each row's command), the profile by "
        "`benchmarks/profiling.py`. Numbers from a 2-core machine shared with other work.",
        "",
    ]
    if speed_json.exists():
        lines += speed_section(json.loads(speed_json.read_text()))
    else:
        lines += ["## Speed", "", "Not measured yet: run `make bench`."]
    lines += [""]
    for name in ("profile.md", "profile-raw.md"):  # the summary, then profiling.py's tables
        if (HERE / name).exists():
            lines += [(HERE / name).read_text().rstrip(), ""]
    lines += accuracy_section(results_dir)
    lines += [""] + tuning_section(results_dir)
    notes = HERE / "notes.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    out.write_text("\n".join(lines) + "\n")
