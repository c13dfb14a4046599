# %% [markdown]
# # Lesson 3: backpropagation, step by step
#
# Gradient descent needs `-grad C`, the change to each of the 13,002 weights and biases that
# lowers the cost fastest. Backpropagation computes it by asking, for one training image, what
# each output neuron *wants*, how it could get it, and passing those wishes back one layer at
# a time. Then every image of a mini-batch has its wishes, and they are averaged.

# %%
# Jupyter shows matplotlib figures, digitnet.views' among them, once this backend is on.
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from digitnet import Network, load, views
from digitnet.views import backprop_nudges

data = load("mnist")
print(data.source)
net = Network([784, 16, 16, 10], activation="sigmoid", cost="quadratic", init="lecun", seed=0)
L = net.n_layers  # 3: the output layer

# %% [markdown]
# ## What each output wants, for one image
#
# A training image of a 2 (say). Its output neuron should go up towards 1, every other one down
# towards 0, each in proportion to how far it is: `-dC/da_j^(L) = -2 (a_j - y_j)`.

# %%
i = int(np.flatnonzero(data.y_train == 2)[0])
x, label = data.X_train[i], int(data.y_train[i])
trace = net.trace(x)  # the forward pass, kept: every layer's z and a
n = backprop_nudges(net, trace, data.y_train[i : i + 1])
with np.printoptions(precision=3, suppress=True):
    print(f"image {i}, a {label}")
    print("a^(L)          =", n.a_L)
    print("wanted: -dC/da =", n.wanted_a)

# %% [markdown]
# ## The three ways
#
# Output neuron j is `a_j = sigma(sum_k w_jk a_k + b_j)`. To move it, the network can
#
# 1. change the **bias** `b_j`;
# 2. change the **weights** `w_jk`, in proportion to the activations `a_k` of the layer before
#    (a bright neuron's weight matters most: "neurons that fire together wire together");
# 3. change the **activations** `a_k` of the layer before, in proportion to the weights `w_jk`
#    (it cannot change them directly; this is the wish passed back).
#
# For the neuron of the right digit, in numbers: the weight wishes are the bias wish times
# `a_k`, the activation wishes are the bias wish times `w_jk`.

# %%
j = label
a_prev = trace.a[L - 1][0]  # a^(L-1), the 16 activations feeding the output layer
W_L = net.W[L - 1]
with np.printoptions(precision=4, suppress=True):
    print(f"1. via the bias b_{j}:            {n.via_bias[j]:+.4f}")
    print(f"2. via the weights w_{j}k:        ", n.via_weights[j])
    print("   = bias wish * a_k:            ", n.via_bias[j] * a_prev)
    print(f"3. via the activations a_k:      ", n.via_activations[j])
    print("   = bias wish * w_jk:           ", n.via_bias[j] * W_L[j])
assert np.allclose(n.via_weights[j], n.via_bias[j] * a_prev, atol=1e-6)
assert np.allclose(n.via_activations[j], n.via_bias[j] * W_L[j], atol=1e-6)

# %% [markdown]
# ## One layer back
#
# Every output neuron has its own wish for each `a_k` of the layer before. Added up over the
# ten outputs, they say how the second hidden layer should change:
# `-dC/da_k^(L-1) = sum_j (wish of output j for a_k)`. That is the same kind of list as the
# one we started from, one layer earlier, so the same three ways apply again there, and so on
# back to the first layer: *back*propagation.

# %%
with np.printoptions(precision=4, suppress=True):
    print("-dC/da^(L-1) =", n.wanted_prev)
assert np.allclose(n.wanted_prev, n.via_activations.sum(axis=0))

# %% [markdown]
# The picture of this step (for a test image, and for a mini-batch of 10 beside it): the
# outputs' wishes, the three ways, the wish one layer back, and every layer's weight change.

# %%
batch = slice(0, 10)
views.nudges(net, x, label, data.X_train[batch], data.y_train[batch])

# %% [markdown]
# ## Each example of a mini-batch, before averaging
#
# Every image has its own wishes. A 5 wants output 5 up, a 0 wants output 0 up; the average
# over the mini-batch is what one step of stochastic gradient descent follows. Each row below is
# one image's `-dC/da^(L)`; the last row is their average, which is exactly the mini-batch's.

# %%
X_b, y_b = data.X_train[batch], data.y_train[batch]
rows = np.array([
    backprop_nudges(net, net.trace(X_b[m]), y_b[m : m + 1]).wanted_a for m in range(len(y_b))
])
average = backprop_nudges(net, net.trace(X_b), y_b).wanted_a
assert np.allclose(rows.mean(axis=0), average, atol=1e-6)

table = np.vstack([rows, average])
fig, ax = plt.subplots(figsize=(6, 5))
limit = np.abs(table).max()
ax.imshow(table, cmap="RdBu", vmin=-limit, vmax=limit)
ax.set_xticks(range(10))
ax.set_xlabel("output neuron j")
ax.set_yticks(range(11), [f"image of a {d}" for d in y_b] + ["average"])
ax.set_title("-dC/da_j for each image of the mini-batch (blue: up)")
for m in range(11):
    for k in range(10):
        ax.text(k, m, f"{table[m, k]:+.1f}", ha="center", va="center", fontsize=6)
plt.show()

# %% [markdown]
# The same holds for the gradient itself: the mini-batch's `dC/dW` is the average of each
# image's.

# %%
per_image = [net.gradient(X_b[m : m + 1], y_b[m : m + 1]).W[L - 1] for m in range(len(y_b))]
print("mini-batch dC/dW^(L) equals the mean of the 10 images':",
      np.allclose(np.mean(per_image, axis=0), net.gradient(X_b, y_b).W[L - 1], atol=1e-7))

# %% [markdown]
# ## Stochastic gradient descent against full-batch descent
#
# The true gradient averages over *all* the training images, which is slow. SGD takes a step
# after each mini-batch of 10 instead: each step is a little wrong, so the path is drunk, but
# it takes a hundred steps in the time one full-batch step takes. Both below start from the
# same untrained network and take 100 steps of eta 1.5 on the same 1,000 images: SGD on 10 of
# them per step, full-batch descent on all 1,000 every step. Both paths are drawn on the same
# slice of the cost (the plane that best shows SGD's path, centred where it ends).

# %%
def step(net, X, y, eta):
    """One step of gradient descent: W <- W - eta dC/dW, b <- b - eta dC/db."""
    grads = net.gradient(X, y)
    for W, b, dW, db in zip(net.W, net.b, grads.W, grads.b):
        W -= eta * dW
        b -= eta * db


X_k, y_k = data.X_train[:1000], data.y_train[:1000]
sgd = Network([784, 16, 16, 10], init="lecun", seed=0)
full = Network([784, 16, 16, 10], init="lecun", seed=0)
sgd_path, full_path = [sgd.parameter_vector().copy()], [full.parameter_vector().copy()]
for s in range(100):
    step(sgd, X_k[10 * s : 10 * s + 10], y_k[10 * s : 10 * s + 10], eta=1.5)
    step(full, X_k, y_k, eta=1.5)
    sgd_path.append(sgd.parameter_vector().copy())
    full_path.append(full.parameter_vector().copy())
print(f"after 100 steps: cost {sgd.total_cost(X_k, y_k):.4f} (SGD), "
      f"{full.total_cost(X_k, y_k):.4f} (full batch)")
views.landscape(sgd, X_k, y_k, trajectory=sgd_path, paths={"full-batch descent": full_path})

# %% [markdown]
# On the command line, with a trained network (or `digitnet init`'s untrained one):
#
# ```sh
# digitnet plot nudges runs/demo/model.npz -o runs/nudges.png --image 0 --batch-size 10
# digitnet serve runs/demo/model.npz   # "this is a [digit]": the same step, drawn on the diagram
# ```
