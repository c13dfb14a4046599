"""The engine's optimizers keep their state out of the subnormal numbers, where arithmetic is
slow (digitnet.engine.step_rules_in_place)."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.engine.step_rules_in_place import (
    CHUNK,
    FLUSH_EVERY,
    Adam,
    Momentum,
    Nesterov,
    make_optimizer,
)


def subnormal(x: np.ndarray) -> np.ndarray:
    return (x != 0) & (np.abs(x) < np.finfo(x.dtype).tiny)


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_whose_gradient_stops_never_turns_subnormal(name, dtype):
    """One parameter keeps getting a gradient, the others get one once and then 0 for ever (a
    dead neuron): their state decays step after step, but is set to 0 before it is subnormal.
    Arrays larger than one piece of an update (CHUNK) and small 2-D ones are both covered."""
    rng = np.random.default_rng(0)
    params = [np.ones(CHUNK + 5, dtype), np.ones((3, 4), dtype)]
    opt = make_optimizer(name, params, momentum=0.5 if dtype == np.float64 else 0.9)
    states = opt.m + opt.v if isinstance(opt, Adam) else opt.v
    tiny = np.finfo(dtype).tiny
    steps = 3000 if dtype == np.float32 else 2500
    for t in range(steps):
        grads = [np.zeros_like(p) for p in params]
        if t == 0:
            for g in grads:
                g[...] = rng.uniform(1e-6, 1e-3, g.shape)
        grads[0][0] = 1e-3  # one entry is never 0
        opt.step(params, grads, 0.1)
        assert not any(subnormal(s).any() for s in states), f"subnormal state after step {t + 1}"
    for s in states:
        rest = s.reshape(-1)[1:] if s.shape == params[0].shape else s.reshape(-1)
        assert np.all((rest == 0) | (np.abs(rest) >= np.sqrt(tiny)))
        if s.shape == params[0].shape:
            assert s[0] != 0  # the live entry is kept
    if dtype == np.float32 and name != "adam":  # mu 0.9: the dead entries reached the flush
        assert all(np.all(s.reshape(-1)[1:] == 0) for s in states)
    assert all(np.isfinite(p).all() for p in params)


def test_the_flush_only_zeroes_entries_too_small_to_move_a_parameter():
    """Entries below sqrt(tiny) (1e-19 in float32) become 0 on the flushing step; every other
    entry, and the parameters, come out of that step exactly as an unflushed step leaves them."""
    v0 = np.array([1e-3, -2e-12, 5e-19, 2e-20, -3e-25, 1e-30, -1e-37, 0.0], np.float32)
    p_flushed, p_plain = np.ones(8, np.float32), np.ones(8, np.float32)
    flushed, plain = Momentum([p_flushed], mu=0.9), Momentum([p_plain], mu=0.9)
    flushed.v[0][...] = v0
    plain.v[0][...] = v0
    plain.flush._flushed.clear()  # the same optimizer without its flush
    every = flushed.flush._flushed[0][1]
    assert every == FLUSH_EVERY  # mu 0.9 takes 414 steps from sqrt(tiny) to tiny
    zero = [np.zeros(8, np.float32)]
    for _ in range(every):
        flushed.step([p_flushed], zero, 0.1)
        plain.step([p_plain], zero, 0.1)
    below = np.abs(plain.v[0]) < np.sqrt(np.finfo(np.float32).tiny)
    assert below.tolist() == [False, False, True, True, True, True, True, True]
    assert np.all(flushed.v[0][below] == 0)
    np.testing.assert_array_equal(flushed.v[0][~below], plain.v[0][~below])
    np.testing.assert_array_equal(p_flushed, p_plain)  # 1e-19 next to 1.0 moves nothing


def test_how_often_the_state_is_flushed_follows_its_decay():
    """Often enough that nothing decays from sqrt(tiny) to tiny between two flushes."""
    p = [np.zeros(4, np.float32)]
    assert Momentum(p, mu=0.9).flush._flushed[0][1] == FLUSH_EVERY
    assert Momentum(p, mu=0.5).flush._flushed[0][1] == 31  # 43.7 / ln 2 = 63 steps to subnormal
    assert Momentum(p, mu=0.0).flush._flushed == []  # no momentum: the velocity does not decay
    assert Nesterov(p, mu=0.99).flush._flushed[0][1] == FLUSH_EVERY
    assert [every for _, every in Adam(p).flush._flushed] == [FLUSH_EVERY, FLUSH_EVERY]


def test_training_with_momentum_in_backprop_flushes_too():
    """The engine's momentum path (the velocity written by backprop, then p <- p + v) counts
    its steps through step_after_velocity: the flush comes on the same schedule."""
    p = [np.ones(5, np.float32)]
    opt = Momentum(p, mu=0.9)
    opt.v[0][...] = [1e-3, 1e-25, -1e-30, 1e-37, 0.0]
    for _ in range(FLUSH_EVERY - 1):
        opt.step_after_velocity(p)
    assert np.count_nonzero(opt.v[0]) == 4
    opt.step_after_velocity(p)
    assert opt.v[0].tolist() == [np.float32(1e-3), 0.0, 0.0, 0.0, 0.0]
