"""The types of a model file's optional header fields, checked in one place.

:func:`check_fields` is what :mod:`digitnet.model_io` runs on every header it reads, after the
required fields: each optional field that digitnet reads back (``dataset``, ``recipe``,
``training``, ``history``, ``state``) must have the shape ``docs/model-format.md`` gives it, so
that no command meets a ``"dataset": 7`` or an ``"lr": "fast"`` later. The types come from the
classes that use the values (:class:`digitnet.train.TrainConfig`,
:class:`~digitnet.train.EpochRecord`, :class:`digitnet.data.Augmentation`), checked strictly
by pydantic (no ``"3"`` for 3, no ``true`` for 1); a recipe's settings are then checked as
``digitnet train --resume`` will use them.
Fields digitnet only shows or ignores (``input``, ``trained_live``, ``imported_from``, unknown
ones) are not checked.

Pydantic is imported only when a header is read, so the command line starts without it.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from digitnet.errors import DigitnetError

STOPPED = ("finished", "early-stopping", "interrupted", "diverged")


class _Open(BaseModel):
    """Strict types; fields it does not name are allowed (a later digitnet may add some)."""

    model_config = ConfigDict(strict=True, extra="allow")


class _Closed(BaseModel):
    """Strict types; no other fields (what is passed to a constructor as keywords)."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Dataset(_Open):
    name: str | None = None
    checksum: str | None = None
    source: str | None = None


class NetworkConfig(_Closed):
    sizes: list[int]
    activation: str
    output: str
    cost: str
    init: str
    dtype: str


class State(_Open):
    rng: dict[str, Any]
    optimizer: str = ""


# Field types made at run time from models and values that exist only then: to a type checker
# these are values, not types, so the helpers hand them over as Any.
def _list_of(model: type[BaseModel]) -> Any:
    return types.GenericAlias(list, (model,))  # list[model]


def _optional(model: type[BaseModel]) -> Any:
    return model | None


def _one_of(values: tuple[str, ...]) -> Any:
    # subscripted by a run-time tuple: Literal[("a", "b")] is Literal["a", "b"]
    literal: Any = Literal
    return literal[values]


def _fields_of(cls: type, skip: tuple[str, ...] = (), nan: bool = False) -> dict[str, Any]:
    """Pydantic field definitions from dataclass ``cls``'s annotations and defaults; with
    ``nan``, a float field also takes None (a measurement that was NaN, written as null)."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = hints[f.name]
        if kind is float and nan:
            kind = float | None
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = ...
        fields[f.name] = (kind, default)
    return fields


@cache
def _models() -> dict[str, type[BaseModel]]:
    """The models built from digitnet's own classes (imported on first use)."""
    from digitnet.data.augment import Augmentation
    from digitnet.train import EpochRecord, TrainConfig

    augment_fields = _fields_of(Augmentation)
    augment_fields["translate"] = (int | float, augment_fields["translate"][1])  # 2.0 is 2
    augment = create_model("Augment", __base__=_Closed, **augment_fields)
    epoch = create_model("Epoch", __base__=_Closed, **_fields_of(EpochRecord, nan=True))
    history = create_model(
        "History",
        __base__=_Open,
        epochs=(_list_of(epoch), []),
        stopped=(_one_of(STOPPED), "finished"),
        best_epoch=(int | None, None),
        compile_seconds=(float | None, None),
    )
    settings = _fields_of(TrainConfig, skip=("augment",))
    recipe_training = create_model("RecipeTraining", __base__=_Closed, **settings)
    training = create_model(
        "Training", __base__=_Open, **settings, augment=(_optional(augment), None)
    )
    recipe = create_model(
        "Recipe",
        __base__=_Open,
        preset=(str | None, None),
        network=(NetworkConfig, ...),
        training=(recipe_training, ...),
        augment=(_optional(augment), None),
        dataset=(str, ...),
        validation=(int | None, None),
    )
    return {
        "dataset": Dataset,
        "recipe": recipe,
        "training": training,
        "history": history,
        "state": State,
    }


def check_fields(header: dict[str, Any]) -> None:
    """Raise :class:`DigitnetError` naming the first optional field of ``header`` that has the
    wrong type or an unusable value, as ``header field 'recipe.training.lr' ...``."""
    models = _models()
    for key, model in models.items():
        if key not in header:
            continue
        try:
            model.model_validate(header[key])
        except ValidationError as err:
            raise DigitnetError(_describe(key, err)) from None
    recipe = header.get("recipe")
    if recipe is not None:
        _check_recipe_values(recipe)


def _describe(key: str, err: ValidationError) -> str:
    """One line for pydantic's first complaint: the field's dotted path, what is wrong, and
    the value found (cut short)."""
    first = err.errors(include_url=False)[0]
    where = key
    for part in first["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif part not in ("function-after", "literal", "list", "dict", "float", "int", "str"):
            where += f".{part}"
    if first["type"] == "missing":
        return f"header field {where!r} is missing"
    if first["type"] == "extra_forbidden":
        return f"header field {where!r} is not one digitnet knows"
    found = repr(first.get("input"))
    if len(found) > 40:
        found = found[:37] + "..."
    message = re.sub(r"a valid dictionary( or instance of \w+)?", "a JSON object", first["msg"])
    message = message.replace("a valid list", "a JSON list")
    message = message[:1].lower() + message[1:]
    return f"header field {where!r}: {message}, got {found}"


def _check_recipe_values(recipe: dict[str, Any]) -> None:
    """The recipe's training settings and augmentation checked as ``--resume`` will use them
    (a learning rate of -1 has the right type but trains nothing)."""
    from digitnet.data.augment import Augmentation
    from digitnet.train import TrainConfig

    try:
        TrainConfig(**recipe["training"]).validate()
    except DigitnetError as err:
        raise DigitnetError(f"header field 'recipe.training': {err}") from None
    try:
        if recipe.get("augment"):
            Augmentation(**recipe["augment"])
    except DigitnetError as err:
        raise DigitnetError(f"header field 'recipe.augment': {err}") from None
