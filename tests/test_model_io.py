"""Model files through the public API: Network.save/load and from_config, the one header builder,
the reader's rules from docs/model-format.md, and bad input refused in one line."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from digitnet.cli import main
from digitnet.data import load_embedded
from digitnet.errors import DigitnetError
from digitnet.model_io import (
    load_model,
    model_header,
    portable_source,
    read_header,
    read_trajectory,
    recipe_of,
)
from digitnet.network import CONFIG_KEYS, Network
from digitnet.train import EpochRecord, History, TrainConfig, train

CONFIGS = [
    dict(sizes=[784, 16, 16, 10], activation="sigmoid", output="sigmoid", cost="quadratic",
         init="lecun", dtype="float32"),
    dict(sizes=[784, 12, 10], activation="relu", output="softmax", cost="cross-entropy",
         init="he", dtype="float64"),
    dict(sizes=[5, 4, 3, 2], activation="leaky-relu", output="tanh", cost="quadratic",
         init="xavier", dtype="float32"),
]  # fmt: skip


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and message
    return message


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def header_bytes(header: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def rewrite(path: Path, out: Path, change: Any = None, **arrays: np.ndarray) -> Path:
    """A copy of the model at ``path`` with its header changed by ``change(header)`` and
    ``arrays`` replacing or adding arrays."""
    content = arrays_of(path)
    header = json.loads(content["header"].tobytes())
    if change is not None:
        change(header)
    content["header"] = header_bytes(header)
    content.update(arrays)
    return write_npz(out, **content)


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c['activation']}-{c['dtype']}")
def test_save_then_load_keeps_parameters_bit_identical_and_the_config(config, tmp_path):
    net = Network.from_config(config, seed=3)
    for p in net.parameters():  # values a float32 round through text would change
        p += np.asarray(np.pi / 7, dtype=p.dtype)
    path = tmp_path / "m.npz"
    assert net.save(path) is None
    twin = Network.load(path)
    assert twin.config() == net.config() == config
    for a, b in zip(twin.parameters(), net.parameters(), strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_from_config_builds_what_config_describes(tmp_path):
    for config in CONFIGS:
        net = Network.from_config(config, seed=0)
        assert net.config() == config
        assert Network.from_config(net.config(), seed=0).parameter_vector().tobytes() == (
            net.parameter_vector().tobytes()
        )


def test_load_model_uses_init_normal_when_the_header_has_none(tmp_path):
    path = tmp_path / "m.npz"
    Network([6, 3, 2], init="he").save(path)
    old = rewrite(path, tmp_path / "old.npz", lambda h: h.pop("init"))
    net, header = load_model(old)
    assert "init" not in header and net.init == "normal"


# -- Network.from_config: bad input --------------------------------------------------------------


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda c: c.pop("cost"), "missing cost"),
        (lambda c: c.pop("init"), "missing init"),
        (lambda c: c.update(learning_rate=0.1), "unknown learning_rate"),
        (lambda c: c.update(activation="swish"), "swish"),
        (lambda c: c.update(sizes="784,10"), "sizes"),
        (lambda c: c.update(dtype="float16"), "float16"),
    ],
)
def test_from_config_names_what_is_wrong(change, words):
    config = dict(CONFIGS[0])
    change(config)
    with pytest.raises(DigitnetError) as err:
        Network.from_config(config)
    assert words in one_line(err)


@pytest.mark.parametrize("config", [None, [784, 10], "sizes=784,10", 3])
def test_from_config_refuses_what_is_not_a_dict(config):
    with pytest.raises(DigitnetError) as err:
        Network.from_config(config)  # type: ignore[arg-type]
    assert "dict" in one_line(err)


# -- Network.load: files that are not digitnet models -------------------------------------------


def not_models(folder: Path) -> dict[str, tuple[Path, str]]:
    """Files that are not digitnet models, and a word the error must contain."""
    net = Network([6, 3, 2])
    text = folder / "notes.npz"
    text.write_text("these are my notes, not a model\n")
    random_zip = folder / "random.npz"
    with zipfile.ZipFile(random_zip, "w") as z:
        z.writestr("hello.txt", "hi")
    no_header = write_npz(folder / "weights.npz", W1=net.W[0], b1=net.b[0])
    pickled = write_npz(folder / "pickled.npz", header=np.array([{"evil": 1}], dtype=object))
    header = model_header(net)
    pickled_weights = write_npz(
        folder / "pickled-weights.npz",
        header=header_bytes(header),
        W1=np.array([object()], dtype=object),
        b1=net.b[0],
    )
    foreign = write_npz(folder / "foreign.npz", header=header_bytes({"format": "keras"}))
    return {
        "a text file": (text, "not a zip archive"),
        "a random zip": (random_zip, "no header"),
        "an npz without header": (no_header, "no header"),
        "a pickled npz": (pickled, "pickled"),
        "an npz with pickled weights": (pickled_weights, "pickled"),
        "another format": (foreign, "'keras'"),
        "a missing file": (folder / "missing.npz", "no such model file"),
        "a folder": (folder, "is a folder"),
    }


def test_network_load_refuses_what_is_not_a_digitnet_model(tmp_path):
    cases = not_models(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    for what, (path, words) in cases.items():
        with pytest.raises(DigitnetError) as err:
            Network.load(path)
        message = one_line(err)
        assert str(path) in message and words in message, (what, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def broken(path: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    """Copies of a good model broken in one way each, and a word the error must contain."""
    W1 = arrays_of(path)["W1"]

    def case(name: str, change: Any = None, **arrays: np.ndarray) -> Path:
        return rewrite(path, folder / f"{name}.npz", change, **arrays)

    return {
        "version 2": (case("v2", lambda h: h.update(format_version=2)), "version 2"),
        "version '1'": (case("v1s", lambda h: h.update(format_version="1")), "version '1'"),
        "version true": (case("vtrue", lambda h: h.update(format_version=True)), "version True"),
        "no version": (case("vnone", lambda h: h.pop("format_version")), "version None"),
        "no sizes": (case("nosizes", lambda h: h.pop("sizes")), "'sizes'"),
        "no dtype": (case("nodtype", lambda h: h.pop("dtype")), "'dtype'"),
        "bad sizes": (case("badsizes", lambda h: h.update(sizes=[6, 0, 2])), "'sizes'"),
        "unknown activation": (
            case("swish", lambda h: h.update(activation="swish")),
            "swish",
        ),
        "unknown init": (case("init", lambda h: h.update(init="orthogonal")), "orthogonal"),
        "wrong shape": (case("shape", W1=W1[:2]), "W1 has shape (2, "),
        "wrong dtype": (case("dtype", W1=W1.astype(np.float64)), "W1 has dtype float64"),
        "NaN weight": (case("nan", W1=np.where(W1 == W1, np.nan, W1)), "NaN"),
        "missing array": (
            write_npz(
                folder / "nob2.npz", **{k: v for k, v in arrays_of(path).items() if k != "b2"}
            ),
            "b2 is missing",
        ),  # fmt: skip
        "header not JSON": (
            case("json", header=np.frombuffer(b"{not json", dtype=np.uint8)),
            "unreadable header",
        ),
        "header not an object": (
            case("list", header=np.frombuffer(b"[1, 2]", dtype=np.uint8)),
            "not a JSON object",
        ),
    }


def test_load_refuses_a_broken_model_in_one_line_naming_the_problem(tmp_path):
    good = tmp_path / "good.npz"
    Network([6, 3, 2], init="lecun").save(good)
    cases = broken(good, tmp_path)
    for what, (path, words) in cases.items():
        with pytest.raises(DigitnetError) as err:
            Network.load(path)
        message = one_line(err)
        assert str(path) in message and words in message, (what, message)


def test_the_command_line_refuses_them_in_one_line(tmp_path, capsys):
    good = tmp_path / "good.npz"
    Network([784, 3, 10]).save(good)
    cases = {**not_models(tmp_path), **broken(good, tmp_path)}
    for what, (path, words) in cases.items():
        code = main(["eval", str(path)])
        err = capsys.readouterr().err
        assert code != 0 and "Traceback" not in err, what
        assert len(err.strip().splitlines()) == 1 and words in err, (what, err)


# -- what a reader ignores ------------------------------------------------------------------------


def test_unknown_header_fields_and_other_arrays_are_ignored(tmp_path):
    net = Network([6, 3, 2], seed=4)
    good = tmp_path / "good.npz"
    net.save(good)
    extended = rewrite(
        good,
        tmp_path / "extended.npz",
        lambda h: h.update(comment="from the future", optimizer_state={"v": [1, 2]}),
        notes=np.array([object()], dtype=object),  # never read, so never unpickled
        W3=np.zeros((2, 2), np.float32),  # not a layer of this network
        extra=np.arange(3),
    )
    twin, header = load_model(extended)
    assert header["comment"] == "from the future"
    assert twin.parameter_vector().tobytes() == net.parameter_vector().tobytes()
    assert read_header(extended)["sizes"] == [6, 3, 2]
    assert read_trajectory(extended) is None


def test_a_version_1_file_with_the_old_nan_token_still_loads(tmp_path):
    net = Network([6, 3, 2])
    path = tmp_path / "old.npz"
    net.save(path)
    content = arrays_of(path)
    header = json.loads(content["header"].tobytes())
    header["history"] = {"epochs": [dict(epoch=1, lr=3.0, train_cost=0.1, train_accuracy=0.9,
                                         validation_cost=math.nan, validation_accuracy=math.nan,
                                         test_accuracy=0.9, seconds=1.0, eval_seconds=0.1)],
                         "stopped": "finished", "best_epoch": None}  # fmt: skip
    content["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    assert b"NaN" in content["header"].tobytes()
    write_npz(path, **content)
    _, header = load_model(path)
    assert math.isnan(History.from_dict(header["history"]).last.validation_cost)


# -- the header ---------------------------------------------------------------------------------


def nan_history() -> History:
    record = EpochRecord(1, 3.0, 0.2, 0.9, math.nan, math.nan, math.inf, 1.0, 0.1)
    return History([record], "diverged", None)


def test_the_header_is_strict_json_and_history_reads_back_with_nan(tmp_path):
    net = Network([6, 3, 2])
    path = tmp_path / "m.npz"
    net.save(path, history=nan_history(), note=np.float32(np.nan))
    raw = arrays_of(path)["header"].tobytes().decode()

    def refuse(token: str) -> None:
        raise ValueError(token)

    header = json.loads(raw, parse_constant=refuse)
    record = header["history"]["epochs"][0]
    assert record["validation_cost"] is None and record["test_accuracy"] is None
    assert header["note"] is None
    back = History.from_dict(load_model(path)[1]["history"])
    assert math.isnan(back.last.validation_cost) and math.isnan(back.last.test_accuracy)
    assert back.last.train_cost == 0.2 and back.stopped == "diverged"


def test_history_from_dict_refuses_what_is_not_a_history():
    for bad in (None, [], {"epochs": 3}, {"epochs": [{"epoch": 1}]}, {"epochs": [[1, 2]]}):
        with pytest.raises(DigitnetError) as err:
            History.from_dict(bad)  # type: ignore[arg-type]
        assert "history" in one_line(err)


def test_one_header_builder_takes_objects_or_dicts():
    net = Network([784, 8, 10])
    config = TrainConfig(epochs=2)
    data = load_embedded()
    from_objects = model_header(net, dataset=data, training=config, history=nan_history())
    from_dicts = model_header(
        net,
        dataset={"name": data.name, "checksum": data.checksum, "source": data.source},
        training=config.to_dict(),
        history=nan_history().to_dict(),
    )
    assert from_objects == from_dicts
    assert {k: from_objects[k] for k in CONFIG_KEYS} == net.config()
    assert from_objects["format"] == "digitnet-model" and from_objects["format_version"] == 1
    assert from_objects["dataset"]["checksum"] == data.checksum
    assert "recipe" not in from_objects
    with pytest.raises(DigitnetError) as err:
        model_header(net, sizes=[1, 2])
    assert "'sizes'" in one_line(err)


def test_dataset_source_is_portable():
    assert portable_source("full MNIST from /home/ann/data/mnist (DIGITNET_DATA)") == (
        "full MNIST from .../mnist (DIGITNET_DATA)"
    )
    assert portable_source(r"full Fashion-MNIST from C:\Users\ann\fashion-mnist (--data-dir)") == (
        "full Fashion-MNIST from .../fashion-mnist (--data-dir)"
    )
    embedded = load_embedded().source
    assert portable_source(embedded) == "embedded sample of MNIST (10,000 train / 2,000 test)"
    for source in (embedded, "full MNIST from /a/b/mnist (cache)", "copied from /srv/x and ~/y"):
        once = portable_source(source)
        assert portable_source(once) == once and "/a/" not in once and "/srv" not in once


def test_recipe_of_has_the_shape_digitnet_train_writes():
    net = Network([784, 8, 10], activation="relu", output="softmax", cost="cross-entropy")
    data = load_embedded(validation=10_000)
    recipe = recipe_of(net, TrainConfig(epochs=2, lr=0.1), data)
    assert set(recipe) == {"preset", "network", "training", "augment", "dataset", "validation"}
    assert recipe["network"] == net.config() and recipe["training"]["lr"] == 0.1
    assert recipe["dataset"] == "mnist" and recipe["augment"] is None
    assert recipe["validation"] == 10_000  # as `digitnet train --validation` counts it
    assert recipe_of(net, TrainConfig(), load_embedded(validation=0))["validation"] == 0
    from digitnet.commands.train import make_config

    assert make_config(recipe["training"], recipe["augment"]) == TrainConfig(epochs=2, lr=0.1)


# -- the writers: digitnet train and the web app --------------------------------------------------


def test_digitnet_train_records_a_portable_source_and_prints_the_full_path(
    tmp_path, shared_data, capsys
):
    out = tmp_path / "m.npz"
    code = main(["train", "--layers", "784,8,10", "--epochs", "1", "--validation", "1000",
                 "--data-dir", str(shared_data), "--out", str(out)])  # fmt: skip
    stdout = capsys.readouterr().out
    assert code == 0
    assert str(shared_data / "mnist") in stdout
    header = read_header(out)
    assert header["dataset"]["source"] == "full MNIST from .../mnist (--data-dir)"
    assert len(header["dataset"]["checksum"]) == 64
    assert str(shared_data) not in json.dumps(header)


def test_the_web_apps_live_training_writes_the_same_header(tmp_path):
    from web_helpers import local_client

    from digitnet.web import create_app

    data = load_embedded()
    net = Network([784, 8, 10])
    train(net, data.X_train[:500], data.y_train[:500], TrainConfig(epochs=1))
    app = create_app(net, None, data, save_dir=tmp_path)
    settings = {"hidden": [8], "epochs": 1, "train_examples": 500, "batch_size": 50}
    with local_client(app) as client:
        assert client.post("/api/train", json=settings).status_code == 200
        app.state.trainer.wait(60)
        assert client.post("/api/train/adopt", json={}).status_code == 200
    (saved,) = tmp_path.glob("live-*.npz")
    header = read_header(saved)
    assert header == app.state.served[0].header
    assert header["dataset"] == {
        "name": "mnist",
        "checksum": data.checksum,
        "source": "embedded sample of MNIST (10,000 train / 2,000 test)",
    }
    recipe = header["recipe"]
    assert recipe["network"] == Network.load(saved).config() == {k: header[k] for k in CONFIG_KEYS}
    assert recipe["training"]["epochs"] == 1 and recipe["training"]["batch_size"] == 50
    assert recipe["dataset"] == "mnist" and recipe["validation"] == 10_000
