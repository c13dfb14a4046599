# %% [markdown]
# # Lesson 4: the calculus of backpropagation
#
# The same step as lesson 3, in derivatives. Take one training image and its cost
# `C_0 = sum_j (a_j^(L) - y_j)^2`. What happens to `C_0` if one weight `w_jk^(L)` changes by a
# tiny amount? A change in `w` changes `z_j^(L) = sum_k w_jk^(L) a_k^(L-1) + b_j^(L)`, which
# changes `a_j^(L) = sigma(z_j^(L))`, which changes `C_0`. The **chain rule** multiplies the
# three ratios:
#
# `dC_0/dw_jk^(L) = dz_j^(L)/dw_jk^(L) * da_j^(L)/dz_j^(L) * dC_0/da_j^(L) = a_k^(L-1) * sigma'(z_j^(L)) * 2 (a_j^(L) - y_j)`
#
# Below, every factor with the real numbers of an untrained network, checked against
# `backprop` and against a finite difference. Float64, so that the finite difference is
# accurate to many digits.

# %%
# Jupyter shows matplotlib figures once this backend is on.
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from digitnet import Network, load

data = load("mnist")
print(data.source)
net = Network([784, 16, 16, 10], activation="sigmoid", cost="quadratic", init="lecun", seed=0,
              dtype="float64")
L = net.n_layers  # 3

X_0, y_0 = data.X_train[:1].astype(np.float64), data.y_train[:1]  # one training image
label = int(y_0[0])
trace = net.trace(X_0)  # every layer's z and a
grads = net.backprop(trace, y_0)  # dC/dW and dC/db of every layer (W[l-1] is layer l's)
print("the image is a", label)

# %% [markdown]
# ## One weight of the output layer
#
# `w_jk^(L)` connects neuron k of the last hidden layer to output neuron j. Take j = the
# image's digit and k = 2. Python lists count from 0, so `net.W[L - 1]` is the lessons' `W^(L)`
# and `trace.a[L - 1]` is `a^(L-1)`.

# %%
j, k = label, 2
sigma = net.sigma_of(L)  # the output layer's activation, with its derivative sigma.prime
a_k = trace.a[L - 1][0, k]
z_j = trace.z[L][0, j]
a_j = trace.a[L][0, j]
y_j = 1.0  # neuron j is the image's digit

dz_dw = a_k  # z_j = ... + w_jk a_k + ...
da_dz = float(sigma.prime(np.array([z_j]))[0])  # sigma'(z) = sigma(z) (1 - sigma(z))
dC_da = 2 * (a_j - y_j)  # C_0 = ... + (a_j - y_j)^2 + ...
chain = dz_dw * da_dz * dC_da
print(f"dz/dw = a_k^(L-1)        = {dz_dw:.6f}")
print(f"da/dz = sigma'(z_j^(L))  = {da_dz:.6f}   (z_j = {z_j:.4f}, a_j = {a_j:.4f})")
print(f"dC/da = 2 (a_j - y_j)    = {dC_da:.6f}")
print(f"dC_0/dw_jk^(L), their product = {chain:.10f}")
print(f"backprop's entry              = {grads.W[L - 1][j, k]:.10f}")

# %% [markdown]
# ## A finite difference, in a cell
#
# No calculus at all: nudge the weight by `h` each way and measure the cost.
# `(C(w + h) - C(w - h)) / 2h` approaches the derivative as `h` shrinks.

# %%
def nudged_cost(W, index, h):
    """C_0 with W[index] moved by h (and put back)."""
    before = W[index]
    W[index] = before + h
    cost = net.total_cost(X_0, y_0)
    W[index] = before
    return cost


C_now = net.total_cost(X_0, y_0)
h = 1e-6
finite = (nudged_cost(net.W[L - 1], (j, k), h) - nudged_cost(net.W[L - 1], (j, k), -h)) / (2 * h)
print(f"finite difference = {finite:.10f}")
print(f"chain rule        = {chain:.10f}")
assert np.isclose(chain, grads.W[L - 1][j, k], rtol=1e-9, atol=0)
assert np.isclose(finite, chain, rtol=1e-6, atol=1e-12)

# %% [markdown]
# The derivative is the slope of the cost as this one weight moves, all else held still: the
# line through the current weight with slope `dC_0/dw` touches the curve there.

# %%
w_now = net.W[L - 1][j, k]
offsets = np.linspace(-3, 3, 61)
costs = [nudged_cost(net.W[L - 1], (j, k), d) for d in offsets]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(w_now + offsets, costs, label="C_0 as w_jk^(L) moves")
ax.plot(w_now + offsets[20:41], C_now + chain * offsets[20:41], "--",
        label=f"slope dC_0/dw = {chain:.3f}")
ax.plot([w_now], [C_now], "o", color="black")
ax.set_xlabel(f"w_{j},{k}^(L)")
ax.set_ylabel("C_0")
ax.legend()
plt.show()

# %% [markdown]
# ## The bias: the same route, with `dz/db = 1`
#
# `dC_0/db_j^(L) = dz_j/db_j * da_j/dz_j * dC_0/da_j = 1 * sigma'(z_j) * 2 (a_j - y_j)`

# %%
bias_chain = 1.0 * da_dz * dC_da
bias_finite = (nudged_cost(net.b[L - 1], j, h) - nudged_cost(net.b[L - 1], j, -h)) / (2 * h)
print(f"chain rule {bias_chain:.10f}, backprop {grads.b[L - 1][j]:.10f}, "
      f"finite difference {bias_finite:.10f}")
assert np.isclose(bias_chain, grads.b[L - 1][j], rtol=1e-9, atol=0)

# %% [markdown]
# ## A hidden neuron: the sum over the outputs
#
# An activation `a_k^(L-1)` of the last hidden layer feeds every output neuron, so its effect on
# the cost is a **sum over j**:
#
# `dC_0/da_k^(L-1) = sum_j w_jk^(L) * sigma'(z_j^(L)) * 2 (a_j^(L) - y_j)`
#
# and one layer further back, a weight `w_km^(L-1)` into that neuron goes through the same
# three ratios:
#
# `dC_0/dw_km^(L-1) = a_m^(L-2) * sigma'(z_k^(L-1)) * dC_0/da_k^(L-1)`

# %%
y = np.zeros(10)
y[label] = 1.0
a_L, z_L = trace.a[L][0], trace.z[L][0]
terms = net.W[L - 1][:, k] * sigma.prime(z_L) * 2 * (a_L - y)  # one term per output j
dC_da_k = terms.sum()
with np.printoptions(precision=5, suppress=True):
    print("the ten terms, j = 0..9:", terms)
print(f"dC_0/da_k^(L-1) = their sum = {dC_da_k:.8f}")

m = 5
a_m = trace.a[L - 2][0, m]
z_k = trace.z[L - 1][0, k]
hidden_chain = a_m * float(net.sigma_of(L - 1).prime(np.array([z_k]))[0]) * dC_da_k
hidden_finite = (
    nudged_cost(net.W[L - 2], (k, m), h) - nudged_cost(net.W[L - 2], (k, m), -h)
) / (2 * h)
print(f"dC_0/dw_km^(L-1): chain rule {hidden_chain:.10f}, backprop {grads.W[L - 2][k, m]:.10f}, "
      f"finite difference {hidden_finite:.10f}")
assert np.isclose(hidden_chain, grads.W[L - 2][k, m], rtol=1e-9, atol=0)
assert np.isclose(hidden_finite, hidden_chain, rtol=1e-5, atol=1e-12)

# %% [markdown]
# ## Over all the training examples
#
# All of this was for one image. The cost of the network is the average over the examples,
# so its gradient is the average of theirs: `dC/dw = (1/n) sum_x dC_x/dw`. For 10 images:

# %%
X_10, y_10 = data.X_train[:10].astype(np.float64), data.y_train[:10]
one_by_one = [net.backprop(net.trace(X_10[i : i + 1]), y_10[i : i + 1]).W[L - 1][j, k]
              for i in range(10)]
together = net.backprop(net.trace(X_10), y_10).W[L - 1][j, k]
print(f"mean of the 10 images' dC_x/dw = {np.mean(one_by_one):.10f}")
print(f"backprop on the 10 together    = {together:.10f}")
assert np.isclose(np.mean(one_by_one), together, rtol=1e-9)

# %% [markdown]
# The command line prints the same chain for any weight of a model file, and checks every
# layer against finite differences:
#
# ```sh
# digitnet init --out runs/untrained.npz
# digitnet explain runs/untrained.npz --image 0 --layer 3 --weight 7,2
# digitnet gradcheck runs/untrained.npz
# ```
