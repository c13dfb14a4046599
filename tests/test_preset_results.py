"""The measured rows of benchmarks/RESULTS.md belong to the presets as they are: every stored
run of a preset (``benchmarks/results/<preset>-seed<N>.json``) trained that preset's recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digitnet.network import Network
from digitnet.presets import PRESETS
from digitnet.settings import make_config

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
RUNS = sorted(RESULTS.glob("*-seed*.json"))


def filled(network: dict, training: dict, augment: dict | None) -> tuple[dict, dict]:
    """The recipe with every default spelled out, the seed left aside."""
    training = {k: v for k, v in training.items() if k != "seed"}
    config = make_config(training, augment).to_dict()
    return Network(**network, seed=0).config(), config


def test_every_preset_with_a_row_has_runs():
    assert {p.name.rsplit("-seed", 1)[0] for p in RUNS} >= {"lessons", "best", "fashion"}


@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.stem)
def test_a_stored_run_trained_its_preset_s_recipe(path: Path):
    run = json.loads(path.read_text())
    name = path.name.rsplit("-seed", 1)[0]
    preset = PRESETS[name]
    recipe = run["recipe"]
    assert recipe["dataset"] == preset.dataset and recipe["validation"] == preset.validation
    assert filled(recipe["network"], recipe["training"], recipe["augment"]) == filled(
        preset.network, preset.training, preset.augment
    )
    assert recipe["training"]["seed"] == run["seed"]
