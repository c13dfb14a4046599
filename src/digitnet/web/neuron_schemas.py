"""The request and answer of ``/api/neuron/function``: one neuron as a function, a = sigma(z)
with z = sum_k w_jk a_k + b_j, and what the answer becomes when its bias or one incoming weight
is moved (on a scratch copy of the served network, which never changes).

The bounds are :func:`digitnet.explain.neuron_function`'s: a bias or weight is a finite number
within +-``MAX_PARAMETER``, so NaN, infinity and huge values are refused before any arithmetic.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from digitnet.explain import MAX_PARAMETER
from digitnet.web.schemas import ImageInput

Parameter = Annotated[
    float,
    Field(
        ge=-MAX_PARAMETER,
        le=MAX_PARAMETER,
        allow_inf_nan=False,
        description=f"a finite number from {-MAX_PARAMETER:g} to {MAX_PARAMETER:g}",
    ),
]


class WeightChange(BaseModel):
    """One incoming weight w_jk of the neuron, set to ``value``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    k: int = Field(ge=0, le=1_000_000, description="neuron k of layer l-1 (0..n_{l-1}-1)")
    value: Parameter


class NeuronFunctionInput(ImageInput):
    """An image, a neuron (layer 1..L, index 0..n_l-1), and optionally a new bias b_j and a
    new weight w_jk to try on a scratch copy."""

    layer: int = Field(ge=1, le=100, description="layer l, 1..L (0 is the input, with no weights)")
    index: int = Field(ge=0, le=1_000_000, description="neuron j of that layer, from 0")
    bias: Parameter | None = Field(default=None, description="the bias b_j to try")
    weight: WeightChange | None = Field(default=None, description="the weight w_jk to try")


class Curve(BaseModel):
    z: list[float] = Field(description="z_j, evenly spaced over a range covering z (and moved z)")
    a: list[float] = Field(
        description="a_j at each z: sigma(z), or for a softmax output a_j as z_j alone moves"
    )


class MovedNeuron(BaseModel):
    """The neuron and the network's answer with the new bias and weight in place."""

    b: float = Field(description="b_j on the scratch copy")
    k: int | None = Field(description="the weight moved, if any")
    w_k: float | None = Field(description="w_jk on the scratch copy")
    old_w_k: float | None = Field(description="w_jk of the served network")
    z: float
    a: float
    output: list[float] = Field(description="a^(L) of the scratch copy")
    probabilities: list[float] = Field(description="its probabilities (as Network.predict_proba)")
    answer: int = Field(description="its most active output neuron")


class NeuronFunctionAnswer(BaseModel):
    """:func:`digitnet.explain.neuron_function` for the image, unrounded, plus the strongest
    incoming connection and the served model's version."""

    layer: int
    j: int = Field(description="the neuron's index in its layer")
    activation: str = Field(description="sigma's name")
    z: float = Field(description="z_j of the served network for the image")
    a: float = Field(description="a_j = sigma(z_j)")
    b: float = Field(description="b_j of the served network")
    w: list[float] = Field(description="row j of W^(l): the incoming weights")
    a_prev: list[float] = Field(description="a^(l-1) for the image")
    output: list[float] = Field(description="a^(L) of the served network")
    probabilities: list[float] = Field(description="Network.predict_proba of the served network")
    answer: int = Field(description="the served network's answer")
    curve: Curve
    moved: MovedNeuron | None = Field(description="null unless a bias or weight was given")
    strongest_k: int = Field(description="the k with the largest |w_jk a_k| for this image")
    model_version: int = Field(description="the served network, unchanged by the request")
