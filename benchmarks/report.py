"""Write ``benchmarks/RESULTS.md`` from the stored measurements: ``results/speed.json`` (run.py),
``results/speed-<systems>.json`` (run.py ``--systems``, shown when the full run lacks those
systems), ``results/<preset>-seed<N>.json`` (accuracy.py), ``profile.md`` (written by hand) and
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
    "record": ("mnist", 0.9945, 600.0),
    "fashion": ("fashion-mnist", 0.91, 600.0),
}


JAX = {"jax-scan": "JAX scan", "jax-step": "JAX per-step"}
# Issue 27's targets: digitnet at least this many times faster than each peer, and at most this
# many times the GEMM-only bound.
TARGETS_27 = {
    "W1": {"pytorch": 15.0, "jax-scan": 3.0},
    "W2": {"pytorch": 15.0, "jax-scan": 3.0},
    "W3": {"pytorch": 1.0, "jax-scan": 1.0, "jax-step": 1.0, "bound": 1.25},
    "W4": {"pytorch": 1.0, "jax-scan": 1.0, "jax-step": 1.0, "bound": 1.25},
}
PROVISIONAL_LOAD = 1.5  # a 1-minute load average above this on 2 cores makes timings provisional


def normalized(speed: dict[str, Any]) -> dict[str, Any]:
    """A run stored before JAX joined (one ``ratio`` to PyTorch) in today's layout."""
    for w in speed["workloads"].values():
        if "ratios" not in w:
            w["ratios"] = {"pytorch": w["ratio"]}
            w["ratios_per_round"] = {"pytorch": w["ratio_per_round"]}
    return speed


def has_jax(speed: dict[str, Any]) -> bool:
    return any(s in w["systems"] for w in speed["workloads"].values() for s in JAX)


def peak_rate(speed: dict[str, Any]) -> float:
    """The highest float32 GEMM rate NumPy reached in the run, GFLOP/s."""
    return max(v["numpy"] for v in speed["gemm"].values() if "numpy" in v)


def ratio_cell(w: dict[str, Any], peer: str) -> str:
    per_round = w["ratios_per_round"][peer]
    return f"**{w['ratios'][peer]:.2f}x** ({min(per_round):.2f}-{max(per_round):.2f})"


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def held_out(recipe: dict[str, Any]) -> int:
    """Validation images the run held out (runs recorded before presets named theirs: 10,000)."""
    return recipe.get("validation", 10_000)


def speed_section(speed: dict[str, Any]) -> list[str]:
    m = speed["machine"]
    gemm = speed["gemm"]
    peak = peak_rate(speed)
    jax_here = has_jax(speed)
    jax_cols = [s for s in JAX if jax_here]
    lines = [
        "## Speed: digitnet against PyTorch, JAX and scikit-learn"
        if jax_here
        else "## Speed: digitnet against PyTorch and scikit-learn",
        "",
        f"Measured {speed['started']} to {speed['finished']} by `make bench` "
        "(`.venv/bin/python benchmarks/run.py`). "
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GiB; Python {m['python']}, "
        f"NumPy {m['numpy']} ({m['numpy_blas']}), PyTorch {m['torch']}, "
        f"scikit-learn {m['sklearn']}"
        + (f", JAX {m['jax']}" if jax_here else "")
        + f"; OPENBLAS_CORETYPE {m['OPENBLAS_CORETYPE']}. "
        f"1-minute load average {speed['load_before'][0]:.1f} at the start and "
        f"{speed['load_after'][0]:.1f} at the end: the machine is shared, so the systems "
        "alternate within each round and the figures are medians.",
        "",
        "Each system trains the same network from the same initial weights ("
        + ("PyTorch and JAX copy" if jax_here else "PyTorch copies")
        + " digitnet's), in float32, on the 50,000 MNIST training images, with 2 threads, for a "
        "few epochs per run in a child process of its own; rounds alternate the order of the "
        "systems. Seconds per epoch are the median over all rounds of every epoch but each run's "
        "first (warm-up); a ratio is the peer's median over digitnet's (the spread is the lowest "
        "and highest ratio of a single round)."
        + (
            " JAX scan is one jit-compiled epoch (`lax.scan` over the mini-batches), JAX "
            "per-step a jit-compiled step called once per mini-batch; neither epoch includes "
            "compiling (see below)."
            if jax_here
            else ""
        )
        + " The GEMM-only bound is the floating-point work of the "
        "epoch's matrix products divided by the peak float32 GEMM rate measured below; peak "
        "memory is the child process's maximum resident set, data loading included.",
        "",
        "| workload | digitnet s/epoch | PyTorch s/epoch | PyTorch / digitnet | "
        + "".join(f"{JAX[j]} s/epoch | {JAX[j]} / digitnet | " for j in jax_cols)
        + "scikit-learn s/epoch | GEMM-only bound s | digitnet / bound | peak MB digitnet | "
        "peak MB PyTorch |",
        "| --- | ---: | ---: | ---: | " + "---: | ---: | " * len(jax_cols) + "---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    for name, w in speed["workloads"].items():
        s = w["systems"]
        d, t = s["digitnet"], s["pytorch"]
        sk = f"{s['sklearn']['median_seconds']:.3f}" if "sklearn" in s else "cannot express"
        bound = w["gemm_flops_per_epoch"] / (peak * 1e9)
        jax_cells = "".join(
            f"{s[j]['median_seconds']:.3f} | {ratio_cell(w, j)} | " for j in jax_cols
        )
        lines.append(
            f"| {name} | {d['median_seconds']:.3f} | {t['median_seconds']:.3f} | "
            f"{ratio_cell(w, 'pytorch')} | {jax_cells}{sk} | {bound:.3f} | "
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
        "| workload | digitnet | PyTorch | "
        + "".join(f"{JAX[j]} | " for j in jax_cols)
        + "scikit-learn |",
        "| --- | --- | --- | " + "--- | " * len(jax_cols) + "--- |",
    ]
    for name, w in speed["workloads"].items():
        s = w["systems"]
        cells = [
            ", ".join(pct(a) for a in s[k]["test_accuracy"]) if k in s else "-"
            for k in ("digitnet", "pytorch", *jax_cols, "sklearn")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### float32 GEMM rate (2 threads, best of several calls)",
        "",
        "| product (m x k x n) | NumPy (OpenBLAS) GFLOP/s | PyTorch (MKL) GFLOP/s |"
        + (" JAX (XLA) GFLOP/s |" if jax_here else ""),
        "| --- | ---: | ---: |" + (" ---: |" if jax_here else ""),
    ]
    for k, v in gemm.items():
        if "numpy" in v:
            jax_cell = (
                f" {v['jax']:.0f} |" if jax_here and "jax" in v else (" - |" if jax_here else "")
            )
            lines.append(f"| {k} | {v['numpy']:.0f} | {v['pytorch']:.0f} |{jax_cell}")
    for k, v in gemm.items():
        if "seconds" in v:
            lines.append(f"\n{k} (NumPy, the real shapes, no other work): {v['seconds']:.3f} s.")
    if jax_here:
        lines += [""] + jax_details(speed)
    return lines


def jax_run(results_dir: Path, speed: dict[str, Any] | None) -> dict[str, Any] | None:
    """The run that has JAX's figures: the full run if it measured JAX, else the newest run of
    some systems only (``run.py --systems``) that did."""
    if speed is not None and has_jax(speed):
        return None  # shown in the full run's section
    partial = [
        normalized(json.loads(p.read_text())) for p in sorted(results_dir.glob("speed-*.json"))
    ]
    partial = [r for r in partial if has_jax(r)]
    return max(partial, key=lambda r: r["started"]) if partial else None


def jax_details(run: dict[str, Any]) -> list[str]:
    """JAX's compile times, threads and agreement with digitnet, from one run."""
    lines = [
        "### JAX: compile time, threads, and agreement with digitnet",
        "",
        "JAX compiles ahead of time (`jax.jit(f).lower(...).compile()`) before the first epoch, "
        "so no epoch above includes compiling; the first epoch is still left out as for the "
        "other systems. Compile seconds (median over the rounds), the process's OS threads at "
        "the end of the run, the CPUs it may run on, and its CPU time over its wall time from "
        "loading the data on (compile included: on average how many cores it kept busy):",
        "",
        "| workload | JAX scan compile s | JAX per-step compile s | threads (scan, per-step) | "
        "CPUs allowed | cores busy (scan, per-step) |",
        "| --- | ---: | ---: | --- | ---: | --- |",
    ]
    for name, w in run["workloads"].items():
        s = w["systems"]
        if not all(j in s for j in JAX):
            continue
        scan, step = s["jax-scan"], s["jax-step"]
        threads = ", ".join(
            "/".join(sorted({str(r["threads"]) for r in x["runs"]})) for x in (scan, step)
        )
        busy = ", ".join(
            "-".join(f"{f(r['cpu_over_wall'] for r in x['runs']):.2f}" for f in (min, max))
            for x in (scan, step)
        )
        cpus = max(r["cpus_allowed"] for x in (scan, step) for r in x["runs"])
        lines.append(
            f"| {name} | {scan['compile_seconds']:.1f} | {step['compile_seconds']:.1f} | "
            f"{threads} | {cpus} | {busy} |"
        )
    agreement = run.get("agreement")
    if agreement:
        lines += [
            "",
            "Agreement (`workloads.agreement`, not timed"
            + (
                f"; run with `run.py` of {run['agreement_run']}, this run having `--no-check`"
                if "agreement_run" in run
                else ""
            )
            + "): digitnet's own training step and "
            "JAX's jit-compiled step run side by side from the same initial weights over one "
            "epoch in the workload's data order; the table gives the largest absolute "
            "difference of any weight or bias after that many steps, and that of JAX's "
            "`lax.scan` epoch (the timed one) at the end. W4 runs with dropout off (the two "
            "draw their masks from different generators). Tolerance: the end of the epoch "
            f"within {AGREE:g}; where rounding differences are amplified until the two "
            "trajectories part within the epoch (W1 and W2 at eta 3 in both precisions, W4 in "
            f"float32), the first 100 steps within {AGREE_STEPS:g}, and the float64 rows show "
            "how long the trajectories stay together when rounding starts 9 orders lower.",
            "",
            "| workload | dtype | eta | after 1 step | 10 | 100 | 1000 | end of epoch "
            "(steps) | scan epoch vs digitnet | scan vs JAX's steps | largest parameter | "
            "verdict |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for name, checks in agreement.items():
            for c in checks:
                after = c["max_abs_diff_after_steps"]
                steps = str(c["steps_per_epoch"])
                cells = [f"{after[k]:.1e}" if k in after else "-" for k in ("1", "10", "100")]
                cells.append(f"{after['1000']:.1e}" if "1000" in after and steps != "1000" else "-")
                lines.append(
                    f"| {name}{' (dropout off)' if c['dropout_off'] else ''} | {c['dtype']} | "
                    f"{c['eta']:g} | " + " | ".join(cells) + f" | {after[steps]:.1e} ({steps}) | "
                    f"{c['scan_epoch_vs_digitnet']:.1e} | {c['scan_epoch_vs_jax_steps']:.1e} | "
                    f"{c['largest_parameter']:.2f} | {verdict(name, c)} |"
                )
    return lines


AGREE = 1e-4  # the largest difference after an epoch that stays on one trajectory
AGREE_STEPS = 1e-5  # ... and after 100 steps of one that does not (eta 3 on W1, W2)


def verdict(name: str, c: dict[str, Any]) -> str:
    """ "agree" when the whole epoch agrees; "agree 100 steps, then part" when the first 100
    steps agree to rounding and the epoch does not (rounding amplified: compare the float64
    row); "**DIFFER**" when even the first 100 steps do not agree."""
    after = c["max_abs_diff_after_steps"]
    if c["scan_epoch_vs_digitnet"] < AGREE:
        return "agree"
    if after.get("100", after[str(c["steps_per_epoch"])]) < AGREE_STEPS:
        return "agree 100 steps, then part"
    return "**DIFFER**"


def is_provisional(run: dict[str, Any]) -> bool:
    loads = [x for w in run["workloads"].values() for x in w["load_average_1min"]]
    return max(loads + [run["load_before"][0]]) > PROVISIONAL_LOAD


def jax_section(run: dict[str, Any]) -> list[str]:
    """JAX's rows from a run of some systems only, beside that run's own digitnet."""
    loads = [x for w in run["workloads"].values() for x in w["load_average_1min"]]
    provisional = is_provisional(run)
    peak = peak_rate(run)
    lines = [
        "## Speed: digitnet against JAX" + (" (provisional)" if provisional else ""),
        "",
        f"Measured {run['started']} to {run['finished']} by `.venv/bin/python benchmarks/run.py "
        f"--systems {' '.join(run['systems'])}`, JAX {run['machine']['jax']}, digitnet measured "
        "again in the same alternating rounds (the ratios are to this digitnet, not to the "
        f"table above). 1-minute load average {min(loads):.1f}-{max(loads):.1f} during the "
        "rounds"
        + (
            f": above {PROVISIONAL_LOAD} on these 2 cores, other work took CPU from every "
            "system, so these figures are provisional until `make bench` runs on a quiet "
            "machine (it measures all the systems together and replaces this section)."
            if provisional
            else "."
        ),
        "",
        "Same network, initial weights (copied from digitnet's), data order (epoch e visits "
        "`np.random.default_rng([seed, 1])`'s e-th permutation), float32, 2 threads. **JAX "
        "scan**: one jit-compiled epoch, the permuted data gathered on the device and reshaped "
        "to (n_batches, batch, 784), `lax.scan` over the mini-batches with the step a pure "
        "function of (params, velocity); **JAX per-step**: the same step jit-compiled and called "
        "from a Python loop once per mini-batch (the batch sliced inside the compiled call).",
        "",
        "| workload | digitnet s/epoch | JAX scan s/epoch | JAX scan / digitnet | JAX per-step "
        "s/epoch | JAX per-step / digitnet | digitnet / GEMM-only bound | test accuracy "
        "(digitnet; scan; per-step) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, w in run["workloads"].items():
        s = w["systems"]
        d = s["digitnet"]
        bound = w["gemm_flops_per_epoch"] / (peak * 1e9)
        acc = "; ".join(
            ", ".join(pct(a) for a in s[k]["test_accuracy"]) if k in s else "-"
            for k in ("digitnet", *JAX)
        )
        cells = " | ".join(
            f"{s[j]['median_seconds']:.3f} | {ratio_cell(w, j)}" if j in s else "- | -" for j in JAX
        )
        lines.append(
            f"| {name} | {d['median_seconds']:.3f} | {cells} | "
            f"{d['median_seconds'] / bound:.2f} | {acc} |"
        )
    lines += [
        "",
        "Workloads: "
        + "; ".join(
            f"{name}: {w['epochs_per_run']} epochs a run, "
            f"{len(w['systems']['digitnet']['runs'])} rounds"
            + (f", load {w['load_average_1min'][0]:.1f}-{w['load_average_1min'][1]:.1f}")
            for name, w in run["workloads"].items()
        )
        + ".",
        "",
        "float32 GEMM rate in this run (2 threads, GFLOP/s): "
        + "; ".join(
            f"{k}: NumPy {v['numpy']:.0f}, JAX {v['jax']:.0f}"
            for k, v in run["gemm"].items()
            if "jax" in v
        )
        + ".",
        "",
    ]
    return lines + jax_details(run)


def targets_section(speed: dict[str, Any] | None, jax: dict[str, Any] | None) -> list[str]:
    """Issue 27's targets against the measurements: each ratio from the run that has it."""
    runs = [r for r in (speed, jax) if r is not None]
    if not runs or not any(has_jax(r) for r in runs):
        return []
    lines = [
        "## Issue 27's speed targets",
        "",
        "W1 and W2 at least 15x PyTorch and 3x JAX's scan; W3 and W4 ahead of PyTorch and both "
        "JAX idioms, and at most 1.25x the GEMM-only bound. Each figure comes from the run that "
        "measured that peer (the ratio is always to the digitnet of the same run): "
        + (
            f"PyTorch and the bound from `make bench` of {speed['started']}, JAX from the "
            f"`--systems` run of {jax['started']}."
            if speed is not None and jax is not None
            else "all from one run."
        )
        + (
            " **The JAX figures are provisional** (load above "
            f"{PROVISIONAL_LOAD} during their run, see their section): the verdicts on JAX "
            "wait for a `make bench` on a quiet machine."
            if jax is not None and is_provisional(jax)
            else ""
        ),
        "",
        "| workload | PyTorch / digitnet | JAX scan / digitnet | JAX per-step / digitnet | "
        "digitnet / bound | met? |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, target in TARGETS_27.items():
        got: dict[str, float] = {}
        for run in runs:
            w = run["workloads"].get(name)
            if w is None:
                continue
            for peer, ratio in w["ratios"].items():
                got[peer] = ratio
            if "bound" not in got:
                d = w["systems"]["digitnet"]["median_seconds"]
                got["bound"] = d / (w["gemm_flops_per_epoch"] / (peak_rate(run) * 1e9))
        if not got:
            continue
        missed = []
        for key, want in target.items():
            if key not in got:
                missed.append(f"{JAX.get(key, 'PyTorch')} not measured")
            elif key == "bound" and got[key] > want:
                missed.append(f"bound {got[key]:.2f}x > {want}x")
            elif key != "bound" and got[key] < want:
                missed.append(f"{JAX.get(key, 'PyTorch')} {got[key]:.2f}x < {want:g}x")
        cells = [
            f"{got[k]:.2f}x" + (f" (want >= {target[k]:g}x)" if k in target else "")
            if k in got
            else "-"
            for k in ("pytorch", *JAX)
        ]
        bound = f"{got['bound']:.2f}" + (" (want <= 1.25)" if "bound" in target else "")
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {bound} | "
            + ("yes" if not missed else "**no**: " + "; ".join(missed))
            + " |"
        )
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
        network = {k: v for k, v in r["recipe"]["network"].items() if k in ("sizes", "activation")}
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
        "| run | from preset | network | training | augmentation | validation | "
        "first epoch at 99.0% validation | training time |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: |",
        *rows,
    ]


def write_results(results_dir: Path, out: Path) -> None:
    lines = [
        "# Measured results",
        "",
        "Written by `benchmarks/run.py` (`make bench`); the accuracy runs by "
        "`benchmarks/accuracy.py` (see each row's command), the profile by "
        "`benchmarks/profiling.py`. Numbers from a 2-core machine shared with other work.",
        "",
    ]
    speed_json = results_dir / "speed.json"
    speed = normalized(json.loads(speed_json.read_text())) if speed_json.exists() else None
    if speed is not None:
        lines += speed_section(speed)
    else:
        lines += ["## Speed", "", "Not measured yet: run `make bench`."]
    jax = jax_run(results_dir, speed)
    if jax is not None:
        lines += [""] + jax_section(jax)
    targets = targets_section(speed, jax)
    lines += [""] + (targets + [""] if targets else [])
    for name in ("profile.md", "profile-raw.md"):  # the summary, then profiling.py's tables
        if (HERE / name).exists():
            lines += [(HERE / name).read_text().rstrip(), ""]
    lines += accuracy_section(results_dir)
    lines += [""] + tuning_section(results_dir)
    notes = HERE / "notes.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    out.write_text("\n".join(lines) + "\n")
