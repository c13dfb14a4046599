# %% [markdown]
# # Lesson 1: what is a neural network?
#
# The structure, no learning yet. A plain neural network, a *multilayer perceptron*, is layers
# of **neurons, each a thing that holds a number**: its *activation*. For a 28x28 image of a
# digit, the input layer has one neuron per pixel (784), the output layer one per digit (10),
# and between them hidden layers whose sizes are a free choice; the lessons take two of 16.
#
# Everything below is digitnet's public API (`from digitnet import ...`, `digitnet.views`), on
# a network that has learned nothing: its weights are random.

# %%
# Jupyter shows matplotlib figures, digitnet.views' among them, once this backend is on.
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from digitnet import Network, load, views

data = load("mnist")  # full MNIST if found, else the sample inside the package
print(data.source)
print(data.X_train.shape, data.X_test.shape)  # one image per row: 784 numbers in [0, 1]

# %% [markdown]
# ## Neurons that hold numbers
#
# One test image is 784 numbers: 0.0 is paper, 1.0 is full ink. The input layer's activations
# *are* these numbers, written `a^(0)`.

# %%
x, label = data.X_test[0], int(data.y_test[0])
print("label:", label)
with np.printoptions(precision=1, linewidth=150, suppress=True):
    print(x.reshape(28, 28)[8:20, 4:24])  # a window of the image, as numbers

fig, ax = plt.subplots(figsize=(2.5, 2.5))
ax.imshow(x.reshape(28, 28), cmap="gray_r")
ax.set_title(f"a^(0): the image of a {label}")
ax.axis("off")
plt.show()

# %% [markdown]
# ## The lessons' network, untrained
#
# 784 inputs, two hidden layers of 16, 10 outputs, the sigmoid everywhere. `seed` picks the
# random start: the same seed gives the same weights.

# %%
net = Network([784, 16, 16, 10], activation="sigmoid", cost="quadratic", init="lecun", seed=0)
print(net)
for l in range(1, net.n_layers + 1):
    print(f"layer {l}: W^({l}) {net.W[l - 1].shape}, b^({l}) {net.b[l - 1].shape}")

# %% [markdown]
# ## 13,002 weights and biases
#
# Each connection between two neurons is a weight, each neuron after the input has a bias.
# These 13,002 numbers are all that training will change.

# %%
counted = sum(n_in * n_out + n_out for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:]))
print(f"784*16 + 16 + 16*16 + 16 + 16*10 + 10 = {counted:,}")
print(f"net.n_params = {net.n_params:,}")
assert counted == net.n_params == 13_002

# %% [markdown]
# ## A layer is `a = sigma(W a + b)`
#
# Neuron j of layer 1 takes the weighted sum of all 784 input activations, adds its bias and
# squashes the result with the sigmoid: `sigma(w_j0 a_0 + w_j1 a_1 + ... + w_jn a_n + b_j)`.
# Written for all 16 neurons at once, each **row** of the matrix `W` holds the weights into one
# neuron of the next layer:
#
# ```
# [ w_0,0   w_0,1  ...  w_0,783 ] [ a_0   ]   [ b_0  ]
# [ w_1,0   w_1,1  ...  w_1,783 ] [ a_1   ] + [ b_1  ]
# [  ...                        ] [ ...   ]   [ ...  ]
# [ w_15,0  w_15,1 ...  w_15,783] [ a_783 ]   [ b_15 ]
# ```
#
# Here is that product with the real numbers for our image (a corner of the matrix), then the
# whole layer in one line of NumPy.

# %%
W1, b1 = net.W[0], net.b[0]
with np.printoptions(precision=3, suppress=True):
    print("W^(1), rows 0-3, columns 290-295:\n", W1[:4, 290:296])
    print("a^(0), entries 290-295 (row 10 of the image, where the 7 has ink):", x[290:296])
    print("b^(1), entries 0-3:", b1[:4])  # the lessons' init starts every bias at 0

z1 = W1 @ x + b1  # the weighted sums plus the biases, one per neuron of layer 1
a1 = net.sigma(z1)  # sigma, elementwise
with np.printoptions(precision=3, suppress=True):
    print("z^(1) =", z1)
    print("a^(1) =", a1)

# %% [markdown]
# The network computes the same numbers in `net.trace`, which keeps every layer's `z` and `a`
# (one image per row): that one forward pass is what backprop, the pictures, `digitnet explain`
# and the web app use. And the lessons' Python, `a = sigmoid(np.dot(W, a) + b)`, layer after
# layer, gives the network's output:

# %%
trace = net.trace(x)
assert np.allclose(trace.a[1][0], a1) and np.allclose(trace.z[1][0], z1)

a = x
for W, b in zip(net.W, net.b):
    a = net.sigma(np.dot(W, a) + b)
with np.printoptions(precision=3, suppress=True):
    print("a^(3), by hand:  ", a)
    print("net.feedforward: ", net.feedforward(x)[0])
assert np.allclose(a, net.feedforward(x)[0])
print("the untrained network's answer:", int(net.predict(x[None])[0]), "- the label is", label)

# %% [markdown]
# The lessons' diagram of that forward pass: each neuron filled by its activation, the
# strongest connections drawn by sign. Untrained, the output is no better than a guess.

# %%
views.network_diagram(net, x, label)

# %% [markdown]
# ## Weights as pictures
#
# The 784 weights into one neuron of layer 1 have one per pixel, so they can be drawn as a
# 28x28 image: blue where ink would excite the neuron, red where it would inhibit it. Before
# training they are noise.

# %%
views.weights(net)

# %% [markdown]
# ## Sigmoid and ReLU
#
# The sigmoid squashes any weighted sum into (0, 1). Modern networks mostly use the ReLU,
# `max(0, z)`: below 0 the neuron is "turned off".

# %%
z = np.linspace(-8, 8, 401)
relu = Network(net.sizes, activation="relu").sigma  # the ReLU network's sigma
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(z, net.sigma(z), label="sigmoid: 1 / (1 + e^-z)")
ax.plot(z, relu(z), label="ReLU: max(0, z)")
ax.set_ylim(-0.2, 2)
ax.axhline(0, color="grey", linewidth=0.5)
ax.set_xlabel("z, the weighted sum plus the bias")
ax.set_ylabel("a = sigma(z)")
ax.legend()
plt.show()

# %% [markdown]
# ## The bias shifts a neuron's threshold
#
# With one input `a` and weight 10, `sigma(10 a + b)` switches on near `a = 0` when `b = 0`; a
# bias of -10 holds it off until `a` is near 1. The bias says how high the weighted sum must be
# before the neuron becomes active.

# %%
a_in = np.linspace(-0.5, 1.5, 201)
fig, ax = plt.subplots(figsize=(6, 3))
for bias in (0, -5, -10):
    ax.plot(a_in, net.sigma(10 * a_in + bias), label=f"w = 10, b = {bias}")
ax.set_xlabel("input activation a")
ax.set_ylabel("sigma(w a + b)")
ax.legend()
plt.show()

# %% [markdown]
# ## The same, on the command line
#
# ```sh
# digitnet init --out runs/untrained.npz        # this untrained network (seed 0)
# digitnet plot weights runs/untrained.npz -o runs/untrained-weights.png
# digitnet plot network runs/untrained.npz -o runs/untrained-network.png --image 0
# digitnet serve runs/untrained.npz             # draw a digit and watch it guess
# ```
#
# Next: lesson 2 (`notebooks/2-gradient-descent.ipynb`), how the network learns.
