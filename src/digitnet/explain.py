"""The calculus lesson with real numbers: the chain rule for one weight, and a gradient check.

:func:`explain` takes one image x (n_0,) with label y and one weight w_jk^(l) = ``net.W[l-1][j, k]``
(from neuron k of layer l-1 to neuron j of layer l, l = 1..L) and writes out

    dC/dw_jk^(l) = dz_j/dw_jk * da_j/dz_j * dC/da_j
                 = a_k^(l-1)  * sigma'(z_j) * dC/da_j

with every factor's value, read from the network's forward trace: for the output layer (l = L)
dC/da_j is the cost's own derivative (2(a_j - y_j) for the lessons' quadratic cost); for a hidden
layer it is the sum over the next layer's neurons i of w_ij^(l+1) sigma'(z_i^(l+1)) dC/da_i^(l+1).
The bias b_j^(l) follows the same chain with dz_j/db_j = 1. Beside the product stand backprop's
entry for that weight and a finite-difference estimate (C(w+h) - C(w-h)) / 2h (five-point).

:func:`gradcheck` compares backprop with finite differences for every layer of a network, on a
sample of the weights of big layers, and reports the largest relative error per layer.

Both work in float64: a float32 network is copied to float64 first (finite differences in float32
are good to about 3 digits, too few to check anything).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from digitnet.errors import DigitnetError
from digitnet.network import Network

#: Step of the finite differences. The five-point stencil's truncation error is O(h^4) ~ 1e-16,
#: its rounding error about 1.5 eps C / h ~ 3e-12 C: together far below the 1e-6 checked.
H = 1e-4
#: The rounding noise of a five-point difference is about NOISE * eps * C / h, with a margin over
#: what trained sigmoid, tanh and ReLU networks show with every cost.
NOISE = 32


def as_float64(net: Network) -> Network:
    """``net`` itself if it computes in float64, else a float64 copy of it."""
    return net if net.dtype == np.float64 else net.copy("float64")


def central_difference(
    C: Callable[[], float], p: np.ndarray, i: tuple[int, ...], h: float = H
) -> float:
    """dC/dp[i] by the five-point central difference, changing p[i] in place and restoring it:
    (-C(p+2h) + 8 C(p+h) - 8 C(p-h) + C(p-2h)) / 12h, error O(h^4)."""
    old = p[i]
    values = []
    try:
        for step in (2 * h, h, -h, -2 * h):
            p[i] = old + step
            values.append(C())
    finally:
        p[i] = old
    return float((-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h))


def relative_error(a: np.ndarray | float, b: np.ndarray | float, floor: float) -> np.ndarray:
    """|a - b| / max(|a|, |b|, floor), entry by entry; ``floor`` makes tiny entries count
    absolutely, where rounding in the finite difference would dominate a relative measure."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)


# -- explain -----------------------------------------------------------------------------------
@dataclass
class Term:
    """One term of dC/da_j^(l) = sum_i w_ij^(l+1) sigma'(z_i^(l+1)) dC/da_i^(l+1).

    ``sigma_prime`` is None for a softmax output, where ``delta`` = dC/dz_i comes from the
    softmax's Jacobian instead of sigma'(z_i) dC/da_i.
    """

    i: int
    w: float
    sigma_prime: float | None
    dC_da: float
    delta: float
    product: float


@dataclass
class Explanation:
    """The chain rule for w_jk^(l), for one image. Every number is float64.

    ``dz_dw`` = a_k^(l-1); ``da_dz`` = sigma'(z_j^(l)) (None for a softmax output); ``dC_da`` =
    dC/da_j^(l); ``delta`` = dC/dz_j^(l); ``product`` = the chain's product, dC/dw_jk;
    ``bias_product`` = dC/db_j; ``backprop_*`` are backprop's entries and ``finite_*`` the
    finite-difference estimates. ``terms`` spell out dC/da_j for a hidden layer (empty for the
    output layer, where ``y_j`` and ``dC_da_formula`` say where dC/da_j comes from).
    """

    layer: int
    n_layers: int
    j: int
    k: int
    label: int
    image: int | None
    cost: str
    activation: str
    w: float
    b: float
    a_prev_k: float
    z_j: float
    a_j: float
    y_j: float | None
    C: float
    dz_dw: float
    da_dz: float | None
    dC_da: float
    dC_da_formula: str
    delta: float
    product: float
    bias_product: float
    backprop_w: float
    backprop_b: float
    finite_w: float
    finite_b: float
    h: float
    terms: list[Term] = field(default_factory=list)

    @property
    def is_output(self) -> bool:
        return self.layer == self.n_layers

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values, plus the differences between the estimates."""
        d = asdict(self)
        d["difference_backprop"] = abs(self.product - self.backprop_w)
        d["difference_finite"] = abs(self.product - self.finite_w)
        return d

    def to_text(self, max_terms: int = 10) -> str:
        """The chain rule written out with the numbers, as the calculus lesson writes it."""
        l, j, k = self.layer, self.j, self.k
        where = "the output layer" if self.is_output else f"hidden layer {l}"
        image = "" if self.image is None else f"image #{self.image}, "
        lines = [
            f"The chain rule for one weight, w_jk^({l}) with j={j}, k={k}: "
            f"from neuron {k} of layer {l - 1} to neuron {j} of layer {l} ({where})",
            f"{image}a {self.label}; {self.cost} cost of this image C_0 = {_num(self.C)}; "
            f"w_jk = {_num(self.w)}, b_j = {_num(self.b)}",
            "",
            f"  dC/dw_jk^({l}) = dz_j/dw_jk * da_j/dz_j * dC/da_j",
        ]
        act = self.activation
        rows: list[tuple[str, str, float]] = [("dz_j/dw_jk", f"a_k^({l - 1})", self.dz_dw)]
        if self.da_dz is not None:
            rows.append(("da_j/dz_j", f"{act}'(z_j) = {act}'({_num(self.z_j)})", self.da_dz))
        if self.is_output:
            rows.append(("dC/da_j", self.dC_da_formula, self.dC_da))
        else:
            n = len(self.terms)
            rows.append(
                ("dC/da_j", f"sum of {n} terms w_ij sigma'(z_i) dC/da_i, below", self.dC_da)
            )
        if self.da_dz is None:
            rows.append(
                ("da_j/dz_j dC/da_j", "dC/dz_j = sum_i dC/da_i da_i/dz_j (softmax)", self.delta)
            )
        rows += [
            ("product", "dC/dw_jk", self.product),
            ("backprop", f"entry [{j}, {k}] of dC/dW^({l})", self.backprop_w),
            ("finite difference", f"(C(w+h) - C(w-h)) / 2h, h = {self.h:g}", self.finite_w),
        ]
        width = max(len(r[1]) for r in rows)
        for name, formula, value in rows:
            lines.append(f"    {name:<17} = {formula:<{width}} = {_num(value)}")
        lines += [
            f"    (backprop differs from the product by {abs(self.product - self.backprop_w):.1e}, "
            f"the finite difference by {abs(self.product - self.finite_w):.1e})",
            "",
            f"  the bias: dC/db_j^({l}) = dz_j/db_j * da_j/dz_j * dC/da_j, with dz_j/db_j = 1",
            f"    product = {_num(self.bias_product)}; backprop = {_num(self.backprop_b)}; "
            f"finite difference = {_num(self.finite_b)}",
        ]
        if self.terms:
            lines += ["", f"  dC/da_j^({l}) term by term (i: neuron of layer {l + 1}):"]
            lines.append(
                f"    {'i':>4}  "
                + "  ".join(f"{h:>12}" for h in ("w_ij", "sigma'(z_i)", "dC/da_i", "product"))
            )
            shown = sorted(self.terms, key=lambda t: -abs(t.product))[:max_terms]
            for t in sorted(shown, key=lambda t: t.i):
                sp = "(softmax)" if t.sigma_prime is None else _num(t.sigma_prime)
                dC_da = "" if t.sigma_prime is None else _num(t.dC_da)
                lines.append(
                    f"    {t.i:>4}  {_num(t.w):>12}  {sp:>12}  {dC_da:>12}  {_num(t.product):>12}"
                )
            if len(shown) < len(self.terms):
                lines.append(f"    ... {len(self.terms) - len(shown)} smaller terms not shown")
            lines.append(f"    {'sum':>4}  {'':>12}  {'':>12}  {'':>12}  {_num(self.dC_da):>12}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _num(x: float) -> str:
    return f"{x:.6g}" if x != 0 and 1e-3 <= abs(x) < 1e4 else f"{x:.4e}" if x else "0"


def _dC_da_formula(net: Network, a_j: float, y_j: float) -> str:
    """How the cost's derivative dC/da_j reads for the output neuron j, with the numbers."""
    if net.cost.name == "quadratic":
        return f"2(a_j - y_j) = 2({_num(a_j)} - {y_j:g})"
    if net.output == "softmax":
        return f"-y_j / a_j = -{y_j:g} / {_num(a_j)}"
    return (
        f"(a_j - y_j) / (a_j (1 - a_j)) = ({_num(a_j)} - {y_j:g}) / ({_num(a_j)} (1 - {_num(a_j)}))"
    )


def explain(
    net: Network,
    x: np.ndarray,
    y: int,
    layer: int,
    j: int,
    k: int,
    image: int | None = None,
    h: float = H,
) -> Explanation:
    """The chain rule for w_jk^(layer) on the image x (n_0,) with true class y, in float64.

    ``image`` is only the image's number, for the text. Raises DigitnetError for a layer or
    neuron that does not exist.
    """
    net = as_float64(net)
    L = net.n_layers
    if not 1 <= layer <= L:
        raise DigitnetError(f"layer must be between 1 and {L} (the layers of weights), got {layer}")
    n_out, n_in = net.W[layer - 1].shape
    if not (0 <= j < n_out and 0 <= k < n_in):
        raise DigitnetError(
            f"layer {layer} has weights w_jk with j in 0..{n_out - 1} (its neurons) and k in "
            f"0..{n_in - 1} (the neurons of layer {layer - 1}); got j={j}, k={k}"
        )
    if not 0 <= int(y) < net.sizes[-1]:
        raise DigitnetError(f"label {y} is not an output neuron (0..{net.sizes[-1] - 1})")
    ys = np.array([int(y)])
    trace = net.trace(x)  # the one forward pass: every z and a for this image
    a = trace.a
    if len(a[0]) != 1:
        raise DigitnetError("explain takes one image")

    # dC/da and dC/dz = delta for the output layer, from the cost itself
    dC_da_L = net.cost.grad_a(a[L], ys)[0]  # (n_L,): for one image C = C_0
    delta_L = net.cost.delta(trace.z_of(L), a[L], ys)[0]  # (n_L,)
    dC_da, delta = dC_da_L, delta_L
    terms: list[Term] = []
    # walk back to layer `layer`: dC/da^(m) = sum_i w_im^(m+1) delta_i^(m+1)
    for m in range(L - 1, layer - 1, -1):
        W_next = net.W[m]  # W^(m+1), (n_{m+1}, n_m)
        if m == layer:
            sp_next = (
                net.sigma_of(m + 1).prime(trace.z_of(m + 1), a[m + 1])[0]
                if net.sigma_of(m + 1).elementwise
                else None
            )
            terms = [
                Term(
                    i=i,
                    w=float(W_next[i, j]),
                    sigma_prime=None if sp_next is None else float(sp_next[i]),
                    dC_da=float(dC_da[i]),
                    delta=float(delta[i]),
                    product=float(W_next[i, j] * delta[i]),
                )
                for i in range(W_next.shape[0])
            ]
        dC_da = delta @ W_next  # (n_m,)
        delta = dC_da * net.sigma.prime(trace.z_of(m), a[m])[0]

    sigma_l = net.sigma_of(layer)
    da_dz = float(sigma_l.prime(trace.z_of(layer), a[layer])[0, j]) if sigma_l.elementwise else None
    dz_dw = float(a[layer - 1][0, k])
    dC_da_j = float(dC_da[j])
    delta_j = float(delta[j]) if da_dz is None else da_dz * dC_da_j
    product = dz_dw * delta_j if da_dz is None else dz_dw * da_dz * dC_da_j
    y_j = float(j == y) if layer == L else None

    grads = net.backprop(trace, ys)
    W, b = net.W[layer - 1], net.b[layer - 1]

    def cost() -> float:
        return net.total_cost(x[None, :] if np.ndim(x) == 1 else x, ys)

    finite_w = central_difference(cost, W, (j, k), h)
    finite_b = central_difference(cost, b, (j,), h)
    return Explanation(
        layer=layer,
        n_layers=L,
        j=j,
        k=k,
        label=int(y),
        image=image,
        cost=net.cost.name,
        activation=sigma_l.name,
        w=float(W[j, k]),
        b=float(b[j]),
        a_prev_k=dz_dw,
        z_j=float(trace.z_of(layer)[0, j]),
        a_j=float(a[layer][0, j]),
        y_j=y_j,
        C=float(net.cost.fn(trace.z_of(L), a[L], ys)),
        dz_dw=dz_dw,
        da_dz=da_dz,
        dC_da=dC_da_j,
        dC_da_formula=_dC_da_formula(net, float(a[L][0, j]), y_j) if y_j is not None else "",
        delta=delta_j,
        product=product,
        bias_product=delta_j,
        backprop_w=float(grads.W[layer - 1][j, k]),
        backprop_b=float(grads.b[layer - 1][j]),
        finite_w=float(finite_w),
        finite_b=float(finite_b),
        h=h,
        terms=terms,
    )


# -- gradcheck ---------------------------------------------------------------------------------
@dataclass
class LayerCheck:
    """Backprop against finite differences for the weights and biases of one layer l."""

    layer: int
    weights_checked: int
    weights: int
    biases_checked: int
    biases: int
    max_error_W: float
    max_error_b: float
    worst: str
    skipped: int = 0  # points whose finite-difference steps cross a kink (ReLU at z = 0)

    @property
    def max_error(self) -> float:
        return max(self.max_error_W, self.max_error_b)


@dataclass
class GradCheck:
    """The result of :func:`gradcheck`: one :class:`LayerCheck` per layer, and the verdict."""

    layers: list[LayerCheck]
    tolerance: float
    examples: int
    h: float
    floor: float

    @property
    def max_error(self) -> float:
        return max(c.max_error for c in self.layers)

    @property
    def passed(self) -> bool:
        return all(
            math.isfinite(c.max_error) and c.max_error <= self.tolerance for c in self.layers
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "tolerance": self.tolerance,
            "max_error": self.max_error,
            "examples": self.examples,
            "h": self.h,
            "floor": self.floor,
            "layers": [asdict(c) | {"max_error": c.max_error} for c in self.layers],
        }

    def to_text(self) -> str:
        head = (
            f"backprop vs central differences (h = {self.h:g}) on {self.examples} images; "
            f"relative error |bp - fd| / max(|bp|, |fd|, {self.floor:.1e})"
        )
        skipped = sum(c.skipped for c in self.layers)
        if skipped:
            head += (
                f"; {skipped} points skipped, where a step of the finite difference moves some "
                "z across a ReLU's kink (the difference is not the derivative there)"
            )
        rows = [
            head,
            f"{'layer':>5}  {'weights checked':>17}  {'biases':>8}  "
            f"{'max error W':>11}  {'max error b':>11}  worst",
        ]
        for c in self.layers:
            flag = "" if c.max_error <= self.tolerance else "  <-- above tolerance"
            rows.append(
                f"{c.layer:>5}  {c.weights_checked:>7} of {c.weights:>6}  "
                f"{c.biases_checked:>3} of {c.biases:<3}  {c.max_error_W:>11.2e}  "
                f"{c.max_error_b:>11.2e}  {c.worst}{flag}"
            )
        verdict = "passed" if self.passed else "FAILED"
        rows.append(
            f"{verdict}: max relative error {self.max_error:.2e}, tolerance {self.tolerance:g}"
        )
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.to_text()


def _sample(grad: np.ndarray, limit: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Indices of ``grad`` to check: all of them if at most ``limit``, else the limit/2 largest
    backprop entries (where a mistake shows most) and a random sample of the rest."""
    if grad.size <= limit:
        return list(np.ndindex(grad.shape))
    flat = np.abs(grad).ravel()
    top = np.argsort(-flat, kind="stable")[: limit // 2]
    rest = np.setdiff1d(np.arange(flat.size), top)
    chosen = np.concatenate([top, rng.choice(rest, size=limit - len(top), replace=False)])
    return [tuple(int(v) for v in np.unravel_index(i, grad.shape)) for i in np.sort(chosen)]


KINKED = ("relu", "leaky-relu")  # activations with a kink at z = 0


def gradcheck(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    tolerance: float = 1e-6,
    max_per_layer: int = 200,
    seed: int = 0,
    h: float = H,
    floor: float | None = None,
) -> GradCheck:
    """Backprop's dC/dW and dC/db on (X (n, n_0), y (n,)) against central finite differences.

    Works on a float64 copy of ``net``. Every bias is checked; a layer with more than
    ``max_per_layer`` weights has that many checked (half the largest, half at random from
    ``seed``). Errors are relative, with ``floor`` as the smallest denominator: by default the
    finite difference's rounding noise divided by ``tolerance``, so entries too small to measure
    are compared absolutely, to that noise. The noise is ``NOISE eps C / h`` (measured: at most
    about 10 eps C / h on trained networks). Where a step of the finite difference (up to 2h)
    moves some z of a ReLU or leaky ReLU across its kink at 0, the difference is not the
    derivative, so such points are skipped (and counted) rather than compared.
    """
    if not (tolerance > 0 and max_per_layer >= 1 and h > 0 and (floor is None or floor > 0)):
        raise DigitnetError("tolerance, h and floor must be positive and max_per_layer at least 1")
    net = as_float64(net)
    X = net.as_input(X)
    y = np.asarray(y)
    if len(X) == 0 or y.shape != (len(X),):
        raise DigitnetError(
            f"gradcheck needs images and one label each, got {len(X)} and {y.shape}"
        )
    grads = net.gradient(X, y)  # backprop, from one forward trace
    rng = np.random.default_rng(seed)

    def cost() -> float:
        return net.total_cost(X, y)

    kinked = [l for l in range(1, net.n_layers + 1) if net.sigma_of(l).name in KINKED]

    def sides() -> list[np.ndarray]:
        """Which side of the kink every z of a kinked layer is on."""
        t = net.trace(X)
        return [t.z_of(l) > 0 for l in kinked]

    base = sides() if kinked else []

    def crosses_kink(p: np.ndarray, i: tuple[int, ...]) -> bool:
        """Whether moving p[i] by up to 2h either way moves some z across a kink."""
        if not kinked:
            return False
        old = p[i]
        try:
            for step in (2 * h, -2 * h):
                p[i] = old + step
                if any((now != then).any() for now, then in zip(sides(), base, strict=True)):
                    return True
        finally:
            p[i] = old
        return False

    if floor is None:
        floor = NOISE * float(np.finfo(np.float64).eps) * max(abs(cost()), 1e-300) / h / tolerance
    checks = []
    for l in range(1, net.n_layers + 1):
        errors = {}
        worst = (0.0, "")
        counts = {}
        skipped = 0
        for name, p, g in (
            ("W", net.W[l - 1], grads.W[l - 1]),
            ("b", net.b[l - 1], grads.b[l - 1]),
        ):
            limit = max_per_layer if name == "W" else p.size
            idx = _sample(g, limit, rng)
            smooth = [i for i in idx if not crosses_kink(p, i)]
            skipped += len(idx) - len(smooth)
            idx = smooth or idx[:0]
            if not idx:
                errors[name], counts[name] = 0.0, 0
                continue
            fd = np.array([central_difference(cost, p, i, h) for i in idx])
            bp = np.array([g[i] for i in idx])
            err = relative_error(bp, fd, floor)
            err = np.where(np.isnan(err), np.inf, err)
            errors[name] = float(err.max())
            counts[name] = len(idx)
            at = int(np.argmax(err))
            if err[at] >= worst[0]:
                where = ", ".join(map(str, idx[at]))
                worst = (
                    float(err[at]),
                    f"{name}[{where}]: backprop {bp[at]:.6e}, finite difference {fd[at]:.6e}",
                )
        checks.append(
            LayerCheck(
                layer=l,
                weights_checked=counts["W"],
                weights=net.W[l - 1].size,
                biases_checked=counts["b"],
                biases=net.b[l - 1].size,
                max_error_W=errors["W"],
                max_error_b=errors["b"],
                worst=worst[1],
                skipped=skipped,
            )
        )
    return GradCheck(checks, tolerance, len(X), h, floor)


# -- a neuron as a function ----------------------------------------------------------------------
#: The largest |bias| or |weight| :func:`neuron_function` accepts: far beyond any trained value,
#: and small enough that z stays a finite float32 for any image.
MAX_PARAMETER = 1e4
#: Points of the activation curve.
CURVE_POINTS = 201


def _real(value: Any, what: str) -> float:
    """``value`` as a finite float with |value| <= MAX_PARAMETER, or a one-line DigitnetError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise DigitnetError(f"{what} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or abs(value) > MAX_PARAMETER:
        raise DigitnetError(
            f"{what} must be a finite number from {-MAX_PARAMETER:g} to {MAX_PARAMETER:g}, "
            f"got {value!r}"
        )
    return value


def _index(value: Any, size: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise DigitnetError(f"{what} must be a whole number, got {value!r}")
    if not 0 <= value < size:
        raise DigitnetError(f"{what} must be from 0 to {size - 1}, got {value}")
    return int(value)


def _answer(net: Network, trace: Any) -> dict[str, Any]:
    """The output activations of ``trace``, their probabilities (read as
    :meth:`Network.predict_proba` reads them) and the answer."""
    a = np.asarray(trace.output[0], dtype=np.float64)
    if net.output == "softmax":
        p = a / a.sum()
    else:
        positive = np.clip(a, 0, None)
        total = positive.sum()
        p = positive / total if total > 0 else np.full_like(a, 1 / len(a))
    return {"output": a.tolist(), "probabilities": p.tolist(), "answer": int(np.argmax(a))}


def neuron_function(
    net: Network,
    x: np.ndarray,
    layer: int,
    j: int,
    bias: float | None = None,
    weight: tuple[int, float] | None = None,
    points: int = CURVE_POINTS,
) -> dict[str, Any]:
    """Neuron j of layer l (1..L) as a function, for the image x (n_0,): a = sigma(z), with
    z = sum_k w_jk a_k^(l-1) + b_j. Everything is plain JSON-ready values:

    - ``z``, ``a``, ``b``, ``activation`` (sigma's name), ``a_prev`` (a^(l-1), n_{l-1}) and
      ``w`` (row j of W^(l), n_{l-1}); ``output``, ``probabilities`` and ``answer``: the
      network's answer for x;
    - ``curve``: ``{"z": [...], "a": [...]}``, ``points`` points of a_j against z_j over a range
      covering this neuron's z (and the moved one): sigma itself for an elementwise activation;
      for a softmax output, a_j as z_j alone moves and the layer's other z stay;
    - ``moved``: None, or, when ``bias`` (the new b_j) or ``weight`` = (k, new w_jk) is given,
      the same neuron and answer with them in place: ``{"b", "k", "w_k", "old_w_k", "z", "a",
      "output", "probabilities", "answer"}``, computed on a scratch copy of ``net``.

    ``net`` never changes. Bad values (a layer, neuron or k out of range; a bias or weight that is
    not a finite number within +-MAX_PARAMETER) raise DigitnetError with one line.
    """
    L = net.n_layers
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or not 1 <= layer <= L:
        raise DigitnetError(
            f"layer must be between 1 and {L} (the layers of weights), got {layer!r}"
        )
    layer = int(layer)
    n_out, n_in = net.W[layer - 1].shape
    j = _index(j, n_out, f"neuron j of layer {layer}")
    if isinstance(points, bool) or not isinstance(points, int) or not 3 <= points <= 10_001:
        raise DigitnetError(f"points must be a whole number from 3 to 10001, got {points!r}")
    new_b = None if bias is None else _real(bias, "the bias")
    k = new_w = None
    if weight is not None:
        if not isinstance(weight, tuple | list) or len(weight) != 2:
            raise DigitnetError(f"weight must be a pair (k, value), got {weight!r}")
        k = _index(weight[0], n_in, f"k (a neuron of layer {layer - 1})")
        new_w = _real(weight[1], f"the weight w_{j},{k}")
    X = net.as_input(x)
    if len(X) != 1:
        raise DigitnetError(f"one image please, got {len(X)}")
    if not np.all(np.isfinite(X)):
        raise DigitnetError("the image holds a value that is not a finite number")

    sigma = net.sigma_of(layer)
    trace = net.trace(X)  # the one forward pass of the given network
    z_row = np.asarray(trace.z_of(layer)[0], dtype=np.float64)
    z, a = float(z_row[j]), float(trace.a[layer][0, j])
    result: dict[str, Any] = {
        "layer": layer,
        "j": j,
        "activation": sigma.name,
        "z": z,
        "a": a,
        "b": float(net.b[layer - 1][j]),
        "w": np.asarray(net.W[layer - 1][j], dtype=np.float64).tolist(),
        "a_prev": np.asarray(trace.a[layer - 1][0], dtype=np.float64).tolist(),
        **_answer(net, trace),
        "moved": None,
    }
    span = [z]
    if new_b is not None or new_w is not None:
        scratch = net.copy()
        if new_b is not None:
            scratch.b[layer - 1][j] = new_b
        if new_w is not None:
            scratch.W[layer - 1][j, k] = new_w
        moved = scratch.trace(X)
        z_moved = float(moved.z_of(layer)[0, j])
        result["moved"] = {
            "b": float(scratch.b[layer - 1][j]),
            "k": k,
            "w_k": None if k is None else float(scratch.W[layer - 1][j, k]),
            "old_w_k": None if k is None else float(net.W[layer - 1][j, k]),
            "z": z_moved,
            "a": float(moved.a[layer][0, j]),
            **_answer(scratch, moved),
        }
        span.append(z_moved)
    lo, hi = min(-6.0, min(span) - 3.0), max(6.0, max(span) + 3.0)
    zs = np.linspace(lo, hi, points)
    if sigma.elementwise:
        curve = np.asarray(sigma(zs), dtype=np.float64)
    else:  # softmax: a_j as z_j moves alone, the layer's other z kept
        rows = np.repeat(z_row[None, :], points, axis=0)
        rows[:, j] = zs
        curve = np.asarray(sigma(rows), dtype=np.float64)[:, j]
    result["curve"] = {"z": zs.tolist(), "a": curve.tolist()}
    return result
