"""Every view renders (Agg, no pyplot) to a PNG of sensible size, with the expected axes, and
shows the network's own numbers; ``digitnet plot`` draws each of them from a model file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from digitnet import metrics, views
from digitnet.cli import main
from digitnet.commands import inside
from digitnet.errors import DigitnetError
from digitnet.model_io import save_model
from digitnet.network import Network
from digitnet.train import Callback, TrainConfig, train
from digitnet.views.diagram import MAX_CONNECTIONS
from digitnet.views.landscape import (
    TrajectoryRecorder,
    cost_surface,
    costs_at,
    gradient_vector,
    pca_directions,
    project,
    random_directions,
)

DPI = 40  # small pictures: the tests check structure, not beauty


@pytest.fixture(scope="module")
def trained(mnist):
    """The lessons' 784-16-16-10 sigmoid network, 2 epochs on 3,000 images, with its path."""
    net = Network([784, 16, 16, 10], seed=1)
    recorder = TrajectoryRecorder(net)
    history = train(
        net,
        mnist.X_train[:3000],
        mnist.y_train[:3000],
        TrainConfig(epochs=2),
        X_val=mnist.X_val[:500],
        y_val=mnist.y_val[:500],
        X_test=mnist.X_test[:500],
        y_test=mnist.y_test[:500],
        callback=recorder,
    )
    return net, history.to_dict(), recorder.trajectory, mnist


def render(fig: Figure, dpi: int = DPI) -> tuple[int, int]:
    """Draw with Agg into PNG bytes; return the picture's (width, height) in pixels."""
    assert isinstance(fig, Figure)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    data = buffer.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    assert 150 <= width <= 2000 and 100 <= height <= 2000, (width, height)
    return width, height


def titles(fig: Figure) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def test_weights_of_the_first_layer_are_28x28_images_one_per_neuron(trained):
    net, *_ = trained
    fig = views.weights(net, layer=1)
    render(fig)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 16 and len(fig.axes) == 17  # 16 neurons and one colour bar
    assert [ax.get_title() for ax in panels] == [f"neuron {j}" for j in range(16)]
    shown = panels[5].images[0].get_array()
    np.testing.assert_array_equal(shown, net.W[0][5].reshape(28, 28))
    norm = panels[0].images[0].norm
    assert norm.vmin == -norm.vmax == -np.abs(net.W[0]).max()  # centred on zero


def test_weights_of_a_deeper_layer_are_one_heat_map(trained):
    net, *_ = trained
    fig = views.weights(net, layer=2)
    render(fig)
    heat, colorbar = fig.axes
    np.testing.assert_array_equal(heat.images[0].get_array(), net.W[1])
    assert heat.get_xlabel() == "neuron k of layer 1" and heat.get_ylabel() == "neuron j of layer 2"
    with pytest.raises(DigitnetError, match="between 1 and 3"):
        views.weights(net, layer=4)


def test_network_diagram_fills_neurons_by_activation_and_rings_the_answer(trained):
    net, _, _, data = trained
    x, y = data.X_test[0], int(data.y_test[0])
    fig = views.network_diagram(net, x, y)
    render(fig)
    (diagram,) = fig.axes
    (pixels,) = diagram.images  # the 784 input neurons, as the image's grid
    assert pixels.get_gid() == "input layer"
    np.testing.assert_array_equal(pixels.get_array(), x.reshape(28, 28))
    trace = net.trace(x)
    a = trace.output[0]
    answer = int(np.argmax(a))
    assert f"answer: {answer} with" in diagram.get_title()
    assert f"(truth: {y})" in diagram.get_title()
    neurons = {p.get_gid(): p for p in diagram.patches if (p.get_gid() or "").startswith("neuron")}
    assert len(neurons) == 16 + 16 + 10  # every hidden and output neuron of this network
    for l in (1, 2, 3):
        for j in (0, 9):  # filled by its activation, white 0 to black 1
            expected = views.diagram.INK(float(trace.a[l][0, j]))
            np.testing.assert_allclose(neurons[f"neuron {l} {j}"].get_facecolor(), expected)
    (ring,) = [p for p in diagram.patches if p.get_gid() == "answer"]
    assert ring.center == neurons[f"neuron 3 {answer}"].center
    edges = diagram.collections
    assert [c.get_gid() for c in edges] == ["connections 1", "connections 2", "connections 3"]
    assert all(len(c.get_segments()) == MAX_CONNECTIONS for c in edges)


def test_curves_show_cost_and_accuracy_per_epoch(trained):
    _, history, _, _ = trained
    fig = views.curves(history)
    render(fig)
    cost, accuracy = fig.axes
    assert (cost.get_title(), accuracy.get_title()) == ("cost", "accuracy")
    assert cost.get_xlabel() == accuracy.get_xlabel() == "epoch"
    labels = [line.get_label() for line in accuracy.lines]
    assert labels[:3] == ["train", "validation", "test"]
    test_line = accuracy.lines[2]
    np.testing.assert_allclose(
        test_line.get_ydata(), [100 * e["test_accuracy"] for e in history["epochs"]]
    )
    with pytest.raises(DigitnetError, match="no training history"):
        views.curves({"epochs": []})


def test_confusion_matrix_counts_the_networks_answers(trained):
    net, _, _, data = trained
    X, y = data.X_test[:500], data.y_test[:500]
    fig = views.confusion(net, X, y, class_names=data.class_names)
    render(fig)
    matrix, _ = fig.axes
    counts = sum(int(t.get_text()) for t in matrix.texts)
    assert counts == 500
    accuracy = net.evaluate(X, y)[1]
    assert f"{100 * accuracy:.2f}% of 500 images" in matrix.get_title()
    assert matrix.get_xlabel() == "network's answer" and matrix.get_ylabel() == "true class"
    expected = views.confusion_matrix(y, net.predict(X), 10)
    np.testing.assert_allclose(matrix.images[0].get_array().sum(axis=1), 1.0)
    assert np.trace(expected) == round(accuracy * 500)


def test_the_confusion_matrix_is_one_function_counting_true_class_by_answer():
    assert views.confusion_matrix is metrics.confusion_matrix
    y_true, y_pred = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2])
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y_true, y_pred, 3), [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    )
    with pytest.raises(DigitnetError, match="as many answers as labels"):
        metrics.confusion_matrix(y_true, y_pred[:5], 3)
    with pytest.raises(DigitnetError, match=r"answers must be in 0\.\.1"):
        metrics.confusion_matrix(y_true % 2, y_pred, 2)


def test_mistakes_are_wrong_and_most_confident_first(trained):
    net, _, _, data = trained
    X, y = data.X_test[:500], data.y_test[:500]
    fig = views.mistakes(net, X, y, n=6)
    render(fig)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 6
    a = net.trace(X).output
    previous = np.inf
    for ax in panels:
        number, _, truth, said, answer, confidence = ax.get_title().replace("\n", " ").split()
        i = int(number.lstrip("#"))
        assert int(answer) == int(np.argmax(a[i])) != y[i] == int(truth) and said == "said"
        margin = a[i].max() - a[i, y[i]]
        assert margin <= previous + 1e-12 and confidence == f"a={a[i].max():.2f}"
        previous = margin


def test_noise_gets_a_confident_answer_from_the_same_trace(trained):
    net, *_ = trained
    fig = views.noise(net, seed=3, n=2)
    render(fig)
    assert len(fig.axes) == 4
    X = np.random.default_rng(3).random((2, 784))
    answers = net.predict(X)
    bars = fig.axes[2:]
    for ax, answer in zip(bars, answers, strict=True):
        assert ax.get_title().startswith(f"answer: {answer} ")
        assert ax.get_ylabel() == "activation $a^{(L)}$"


def test_nudges_numbers_are_backprops_own(trained):
    net, _, _, data = trained
    x, y = data.X_test[:1], data.y_test[:1]
    one = views.backprop_nudges(net, net.trace(x), y)
    grads = net.gradient(x, y)
    a = net.trace(x).output[0].astype(np.float64)
    target = np.eye(10)[y[0]]
    np.testing.assert_allclose(one.wanted_a, -2 * (a - target), rtol=1e-5)  # -dC/da, quadratic
    np.testing.assert_allclose(one.via_bias, -grads.b[2], rtol=1e-6)
    np.testing.assert_allclose(one.via_weights, -grads.W[2], rtol=1e-6)
    sigma_prime = a * (1 - a)
    np.testing.assert_allclose(one.via_bias, one.wanted_a * sigma_prime, rtol=1e-4, atol=1e-12)
    # the wish for layer L-1 is the sum over output neurons of delta_j w_jk ...
    wish = -(grads.b[2] @ net.W[2])
    np.testing.assert_allclose(one.wanted_prev, wish, rtol=1e-5, atol=1e-6 * np.abs(wish).max())
    # ... and, through sigma'(z^(L-1)), becomes the bias gradient one layer back
    a2 = net.trace(x).a[2][0]
    np.testing.assert_allclose(-one.wanted_prev * a2 * (1 - a2), grads.b[1], rtol=1e-4, atol=1e-9)

    Xb, yb = data.X_train[:10], data.y_train[:10]
    batch = views.backprop_nudges(net, net.trace(Xb), yb)
    gb = net.gradient(Xb, yb)
    for l in range(3):
        np.testing.assert_allclose(batch.minus_grad_W[l], -gb.W[l], rtol=1e-6)
    per_image = [
        views.backprop_nudges(net, net.trace(Xb[i : i + 1]), yb[i : i + 1]) for i in range(10)
    ]
    mean = np.mean([p.wanted_prev for p in per_image], axis=0)
    # float32 sums in another order: entries that nearly cancel are compared to the largest
    np.testing.assert_allclose(batch.wanted_prev, mean, rtol=1e-5, atol=1e-5 * np.abs(mean).max())


def test_nudges_view_has_one_column_per_image_and_batch(trained):
    net, _, _, data = trained
    fig = views.nudges(
        net, data.X_test[0], int(data.y_test[0]), data.X_train[:10], data.y_train[:10]
    )
    render(fig)
    # 9 rows x 2 columns of panels, a colour bar beside each of the 4 heat-maps per column, and
    # the batch's heat map of wishes before averaging with its colour bar
    assert len(fig.axes) == 18 + 8 + 1
    found = titles(fig)
    for step in (
        "1. the change each output neuron wants",
        "2a. via the bias",
        "2b. via the weights",
        "2c. via the activations",
        "3. desired change one layer",
        "4. weight gradient of layer 2",
        "4. weight gradient of layer 1",
    ):
        assert sum(t.startswith(step) for t in found) == 2, step
    assert "a mini-batch of 10 images (averages below)" in found
    assert sum(t.startswith("1b. before averaging: each image's wishes") for t in found) == 1
    (heat,) = [im for ax in fig.axes for im in ax.images if im.get_gid() == "wishes"]
    wishes = views.example_wishes(net, net.trace(data.X_train[:10]), data.y_train[:10])
    np.testing.assert_array_equal(heat.get_array(), np.vstack([wishes.rows, wishes.average]))


def test_each_images_wishes_before_averaging(trained):
    net, _, _, data = trained
    X, y = data.X_train[:12], data.y_train[:12]
    wishes = views.example_wishes(net, net.trace(X), y)
    assert wishes.rows.shape == (12, 10) and wishes.average.shape == (10,)
    np.testing.assert_array_equal(wishes.labels, y)
    # row i: what image i alone wants, -dC/da = -2(a - y) for the quadratic cost, in float32
    a = net.trace(X).output.astype(np.float64)
    np.testing.assert_allclose(wishes.rows, -2 * (a - np.eye(10)[y]), rtol=1e-6, atol=1e-7)
    for i in (0, 11):  # the single-image wishes of each image (float32 traces of 1 and of 12)
        one = views.backprop_nudges(net, net.trace(X[i : i + 1]), y[i : i + 1])
        np.testing.assert_allclose(wishes.rows[i], one.wanted_a, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(wishes.average, wishes.rows.mean(axis=0), rtol=1e-12)
    # the average is the batch's -dC/da^(L), what the mini-batch step follows
    batch = views.backprop_nudges(net, net.trace(X), y)
    np.testing.assert_allclose(wishes.average, batch.wanted_a, rtol=1e-5, atol=1e-7)
    # for one image, the one row and its average are exactly today's single-image wishes
    single = views.example_wishes(net, net.trace(X[:1]), y[:1])
    one = views.backprop_nudges(net, net.trace(X[:1]), y[:1])
    np.testing.assert_array_equal(single.rows, [one.wanted_a])
    np.testing.assert_array_equal(single.average, one.wanted_a)


def test_trajectory_recorder_keeps_every_epoch_and_forwards_the_hooks():
    class Counting(Callback):
        ends = 0

        def on_epoch_end(self, record, network):
            self.ends += 1

    rng = np.random.default_rng(0)
    X, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    net = Network([6, 4, 3], seed=0)
    inner = Counting()
    recorder = TrajectoryRecorder(net, inner=inner)
    start = net.parameter_vector()
    train(net, X, y, TrainConfig(epochs=3, lr=0.5), callback=recorder)
    assert len(recorder.trajectory) == 4 and inner.ends == 3
    np.testing.assert_array_equal(recorder.trajectory[0], start.astype(np.float32))
    np.testing.assert_array_equal(recorder.trajectory[-1], net.parameter_vector())
    inner.stop_requested = True
    assert recorder.stop_requested


def test_random_directions_are_filter_normalised_and_the_surface_is_the_real_cost(trained):
    net, _, _, data = trained
    d1, d2 = random_directions(net, seed=0)
    assert d1.dtype == np.float64 and d1.shape == (net.n_params,)
    direction = net.copy(dtype="float64")
    direction.set_parameter_vector(d1)  # d1 laid out as theta: W1, b1, W2, b2, ...
    for W, b, dW, db in zip(net.W, net.b, direction.W, direction.b, strict=True):
        np.testing.assert_allclose(np.linalg.norm(dW, axis=1), np.linalg.norm(W, axis=1), rtol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(db), np.linalg.norm(b), rtol=1e-5)
    assert not np.allclose(d1, d2)
    X, y = data.X_train[:200], data.y_train[:200]
    before = net.parameter_vector()
    C = cost_surface(net, X, y, d1, d2, np.array([-0.5, 0.0, 0.5]), np.array([0.0, 0.5]))
    assert C.shape == (2, 3)
    np.testing.assert_allclose(C[0, 1], net.total_cost(X, y), rtol=1e-6)
    assert C[0, 0] > C[0, 1] and C[0, 2] > C[0, 1]  # the trained weights sit in a valley
    np.testing.assert_array_equal(net.parameter_vector(), before)  # the network is untouched


@pytest.mark.parametrize("directions", ["random", "pca"])
def test_landscape_draws_the_surface_and_the_projected_path(trained, directions):
    net, _, trajectory, data = trained
    fig = views.landscape(
        net,
        data.X_train[:200],
        data.y_train[:200],
        trajectory=trajectory,
        steps=7,
        directions=directions,
    )
    render(fig)
    surface, contour, colorbar = fig.axes
    assert surface.name == "3d" and surface.get_title() == "cost surface"
    assert contour.get_title() == f"cost map ({directions} directions)"
    path = [line for line in contour.lines if line.get_label() == "training path (projected)"]
    assert len(path) == 1 and len(path[0].get_xdata()) == len(trajectory) == 3
    if directions == "pca":  # the path ends at the trained weights, the centre of the map
        assert abs(path[0].get_xdata()[-1]) < 1e-3 and abs(path[0].get_ydata()[-1]) < 1e-3
    with pytest.raises(DigitnetError, match="13002 parameters"):
        views.landscape(net, data.X_train[:10], data.y_train[:10], trajectory=[[0.0, 1.0]] * 3)


def real_costs(net, X, y, trajectory):
    """C at each theta_t, from a network rebuilt with those weights (independent of the view)."""
    costs = []
    for theta in trajectory:
        twin = Network.from_config(net.config(), seed=None)
        twin.set_parameter_vector(np.asarray(theta))
        costs.append(twin.total_cost(X, y))
    return np.array(costs)


@pytest.mark.parametrize("directions", ["random", "pca"])
def test_the_3d_path_is_drawn_at_the_real_costs_and_the_slices_beside_it(trained, directions):
    net, _, trajectory, data = trained
    X, y = data.X_train[:200], data.y_train[:200]
    # a longer path: the start, a point between it and the first epoch, pushed off the plane of
    # the others, and the two epochs; the PCA plane cannot hold all four offsets, so even its
    # slice's costs differ from the real ones
    push = 0.3 * np.random.default_rng(0).standard_normal(net.n_params)
    between = 0.5 * (trajectory[0] + trajectory[1]) + push
    path = np.array([trajectory[0], between, *trajectory[1:]])
    fig = views.landscape(net, X, y, trajectory=path, steps=5, directions=directions)
    render(fig)
    surface = fig.axes[0]
    lines = {line.get_gid(): line for line in surface.lines}
    heights = 10 ** np.asarray(lines["path real cost"].get_data_3d()[2], dtype=np.float64)
    expected = real_costs(net, X, y, path)
    np.testing.assert_allclose(heights, expected, rtol=1e-6)
    np.testing.assert_allclose(views.path_costs(net, X, y, path), expected, rtol=1e-6)
    assert expected[0] > 2  # the random start is far uphill of the trained weights
    # the slice's costs at the projected points, dashed beside the real ones
    theta = net.parameter_vector().astype(np.float64)
    if directions == "pca":
        d1, d2, _ = pca_directions(theta, path.astype(np.float64))
    else:
        d1, d2 = random_directions(net, seed=0)
    coords = project(theta, path.astype(np.float64), d1, d2)
    on_slice = costs_at(net, X, y, d1, d2, coords)
    assert not np.allclose(on_slice, expected, rtol=1e-3)
    slice_heights = 10 ** np.asarray(lines["path slice cost"].get_data_3d()[2], dtype=np.float64)
    np.testing.assert_allclose(slice_heights, on_slice, rtol=1e-6)
    assert lines["path slice cost"].get_linestyle() == "--"


def test_the_pca_slice_of_a_three_point_path_holds_it_so_no_second_line(trained):
    net, _, trajectory, data = trained
    fig = views.landscape(net, data.X_train[:100], data.y_train[:100], trajectory, steps=4)
    gids = [line.get_gid() for line in fig.axes[0].lines]
    assert gids == ["path real cost"]  # two offsets span the plane: the slice's costs are real


@pytest.mark.parametrize("directions", ["random", "pca"])
def test_the_gradient_arrow_is_its_projection_and_says_how_much_the_slice_holds(
    trained, directions
):
    net, _, trajectory, data = trained
    X, y = data.X_train[:200], data.y_train[:200]
    fig = views.landscape(net, X, y, trajectory=trajectory, steps=4, directions=directions)
    contour = fig.axes[1]
    theta = net.parameter_vector().astype(np.float64)
    if directions == "pca":
        d1, d2, _ = pca_directions(theta, np.asarray(trajectory, dtype=np.float64))
    else:
        d1, d2 = random_directions(net, seed=0)
    # backprop's gradient against a central difference along d1: the same slope
    g = gradient_vector(net, X, y)
    h = 1e-3
    slope = (costs_at(net, X, y, d1, d2, np.array([[h, 0.0], [-h, 0.0]])) @ [1, -1]) / (2 * h)
    assert g @ d1 == pytest.approx(slope, rel=2e-2)
    # the projection of -g onto span(d1, d2), by the normal equations
    D = np.stack([d1, d2], axis=1)
    c = np.linalg.solve(D.T @ D, D.T @ -g)
    share = np.linalg.norm(D @ c) / np.linalg.norm(g)
    coords, captured = views.slice_gradient(g, d1, d2)
    np.testing.assert_allclose(coords, c, rtol=1e-6)
    assert captured == pytest.approx(share, rel=1e-6) and 0 < captured < 1
    (arrow,) = [t for t in contour.texts if t.get_gid() == "gradient arrow"]
    assert arrow.xyann == (0.0, 0.0)
    direction = np.asarray(arrow.xy) / np.linalg.norm(arrow.xy)
    np.testing.assert_allclose(direction, c / np.linalg.norm(c), rtol=1e-6)
    legend = [t.get_text() for t in contour.get_legend().get_texts()]
    assert any(f"projected: {100 * share:.1f}% of" in t for t in legend), legend


def test_slice_gradient_of_a_plane_holding_the_gradient():
    rng = np.random.default_rng(0)
    g = rng.standard_normal(50)
    d1 = g / np.linalg.norm(g)
    d2 = rng.standard_normal(50)
    d2 -= (d2 @ d1) * d1
    d2 /= np.linalg.norm(d2)
    coords, captured = views.slice_gradient(g, d1, d2)
    np.testing.assert_allclose(coords, [-np.linalg.norm(g), 0.0], atol=1e-12)
    assert captured == pytest.approx(1.0)
    assert views.slice_gradient(np.zeros(50), d1, d2)[1] == 0.0


def test_landscape_draws_more_paths_on_the_same_plane(trained):
    """``paths``: another trajectory projected onto the plane chosen from ``trajectory``; a point
    on the plane lands at its own (alpha, beta)."""
    net, _, trajectory, data = trained
    theta = net.parameter_vector().astype(np.float64)
    X, y = data.X_train[:100], data.y_train[:100]
    plain = views.landscape(net, X, y, trajectory=trajectory, steps=5)
    render(plain)
    d1, d2 = random_directions(net, seed=0)
    other = np.stack([theta + 0.5 * d1, theta - 0.25 * d2])
    fig = views.landscape(net, X, y, steps=5, directions="random", paths={"full batch": other})
    render(fig)
    line = next(x for x in fig.axes[1].lines if x.get_label() == "full batch")
    np.testing.assert_allclose(line.get_xdata(), [0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(line.get_ydata(), [0.0, -0.25], atol=1e-6)
    with_both = views.landscape(net, X, y, trajectory=trajectory, steps=5, paths={"b": other})
    surface = [c.get_array() for c in with_both.axes[1].collections if c.get_array() is not None]
    assert surface and np.array_equal(
        surface[0], next(c.get_array() for c in plain.axes[1].collections)
    )  # the plane and grid come from ``trajectory``, not the extra paths
    with pytest.raises(DigitnetError, match="13002 parameters"):
        views.landscape(net, X, y, paths={"bad": [[0.0, 1.0]]})


def test_views_use_no_pyplot_and_say_what_is_wrong(trained):
    net, _, _, data = trained
    with pytest.raises(DigitnetError, match="784"):
        views.network_diagram(net, np.zeros(100))
    with pytest.raises(DigitnetError, match="class names"):
        views.confusion(net, data.X_test[:5], data.y_test[:5], class_names=["a", "b"])
    assert views.VIEW_NAMES == inside.VIEW_NAMES


# -- the command line ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    net, history, trajectory, data = trained
    path = tmp_path_factory.mktemp("views") / "m.npz"
    dataset = {"name": data.name, "checksum": data.checksum, "source": data.source}
    save_model(
        path, net, history=history, dataset=dataset, trajectory=[t.tolist() for t in trajectory]
    )
    return path


OPTIONS = {
    "confusion": ["--examples", "300"],
    "mistakes": ["--examples", "300", "--count", "4"],
    "landscape": ["--examples", "100", "--steps", "5"],
    "descent": ["--examples", "100", "--steps", "5", "--batch-size", "10"],
    "neuron": ["--layer", "2", "--neuron", "3", "--bias", "1.5", "--weight", "2,-0.5"],
    "network": ["--image", "7"],
    "weights": ["--layer", "3"],
}


@pytest.mark.parametrize("view", views.VIEW_NAMES)
def test_plot_command_writes_each_view(view, model_file, shared_data, tmp_path, capsys):
    out = tmp_path / f"{view}.png"
    code = main(
        [
            "plot",
            view,
            str(model_file),
            "-o",
            str(out),
            "--data-dir",
            str(shared_data),
            "--dpi",
            "30",
            *OPTIONS.get(view, []),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip() == f"wrote {out}"
    with Image.open(out) as image:
        assert image.format == "PNG" and min(image.size) >= 100


def test_plot_command_writes_svg(model_file, tmp_path, capsys):
    out = tmp_path / "w.svg"
    assert main(["plot", "weights", str(model_file), "-o", str(out)]) == 0
    assert out.read_text().lstrip().startswith("<?xml") and "<svg" in out.read_text()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["plot", "weights", "{model}", "-o", "{tmp}/w.jpg"], ["w.jpg", ".png or .svg"]),
        (["plot", "weights", "{tmp}/none.npz", "-o", "{tmp}/w.png"], ["no such model file"]),
        (["plot", "weights", "{model}", "-o", "{tmp}/w.png", "--layer", "9"], ["between 1 and 3"]),
        (
            [
                "plot",
                "network",
                "{model}",
                "-o",
                "{tmp}/n.png",
                "--image",
                "10000",
                "--data-dir",
                "{data}",
            ],
            ["--image 10000", "0..9999"],
        ),
        (["plot", "nope", "{model}", "-o", "{tmp}/w.png"], ["invalid choice"]),
        (
            ["plot", "landscape", "{model}", "-o", "{tmp}/l.png", "--steps", "500"],
            ["--steps", "2 to 201", "landscape"],
        ),
        (
            ["plot", "nudges", "{model}", "-o", "{tmp}/n.png", "--batch-size", "2000"],
            ["--batch-size", "1 to 1,000", "nudges"],
        ),
        (
            ["plot", "descent", "{model}", "-o", "{tmp}/d.png", "--steps", "20000"],
            ["--steps", "1 to 10,000"],
        ),
        (["plot", "weights", "{model}"], ["-o"]),
    ],
)
def test_plot_errors_are_one_line(argv, words, model_file, shared_data, tmp_path, capsys):
    argv = [a.format(model=model_file, tmp=tmp_path, data=shared_data) for a in argv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0]
    assert not any(tmp_path.glob("*.png"))


@pytest.mark.parametrize(
    ("sizes", "hidden", "output", "cost"),
    [
        ([784, 32, 10], "relu", "softmax", "cross-entropy"),
        ([784, 10], "sigmoid", "sigmoid", "quadratic"),
    ],
)
def test_every_view_renders_for_other_shapes_and_activations(trained, sizes, hidden, output, cost):
    _, history, _, data = trained
    net = Network(sizes, activation=hidden, output=output, cost=cost, init="he", seed=0)
    X, y = data.X_test[:100], data.y_test[:100]
    L = len(sizes) - 1
    figures = [
        views.weights(net, layer=L),
        views.network_diagram(net, X[0], int(y[0])),
        views.curves(history),
        views.confusion(net, X, y),
        views.mistakes(net, X, y, n=3),
        views.nudges(net, X[0], int(y[0]), X[:5], y[:5]),
        views.landscape(net, X[:50], y[:50], steps=3),
        views.noise(net, n=1),
        views.descent(net, X[:40], y[:40], eta=0.1, batch_size=8, steps=4, grid=3),
        views.neuron(net, X[0], L, 1, bias=0.5, weight=(0, 0.3)),
    ]
    for fig in figures:
        render(fig)
    nudge_titles = titles(figures[5])
    assert sum(t.startswith("4. weight gradient") for t in nudge_titles) == 2 * (L - 1)
