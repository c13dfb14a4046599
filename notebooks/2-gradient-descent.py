# %% [markdown]
# # Lesson 2: gradient descent, how neural networks learn
#
# Start from random weights and biases: the outputs are rubbish. Say *how* rubbish with one
# number, the **cost**, then change the 13,002 weights and biases a little at a time in the
# direction that lowers it fastest, `-grad C`. That is all learning is here.

# %%
# Jupyter shows matplotlib figures, digitnet.views' among them, once this backend is on.
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from digitnet import Network, TrainConfig, load, train, train_on, views

data = load("mnist")
print(data.source)
net = Network([784, 16, 16, 10], activation="sigmoid", cost="quadratic", init="lecun", seed=0)

# %% [markdown]
# ## The cost of one image
#
# For an image of a 7 the network should output 1 at neuron 7 and 0 everywhere else: that is
# `y`. The cost of this one image is the sum of the ten squared differences,
# `C_0 = sum_j (a_j^(L) - y_j)^2`.

# %%
x, label = data.X_test[0], int(data.y_test[0])
a_L = net.feedforward(x)[0]
y = np.zeros(10)
y[label] = 1.0
print(" j   a_j    y_j   (a_j - y_j)^2")
for j in range(10):
    print(f"{j:2}  {a_L[j]:.3f}  {y[j]:.0f}     {(a_L[j] - y[j]) ** 2:.3f}")
C_0 = float(np.sum((a_L - y) ** 2))
print(f"C_0 = {C_0:.4f}")
assert np.isclose(C_0, net.total_cost(data.X_test[:1], data.y_test[:1]))  # the network's own cost, one image

# %% [markdown]
# ## The average cost over all training images
#
# One image says little; the network's performance is the cost **averaged over every training
# image**, `C = (1/n) sum_x C_x`. This is the function of 13,002 inputs (the weights and
# biases) that training minimises.

# %%
print(f"average cost of the untrained network on {len(data.y_train):,} training images: "
      f"{net.total_cost(data.X_train, data.y_train):.4f}")
print(f"its accuracy: {net.evaluate(data.X_test, data.y_test)[1]:.1%} (chance is 10%)")

# %% [markdown]
# ## Gradient descent on a 1-D cost
#
# With one weight `w`, find the slope `C'(w)`; if it is positive, step left, if negative step
# right, by `eta * C'(w)`, and repeat. Started in two places, the same rule lands in two
# different minima: a **local** minimum is not necessarily the lowest one.

# %%
def C(w):
    return w**4 - 3 * w**2 + w + 3


def dC(w):
    return 4 * w**3 - 6 * w + 1


eta = 0.05
w_axis = np.linspace(-2.1, 2.1, 300)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(w_axis, C(w_axis), color="grey")
for w, colour in ((-2.0, "tab:blue"), (2.0, "tab:orange")):
    steps = [w]
    for _ in range(15):
        w = w - eta * dC(w)  # a small step in the -C'(w) direction
        steps.append(w)
    steps = np.array(steps)
    ax.plot(steps, C(steps), "o-", color=colour, markersize=4,
            label=f"from w = {steps[0]:+.0f}: ends at w = {steps[-1]:+.3f}")
ax.set_xlabel("w")
ax.set_ylabel("C(w)")
ax.set_title(f"15 steps of gradient descent, eta = {eta}")
ax.legend()
plt.show()

# %% [markdown]
# ## Gradient descent on a 2-D cost
#
# With two inputs the gradient `grad C = (dC/dx, dC/dy)` points uphill, the steepest way; the
# algorithm is the same: **compute `grad C`, take a small step along `-grad C`, repeat**.

# %%
def C2(v):
    x, y = v
    return 0.5 * x**2 + 2.5 * y**2 + 0.3 * np.sin(3 * x) * np.cos(2 * y)


def grad_C2(v):
    x, y = v
    return np.array([
        x + 0.9 * np.cos(3 * x) * np.cos(2 * y),
        5 * y - 0.6 * np.sin(3 * x) * np.sin(2 * y),
    ])


X2, Y2 = np.meshgrid(np.linspace(-3, 3, 200), np.linspace(-2, 2, 200))
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.contourf(X2, Y2, C2((X2, Y2)), levels=30, cmap="viridis")
for eta in (0.05, 0.3):
    v = np.array([-2.7, 1.6])
    path = [v]
    for _ in range(25):
        v = v - eta * grad_C2(v)
        path.append(v)
    path = np.array(path)
    ax.plot(path[:, 0], path[:, 1], "o-", markersize=3, label=f"eta = {eta}")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title("25 steps along -grad C")
ax.legend()
plt.show()

# %% [markdown]
# ## On the real network
#
# Now the input is the 13,002-vector of weights and biases, and the gradient comes from
# backpropagation (lessons 3 and 4). The network takes a step after every **mini-batch** of 10
# images (stochastic gradient descent), eta 1.5. `views.record_trajectory` keeps the weights
# after every epoch, and `views.landscape` draws the real cost on the 2-D slice of weight space
# that best shows that path: each dot is an epoch, the star the final weights.

# %%
recorder = views.record_trajectory(net)  # keeps the untrained start too
history = train_on(net, data, TrainConfig(epochs=8, batch_size=10, lr=1.5), callback=recorder)
for record in history.epochs:
    print(f"epoch {record.epoch}: cost {record.train_cost:.4f}, "
          f"test accuracy {record.test_accuracy:.2%}")
views.landscape(net, data.X_train[:1000], data.y_train[:1000], trajectory=recorder.trajectory)

# %% [markdown]
# ## The learning rate
#
# eta is how far each step goes. Too small and the network crawls; too large and it jumps
# across the valley (and the sigmoids saturate, where their slope is almost 0). Three networks
# from the same start, 3 epochs each on 20,000 images:

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for eta in (0.05, 1.5, 40.0):
    trial = Network([784, 16, 16, 10], init="lecun", seed=0)
    h = train(trial, data.X_train[:20_000], data.y_train[:20_000],
              TrainConfig(epochs=3, batch_size=10, lr=eta), X_val=data.X_val, y_val=data.y_val)
    ax.plot([r.epoch for r in h.epochs], [100 * r.validation_accuracy for r in h.epochs],
            "o-", label=f"eta = {eta}")
    print(f"eta = {eta:5}: validation accuracy {h.last.validation_accuracy:.2%}")
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy (%)")
ax.legend()
plt.show()

# %% [markdown]
# ## Local minima: the random start decides
#
# Three random starts (seeds), the same recipe: each ends in a different place, with a
# slightly different accuracy, far apart in weight space. Halfway along the straight line
# between two of them the cost is higher than at either end: they lie in different valleys.

# %%
ends = []
for seed in (0, 1, 2):
    trial = Network([784, 16, 16, 10], init="lecun", seed=seed)
    h = train_on(trial, data, TrainConfig(epochs=3, batch_size=10, lr=1.5, seed=seed))
    ends.append(trial)
    print(f"seed {seed}: test accuracy {h.last.test_accuracy:.2%}")
theta = [n.parameter_vector().astype(np.float64) for n in ends]
print(f"distance between the weights of seeds 0 and 1: {np.linalg.norm(theta[0] - theta[1]):.1f}")
X_c, y_c = data.X_train[:5000], data.y_train[:5000]
midway = ends[0].copy()
for t in (0.0, 0.5, 1.0):
    midway.set_parameter_vector((1 - t) * theta[0] + t * theta[1])
    print(f"cost at {t:.1f} of the way from seed 0 to seed 1: {midway.total_cost(X_c, y_c):.4f}")

# %% [markdown]
# ## What the weights look like after training
#
# The lessons hoped that the first hidden layer would learn edges and strokes. The weights into
# each first-layer neuron, after training: mostly blobs, noise with a faint structure. The
# network learned *something* that works (90% accuracy or more) but **not the pattern we hoped
# for**: it found a local minimum of the cost, nothing more.

# %%
views.weights(net)

# %% [markdown]
# On the command line, the trained network and its pictures:
#
# ```sh
# digitnet train --epochs 8 --out runs/lesson2.npz
# digitnet plot landscape runs/lesson2.npz -o runs/landscape.png
# digitnet plot weights runs/lesson2.npz -o runs/weights.png
# digitnet experiment learning-rate --quick   # eta from 0.003 to 100 (needs digitnet[sweep])
# digitnet experiment seeds --quick           # many random starts
# ```
