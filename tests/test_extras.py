"""The core without its extras: ``pip install digitnet`` trains, evaluates and explains; the parts
that need the ``web`` or ``plots`` extra say so in one line.

A missing extra is made here, in a fresh Python process, by setting ``sys.modules[name] = None``
for each of its modules before digitnet is imported: Python then refuses to import them, as it
does a package that is not installed, and ``importlib.util.find_spec`` finds none of them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PHOTO = REPO / "docs" / "photo-digits" / "photo-0-7-png-grey.png"

# the top-level modules of the web and plots extras, and what they pull in
WEB_AND_PLOTS = ("matplotlib", "fastapi", "starlette", "uvicorn", "python_multipart", "multipart")
WEB_PACKAGES = {"fastapi", "uvicorn", "python-multipart"}
PLOTS_PACKAGES = {"matplotlib"}


def without(blocked: tuple[str, ...], code: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python in which the modules ``blocked`` are not installed."""
    script = f"import sys\nfor _name in {blocked!r}:\n    sys.modules[_name] = None\n"
    script += textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def name_of(requirement: str) -> str:
    """The distribution a requirement names ("uvicorn>=0.30" -> "uvicorn"), lower case."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return match.group(0).lower()


# -- the package's metadata ----------------------------------------------------------------------
def test_the_core_dependencies_leave_out_the_web_and_plots_extras():
    core = {name_of(r) for r in PYPROJECT["project"]["dependencies"]}
    assert core == {"numpy", "scipy", "pillow", "pydantic", "tqdm"}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {name_of(r) for r in extras["plots"]} == PLOTS_PACKAGES
    assert {name_of(r) for r in extras["web"]} == WEB_PACKAGES | {"digitnet"}
    assert "digitnet[plots]" in extras["web"]  # the page draws the views' choice of neurons
    assert "bokeh" in {name_of(r) for r in extras["sweep"]}


def test_make_installs_the_extras_it_installed_before_they_were_extras():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install --quiet -e '\.\[([a-z,]+)\]'", makefile)
    assert len(installs) >= 3  # install, install-test, test-pythons
    for extras in installs:
        if extras == "bench" or extras == "docs" or extras == "lab":
            continue  # on top of `make install`
        assert {"plots", "web"} <= set(extras.split(",")), extras


def test_the_extras_map_names_the_modules_the_extras_install():
    from digitnet.extras import EXTRAS, missing

    assert EXTRAS["plots"] == ("matplotlib",)
    assert {"fastapi", "uvicorn", "python_multipart", "matplotlib"} == set(EXTRAS["web"])
    assert missing("web") == [] and missing("plots") == []  # this environment has every extra


# -- importing: nothing of an extra is loaded ----------------------------------------------------
def test_import_digitnet_and_its_commands_load_no_extra(tmp_path):
    """Everything installed, yet ``import digitnet`` and building the CLI import none of it."""
    result = subprocess.run(
        [sys.executable, "-c", "import sys, digitnet, digitnet.cli\n"
         "digitnet.cli.build_parser()\nprint(sorted({m.split('.')[0] for m in sys.modules}))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.replace("'", '"')))
    assert "numpy" in loaded and "digitnet" in loaded
    assert not loaded & {*WEB_AND_PLOTS, "bokeh", "dask", "distributed", "sklearn", "torch"}


# -- the core at work without the extras ---------------------------------------------------------
def test_the_core_trains_evaluates_and_explains_without_web_and_plots(tmp_path, shared_data):
    code = f"""
    import json
    from dataclasses import replace
    from contextlib import redirect_stdout
    from io import StringIO

    import digitnet
    from digitnet import Network, TrainConfig, load, train_on
    from digitnet.cli import main

    data = load("mnist", data_dir={str(shared_data)!r}, validation=10_000)
    small = replace(data, X_train=data.X_train[:10_000], y_train=data.y_train[:10_000])
    net = Network([784, 16, 16, 10], activation="sigmoid", cost="quadratic", seed=0)
    history = train_on(net, small, TrainConfig(epochs=1, batch_size=10, lr=1.5, seed=0))
    results = {{"api": history.last.test_accuracy, "codes": {{}}}}
    d = ["--data-dir", {str(shared_data)!r}]
    commands = {{
        "init": ["init", "--out", "untrained.npz"],
        "train": ["train", "--preset", "lessons", "--epochs", "1", "--validation", "50000",
                  "--out", "m.npz", *d],
        "eval": ["eval", "m.npz", "--json", *d],
        "explain": ["explain", "m.npz", "--image", "0", "--layer", "3", "--weight", "7,2", *d],
        "gradcheck": ["gradcheck", "m.npz", *d],
        "predict": ["predict", "m.npz", {str(PHOTO)!r}, "--json"],
    }}
    for name, argv in commands.items():
        out = StringIO()
        with redirect_stdout(out):
            results["codes"][name] = main(argv)
        results[name] = out.getvalue()
    results["still_blocked"] = all(sys.modules[n] is None for n in {WEB_AND_PLOTS!r})
    print("RESULTS " + json.dumps(results))
    """
    result = without(WEB_AND_PLOTS, code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULTS "))
    results = json.loads(line.removeprefix("RESULTS "))
    assert results["codes"] == dict.fromkeys(
        ("init", "train", "eval", "explain", "gradcheck", "predict"), 0
    ), result.stderr[-3000:]
    assert results["api"] > 0.5  # one epoch on 10,000 images: far above chance
    assert "after 1 epoch (finished); model written to m.npz" in results["train"]
    assert 0.5 < json.loads(results["eval"])["accuracy"] <= 1
    assert results["explain"].startswith("The chain rule for one weight, w_jk^(3) with j=7, k=2")
    assert "dC/dw_jk^(3) = dz_j/dw_jk * da_j/dz_j * dC/da_j" in results["explain"]
    assert results["gradcheck"].splitlines()[-1].startswith("passed: max relative error")
    assert json.loads(results["predict"])[0]["digit"] in range(10)
    assert results["still_blocked"]  # nothing put the blocked modules back


MESSAGES = {
    "web": "digitnet serve needs the web extra: pip install 'digitnet[web]'",
    "plot": "digitnet plot needs the plots extra: pip install 'digitnet[plots]'",
    "demo": "digitnet demo needs the plots extra: pip install 'digitnet[plots]'",
    "experiment": "digitnet experiment needs the plots extra: pip install 'digitnet[plots]'",
}


@pytest.mark.parametrize(
    ("blocked", "argv", "message"),
    [
        (("fastapi", "starlette"), ["serve", "untrained.npz", "--port", "0"], MESSAGES["web"]),
        (("uvicorn",), ["serve"], MESSAGES["web"]),  # no model: would train one first
        (("python_multipart", "multipart"), ["serve", "untrained.npz"], MESSAGES["web"]),
        (("matplotlib",), ["serve", "untrained.npz"], MESSAGES["web"]),
        (("matplotlib",), ["plot", "weights", "untrained.npz", "-o", "w.png"], MESSAGES["plot"]),
        (("matplotlib",), ["plot", "sweep", "s.db", "-o", "s.png"], MESSAGES["plot"]),
        (("matplotlib",), ["demo", "--out-dir", "demo"], MESSAGES["demo"]),
        (("matplotlib",), ["experiment", "noise", "--quick", "-o", "e"], MESSAGES["experiment"]),
    ],
    ids=[
        "serve-fastapi",
        "serve-uvicorn",
        "serve-multipart",
        "serve-matplotlib",
        "plot",
        "plot-sweep",
        "demo",
        "experiment",
    ],
)
def test_a_command_without_its_extra_is_one_line_naming_it(blocked, argv, message, tmp_path):
    from digitnet.network import Network

    Network([784, 16, 10], seed=0).save(tmp_path / "untrained.npz")
    before = sorted(p.name for p in tmp_path.iterdir())
    code = f"from digitnet.cli import main\nsys.exit(main({argv!r}))\n"
    result = without(blocked, code, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"digitnet: error: {message}"]
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing trained or written


@pytest.mark.parametrize(
    ("blocked", "module", "extra"),
    [
        (("matplotlib",), "digitnet.views", "plots"),
        (("matplotlib",), "digitnet.views.sweep", "plots"),
        (("fastapi", "starlette"), "digitnet.web", "web"),
        (("uvicorn",), "digitnet.web.server", "web"),
    ],
)
def test_importing_a_part_without_its_extra_is_an_import_error_naming_it(
    blocked, module, extra, tmp_path
):
    code = f"""
    from digitnet.errors import DigitnetError
    try:
        import {module}
    except ImportError as err:
        print(type(err).__name__, isinstance(err, DigitnetError), err)
    """
    result = without(blocked, code, tmp_path)
    assert result.returncode == 0, result.stderr
    package = ".".join(module.split(".")[:2])
    assert result.stdout.strip() == (
        f"MissingExtra True {package} needs the {extra} extra: pip install 'digitnet[{extra}]'"
    )


def test_run_tracking_without_matplotlib_stops_before_training(tmp_path, shared_data):
    code = f"""
    from digitnet.cli import main
    sys.exit(main(["train", "--layers", "784,8,10", "--epochs", "1", "--log-dir", "log",
                   "--data-dir", {str(shared_data)!r}, "--out", "m.npz"]))
    """
    result = without(("matplotlib",), code, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "digitnet: error: run tracking needs matplotlib (the plots extra); install: "
        "pip install 'digitnet[tracking]'"
    ]
    assert not (tmp_path / "m.npz").exists()


# -- the sweep extra: Dask's dashboard -----------------------------------------------------------
def test_the_sweep_extras_local_cluster_serves_the_dashboard_it_names():
    """bokeh (in the sweep extra) makes the LocalCluster's scheduler serve Dask's dashboard, on
    the free port the sweep gives it; the line the sweep prints names that page, and it answers."""
    from digitnet.sweep import cluster

    with cluster.connect(None, 1, 30) as client:
        link = cluster.dashboard_link(client)
        assert link is not None and re.fullmatch(r"http://127\.0\.0\.1:\d+/status", link), link
        assert cluster.describe_dashboard(client) == f"dashboard: {link}"
        with urllib.request.urlopen(link, timeout=30) as response:
            status, page = response.status, response.read().decode("utf-8", "replace")
    assert status == 200 and "<html" in page.lower() and "dask" in page.lower()


def test_a_scheduler_without_a_dashboard_says_so():
    from digitnet.sweep import cluster

    class NoDashboard:  # what a Client of a scheduler started with --no-dashboard reports
        class scheduler:
            address = "tcp://10.0.0.5:8786"

        @staticmethod
        def scheduler_info() -> dict:
            return {"services": {}}

    class Dashboard(NoDashboard):
        @staticmethod
        def scheduler_info() -> dict:
            return {"services": {"dashboard": 8787}}

    assert cluster.dashboard_link(NoDashboard()) is None
    assert cluster.describe_dashboard(NoDashboard()).startswith("dashboard: none (")
    assert cluster.dashboard_link(Dashboard()) == "http://10.0.0.5:8787/status"
