"""The request bodies of the web API, validated by pydantic (and so described in OpenAPI).

Limits that keep one person's laptop responsive: a drawing is 784 numbers in [0, 1] or a PNG of
at most 1 MB and 2000x2000 pixels; a live training run has at most 100 epochs and 4 hidden layers
of at most 2048 neurons, with at most ``MAX_WEIGHTS`` weights in all, and trains on at most the
50,000 training images left once 10,000 are held out for validation; a teaching step's eta is
in (0, ``MAX_ETA``]; a slow-motion run's speed is in (0, ``MAX_SPEED``] steps per second (null:
full speed); a mini-batch of test images for the teach panel has 2 to ``MAX_TEACH_BATCH`` images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from digitnet.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from digitnet.costs import COST_NAMES
from digitnet.data import DATASETS
from digitnet.network import INITS
from digitnet.step_rules import OPTIMIZERS, SCHEDULES

N_INPUTS = 784
MAX_EPOCHS = 100
MAX_HIDDEN_LAYERS = 4
MAX_NEURONS = 2048
MAX_WEIGHTS = 4_000_000
MAX_TRAIN_EXAMPLES = 50_000  # MNIST's 60,000 training images less the 10,000 validation ones
MAX_ETA = 100.0
IMAGE_SIDE = 28
MAX_SPEED = 100.0
MAX_TEACH_BATCH = 32

StepsPerSecond = Annotated[
    float | None,
    Field(
        gt=0,
        le=MAX_SPEED,
        allow_inf_nan=False,
        description="slow motion: at most this many mini-batch steps a second, in (0, 100]; "
        "null: full speed",
    ),
]

Pixel = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Pixels = Annotated[
    list[Pixel],
    Field(
        min_length=N_INPUTS,
        max_length=N_INPUTS,
        description="784 numbers in [0, 1], the 28x28 image row by row, ink high (MNIST's way)",
    ),
]
PngText = Annotated[
    str,
    Field(
        description="a PNG of at most 1 MB and 2000x2000 pixels, base64 (a data: URL is fine); "
        "it goes through the same preprocessing as `digitnet predict`",
    ),
]

# A field that may be left out but is never null: the schema has Pixels (PngText), the value
# is None when the field is absent.
if TYPE_CHECKING:
    OptionalPixels: TypeAlias = list[float] | None
    OptionalPng: TypeAlias = str | None
else:
    OptionalPixels = Pixels
    OptionalPng = PngText


def _literal(names: tuple[str, ...] | list[str]) -> object:
    return Literal.__getitem__(tuple(names))


# The names a live run's settings accept, as Literals built from the registries (so OpenAPI lists
# them and pydantic refuses any other). mypy cannot evaluate a Literal built at run time: to it
# they are str, the type of every name they admit.
if TYPE_CHECKING:
    HiddenActivation: TypeAlias = str
    OutputActivation: TypeAlias = str
    CostName: TypeAlias = str
    InitName: TypeAlias = str
    OptimizerName: TypeAlias = str
    ScheduleName: TypeAlias = str
    DatasetName: TypeAlias = str
else:
    HiddenActivation = _literal(HIDDEN_ACTIVATIONS)
    OutputActivation = _literal(list(ACTIVATIONS))
    CostName = _literal(COST_NAMES)
    InitName = _literal(INITS)
    OptimizerName = _literal(OPTIMIZERS)
    ScheduleName = _literal(SCHEDULES)
    DatasetName = _literal(list(DATASETS))


class ImageInput(BaseModel):
    """One digit: either ``pixels`` or ``png``, not both."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"oneOf": [{"required": ["pixels"]}, {"required": ["png"]}]},
    )

    pixels: OptionalPixels = None  # one of the two is given: see oneOf
    png: OptionalPng = None

    @model_validator(mode="after")
    def _one_of(self) -> ImageInput:
        if (self.pixels is None) == (self.png is None):
            raise ValueError("give exactly one of 'pixels' (784 numbers in [0, 1]) or 'png'")
        return self


class TeachInput(ImageInput):
    """One image and the label the network should give it: what backprop wants changed."""

    label: int = Field(
        ge=0,
        le=1_000_000,
        description="the right answer: an output neuron j, 0..n_L-1 (class_names[j] in /api/model)",
    )


class StepInput(TeachInput):
    """One image, its label, and the step size of one gradient descent step."""

    eta: float = Field(
        gt=0,
        le=MAX_ETA,
        allow_inf_nan=False,
        description="eta in W <- W - eta dC/dW, b <- b - eta dC/db; in (0, 100]",
    )


class EmptyBody(BaseModel):
    """No settings: an empty JSON object (the request must still be sent as JSON)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SpeedRequest(BaseModel):
    """The live run's pace: steps per second (1 to 50 lets a class watch each step), or null."""

    model_config = ConfigDict(extra="forbid", strict=True)

    steps_per_second: StepsPerSecond = Field(...)


class BatchRequest(BaseModel):
    """A mini-batch of test images for the teach panel: ``size`` of them drawn with ``seed``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    size: int = Field(default=8, ge=2, le=MAX_TEACH_BATCH, description="m, 2..32 images")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class AdoptRequest(BaseModel):
    """Which candidate to serve: ``job`` guards against adopting a newer run than the one shown."""

    model_config = ConfigDict(extra="forbid", strict=True)

    job: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="the candidate's job number, if known"
    )


class NeuronRequest(BaseModel):
    """Which neuron to inspect (layer 1..L, index 0..n_l-1), and optionally the current image
    so that its z and a are included."""

    model_config = ConfigDict(extra="forbid", strict=True)

    layer: int = Field(ge=1, le=100, description="layer l, 1..L (0 is the input, with no weights)")
    index: int = Field(ge=0, le=1_000_000, description="neuron j of that layer, from 0")
    pixels: OptionalPixels = None


class TrainRequest(BaseModel):
    """Settings of a live training run: the network's shape and how to train it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    hidden: list[Annotated[int, Field(ge=1, le=MAX_NEURONS)]] = Field(
        default=[64],
        max_length=MAX_HIDDEN_LAYERS,
        description="hidden layer sizes; the input (784) and output (10) layers are added",
    )
    activation: HiddenActivation = "relu"
    output: OutputActivation = "softmax"
    cost: CostName = "cross-entropy"
    init: InitName = "he"
    optimizer: OptimizerName = "momentum"
    schedule: ScheduleName = "constant"
    lr: float = Field(default=0.05, gt=0, le=100, allow_inf_nan=False, description="eta")
    batch_size: int = Field(default=64, ge=1, le=10_000)
    epochs: int = Field(default=3, ge=1, le=MAX_EPOCHS)
    dataset: DatasetName = "mnist"
    train_examples: int = Field(
        default=50_000,
        ge=100,
        le=MAX_TRAIN_EXAMPLES,
        description="train on the first this many training images (at most 50,000: the other "
        "10,000 of MNIST's 60,000 are the validation split)",
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    paused: bool = Field(
        default=False,
        description="start paused: nothing trains until /api/train/step or /api/train/resume",
    )
    steps_per_second: StepsPerSecond = None

    @model_validator(mode="after")
    def _not_too_big(self) -> TrainRequest:
        sizes = [N_INPUTS, *self.hidden, 10]
        weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        if weights > MAX_WEIGHTS:
            raise ValueError(
                f"a {'-'.join(map(str, sizes))} network has {weights:,} weights, more than the "
                f"{MAX_WEIGHTS:,} a live training run may have"
            )
        return self

    @property
    def sizes(self) -> list[int]:
        return [N_INPUTS, *self.hidden, 10]


class ErrorMessage(BaseModel):
    """Every error: a one-line message (and, for invalid requests, where it was found)."""

    detail: str
    errors: list[dict] | None = None


# -- answers (documented in the OpenAPI schema, and checked against it by the fuzz test) ---------


class Prediction(BaseModel):
    """The network's answer for one image, read off its forward trace."""

    prediction: int = Field(description="the most active output neuron j")
    label: str = Field(description="its class name")
    confidence: float = Field(description="its probability")
    probabilities: list[float] = Field(
        description="Network.predict_proba: softmax outputs, or outputs clipped at 0 / their sum"
    )
    outputs: list[float] = Field(description="the output activations a^(L) as they are")
    output_activation: str
    image: list[float] = Field(description="the 784 inputs the network read, 28x28 row by row")
    model_version: int = Field(description="goes up each time live training replaces the network")


class LayerTrace(BaseModel):
    layer: int = Field(description="l, 0 for the input")
    size: int = Field(description="n_l")
    a: list[float] = Field(description="a^(l), every neuron")
    z: list[float] | None = Field(description="z^(l) = W a^(l-1) + b (null for the input)")
    shown: list[int] = Field(description="the neurons the diagram draws, in increasing order")
    scale: float = Field(description="the activation drawn as full ink: 1, or max a^(l) if above")


class Connection(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    layer: int = Field(description="the weight belongs to W^(l)")
    from_: int = Field(alias="from", description="neuron k of layer l-1")
    to: int = Field(description="neuron j of layer l")
    weight: float = Field(description="w_jk")
    push: float = Field(description="w_jk a_k: what this connection adds to z_j for this image")


class TraceAnswer(Prediction):
    """The prediction plus the whole forward trace, for the network diagram."""

    sizes: list[int]
    layers: list[LayerTrace]
    connections: list[Connection] = Field(
        description="the connections the diagram draws: for each layer l, the strongest "
        "|w_jk a_k| among the neurons shown, strongest first"
    )


class NeuronAnswer(BaseModel):
    layer: int
    index: int
    label: str | None = Field(description="the class name, for an output neuron")
    activation: str
    weights: list[float] = Field(description="the incoming weights w_j. (row j of W^(l))")
    weights_shape: list[int] = Field(description="[28, 28] for the first layer")
    bias: float
    z: float | None = Field(description="z_j for the given pixels, if any")
    a: float | None = Field(description="a_j = sigma(z_j) for the given pixels, if any")
    inputs: list[float] | None = Field(description="a^(l-1) for the given pixels, if any")


class WeightImages(BaseModel):
    layer: int
    shown: int
    of: int
    columns: int
    tile: int
    gap: int
    scale: int
    png: str = Field(description="a data: URL of the grid of 28x28 tiles")


class EpochNumbers(BaseModel):
    epoch: int
    lr: float | None
    train_cost: float | None
    train_accuracy: float | None
    validation_cost: float | None
    validation_accuracy: float | None
    test_accuracy: float | None
    seconds: float | None
    eval_seconds: float | None


class Candidate(BaseModel):
    """A network trained live, shown beside the served one until it is adopted."""

    job: int = Field(description="the run that trained it")
    sizes: list[int]
    activation: str
    output: str
    cost: str
    n_params: int
    dataset: str | None
    test_accuracy: float | None = Field(description="measured on the test set when the run ended")
    epochs_trained: int
    batches_trained: int = Field(description="mini-batch steps it took")
    history: list[EpochNumbers] = Field(description="its curves: one record an epoch")
    file: str | None = Field(description="its model file's name (in the server's runs/web)")


class ModelInfo(BaseModel):
    """The network being served, and the sizes the page draws it with."""

    sizes: list[int]
    activation: str
    output: str
    cost: str
    n_params: int
    class_names: list[str]
    dataset: str | None
    test_accuracy: float | None
    epochs_trained: int
    history: list[dict]
    explore: bool = Field(description="whether test images are loaded")
    n_inputs: int = Field(description="n_0, the input neurons: 784")
    image_shape: list[int] = Field(description="the input as an image, rows x columns: [28, 28]")
    diagram_neurons: int = Field(description="the diagram shows at most this many hidden neurons")
    diagram_connections: int = Field(description="at most this many connections between 2 layers")
    diagram_shown: list[int] = Field(
        description="how many neurons the diagram shows of each layer l = 0..L"
    )
    max_eta: float = Field(description="the largest eta a teaching step accepts")
    max_live_models: int = Field(description="live-trained model files kept on disk, at most")
    version: int = Field(description="goes up by one each time a candidate is adopted")
    digitnet_version: str
    candidate: Candidate | None = Field(
        default=None, description="the finished live run waiting to be adopted, if any"
    )


class TestImage(BaseModel):
    index: int
    label: int
    label_name: str
    prediction: int
    prediction_name: str
    confidence: float = Field(description="the answer's probability (Network.predict_proba)")
    pixels: list[int] = Field(description="784 grey levels 0..255, ink high")


class TestImages(BaseModel):
    dataset: str
    source: str
    total: int
    mistakes: int
    accuracy: float
    mode: str
    images: list[TestImage]


class BatchCost(BaseModel):
    """One mini-batch step's cost, on that mini-batch before its step."""

    step: int = Field(description="the step's number in the run, from 1")
    epoch: int
    batch: int = Field(description="its number within the epoch, from 1")
    cost: float = Field(description="C on the mini-batch, before the step")
    average: float = Field(description="the mean of the latest 20 costs recorded")
    seconds: float = Field(description="when the step began, in seconds since the run's start")


class CostsAnswer(BaseModel):
    job: int
    average_over: int = Field(description="the running average's window, in mini-batches")
    costs: list[BatchCost] = Field(
        description="from the since-th on: every step while slowed down or paused, every 5th at "
        "full speed"
    )
    count: int = Field(description="costs recorded in all")


class Wishes(BaseModel):
    """A mini-batch's wishes for the outputs, before and after the averaging."""

    size: int = Field(description="m, the examples")
    class_names: list[str]
    labels: list[int] = Field(description="y_i, each example's label")
    predictions: list[int] = Field(description="each example's answer before the step")
    wishes: list[list[float]] = Field(
        description="(m, n_L): row i is -dC_i/da^(L), what example i alone wants of the outputs"
    )
    average: list[float] = Field(description="(n_L,): the rows' mean, the batch's -dC/da^(L)")
    cost_before: float = Field(description="C on the mini-batch")


class StepNudges(Wishes):
    """The live run's latest step taken in slow motion: its mini-batch's wishes and costs."""

    step: int
    epoch: int
    batch: int
    lr: float = Field(description="eta of the step")
    cost_after: float = Field(description="C on the same mini-batch after the step")
    cost_change: float = Field(description="cost_after - cost_before")


class BatchWishes(Wishes):
    """The teach panel's mini-batch of test images: each one's wishes, then their average."""

    indices: list[int] = Field(description="the test images' numbers")
    pixels: list[list[int]] = Field(description="each image's 784 grey levels 0..255")
    model_version: int


class SliceGrid(BaseModel):
    alphas: list[float] = Field(description="the grid's columns: distance along d1")
    betas: list[float] = Field(description="the grid's rows: distance along d2")
    costs: list[list[float]] = Field(description="(len(betas), len(alphas)): C on the slice")
    examples: int = Field(description="the validation images every cost is measured on")
    alpha_is: str
    beta_is: str


class PathPoint(BaseModel):
    step: int = Field(description="the weights after this many steps (0: the start)")
    alpha: float
    beta: float
    cost: float = Field(description="the real C at the run's weights (net.total_cost)")
    slice_cost: float = Field(description="C on the slice at (alpha, beta), below the point")
    off_plane: float = Field(description="share of |theta - theta_0| outside the slice")


class LandscapeAnswer(BaseModel):
    job: int
    note: str = Field(description="why there is no slice, or that the path is full")
    grid: SliceGrid | None
    path: list[PathPoint] = Field(description="from the since-th point on")
    points: int = Field(description="points recorded in all")


class TrainStatus(BaseModel):
    """A live training run: its settings, state, the epochs and mini-batches done so far."""

    job: int | None
    state: str = Field(description="idle, loading, running, paused, finished, stopped or failed")
    running: bool | None = Field(default=None, description="the run has not ended")
    stopping: bool | None = None
    paused: bool | None = Field(default=None, description="the run waits for step or resume")
    message: str | None = None
    settings: dict | None = None
    epochs_done: int | None = None
    epochs: int | None = None
    epoch: int | None = Field(default=None, description="the epoch in progress (1..epochs)")
    batches_done: int | None = Field(default=None, description="mini-batch steps taken in all")
    batch_in_epoch: int | None = Field(default=None, description="steps taken this epoch")
    batches_per_epoch: int | None = None
    train_examples: int | None = Field(
        default=None, description="the training images actually used"
    )
    records: list[EpochNumbers] | None = None
    progress: dict | None = None
    candidate: Candidate | None = Field(
        default=None, description="the finished run waiting to be adopted, if any"
    )
    served_version: int | None = Field(default=None, description="/api/model's version")
    steps_per_second: float | None = Field(
        default=None, description="the run's pace in slow motion (null: full speed)"
    )
    batch_cost: BatchCost | None = Field(default=None, description="the latest mini-batch's")
    landscape: bool | None = Field(default=None, description="/api/train/landscape has a slice")
    landscape_note: str | None = None
    last_step: int | None = Field(
        default=None, description="the step whose nudges /api/train/nudges gives, if any"
    )


# -- teaching: one backprop step ---------------------------------------------------------------


class LayerGradient(BaseModel):
    """Backprop's numbers for layer l, for the one image and label."""

    layer: int = Field(description="l, 1..L")
    size: int = Field(description="n_l")
    delta: list[float] = Field(description="delta^(l) = dC/dz^(l), every neuron (n_l,)")
    dC_db: list[float] = Field(description="dC/db^(l) (n_l,): equal to delta^(l) for one image")
    wanted_a: list[float] = Field(
        description="-dC/da^(l) (n_l,): the change each neuron of layer l wants"
    )
    max_abs_dC_dW: float = Field(description="the largest |dC/dw_jk| of W^(l)")
    norm_dC_dW: float = Field(description="the Frobenius norm of dC/dW^(l)")
    shown: list[int] = Field(description="the neurons the diagram draws (as /api/trace)")


class GradientConnection(Connection):
    dC_dw: float = Field(description="dC/dw_jk: a step moves w_jk by -eta times this")


class BackpropAnswer(BaseModel):
    """One image and its label through one forward trace and one backprop: the lessons' nudges
    (``digitnet plot nudges``) and every layer's gradient, summarised for the diagram."""

    label: int = Field(description="y, the output neuron that should win")
    label_name: str
    prediction: int = Field(description="the most active output neuron now")
    prediction_name: str
    cost: float = Field(description="C for this image and label")
    cost_name: str
    sizes: list[int]
    outputs: list[float] = Field(description="a^(L), the output activations")
    wanted_a: list[float] = Field(
        description="1. -dC/da^(L): the change each output neuron wants (up for the label)"
    )
    via_bias: list[float] = Field(description="2a. -dC/db^(L) = -delta^(L) (n_L,)")
    via_weights: list[list[float]] = Field(
        description="2b. -dC/dW^(L) = -delta_j a_k^(L-1), (n_L, n_{L-1}): in proportion to a_k"
    )
    via_activations: list[list[float]] = Field(
        description="2c. -delta_j w_jk^(L), (n_L, n_{L-1}): output j's wish for a_k^(L-1)"
    )
    wanted_prev: list[float] = Field(
        description="3. -dC/da^(L-1) = -sum_j delta_j w_jk (n_{L-1},): one layer back"
    )
    layers: list[LayerGradient] = Field(description="l = 1..L")
    connections: list[GradientConnection] = Field(
        description="the connections the diagram draws (as /api/trace), with dC/dw_jk"
    )
    model_version: int


class StepAnswer(BaseModel):
    """One gradient descent step on a scratch copy of the served network (which never changes)."""

    label: int
    label_name: str
    eta: float
    cost_before: float
    cost_after: float
    prediction_before: int
    prediction_after: int
    probabilities_before: list[float] = Field(description="Network.predict_proba, served network")
    probabilities_after: list[float] = Field(description="the same after the step")
    label_probability_before: float
    label_probability_after: float
    label_probability_change: float = Field(description="P(label) after minus before")
    warning: str | None = Field(
        description="set when one step moved P(label) by more than 30 points: a leap, not a nudge"
    )
    model_version: int = Field(description="the served network, unchanged by the step")
