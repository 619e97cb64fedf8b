"""The dlfs reference against the independent oracle, plus state, purity and stability."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _oracle import (
    assert_grad,
    away_from_zero,
    batch,
    conv_configs,
    distinct,
    examples,
    load_profile,
    pool_configs,
    relu_net_inputs,
    seeds,
    spaced_grid,
)

D = load_profile("dlfs")
TwoLayerNet = D.TwoLayerNet

EXAMPLES = examples(30)
FEW = examples(20)
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


# --------------------------------------------------------------------------------------------
# Gradients against the oracle
# --------------------------------------------------------------------------------------------
@EXAMPLES
@given(seed=seeds, shape=shapes, op=st.sampled_from(["add", "mul"]))
def test_add_mul_gradients(seed, shape, op):
    rng = np.random.default_rng(seed)
    cls = D.AddLayer if op == "add" else D.MulLayer
    x, y = rng.normal(size=shape), rng.normal(size=shape)
    layer = cls()
    out = layer.forward(x, y)
    assert np.array_equal(out, x + y if op == "add" else x * y)
    dout = rng.normal(size=shape)
    dx, dy = layer.backward(dout)
    f = lambda: cls().forward(x, y)
    assert_grad(dx, f, x, dout, "x")
    assert_grad(dy, f, y, dout, "y")


def test_add_mul_scalars_as_in_the_book():
    mul_apple, mul_tax = D.MulLayer(), D.MulLayer()
    price = mul_tax.forward(mul_apple.forward(100.0, 2.0), 1.1)
    assert price == pytest.approx(220.0)
    dprice, dtax = mul_tax.backward(1.0)
    dapple, dnum = mul_apple.backward(dprice)
    assert (float(dapple), float(dnum), float(dtax)) == pytest.approx((2.2, 110.0, 200.0))
    add = D.AddLayer()
    assert add.forward(1.0, 2.0) == 3.0
    assert tuple(map(float, add.backward(1.5))) == (1.5, 1.5)


@EXAMPLES
@given(seed=seeds, n=batch, dims=distinct(3, 2, 5), k=st.integers(1, 3))
def test_affine_gradients_nd_input(seed, n, dims, k):
    rng = np.random.default_rng(seed)
    feat, m = tuple(dims[:k]), dims[-1] + 1
    x = rng.normal(size=(n, *feat))
    W = rng.normal(size=(int(np.prod(feat)), m))
    b = rng.normal(size=m)
    layer = D.Affine(W, b)
    out = layer.forward(x)
    assert out.shape == (n, m) and np.allclose(out, x.reshape(n, -1) @ W + b)
    dout = rng.normal(size=out.shape)
    dx = layer.backward(dout)
    f = lambda: D.Affine(W, b).forward(x)
    assert_grad(dx, f, x, dout, "x")
    assert_grad(layer.dW, f, W, dout, "W")
    assert_grad(layer.db, f, b, dout, "b")


@EXAMPLES
@given(seed=seeds, shape=shapes, act=st.sampled_from(["Relu", "Sigmoid", "Tanh"]))
def test_activation_gradients(seed, shape, act):
    rng = np.random.default_rng(seed)
    cls = getattr(D, act)
    x = away_from_zero(rng, shape) if act == "Relu" else rng.normal(scale=3.0, size=shape)
    layer = cls()
    out = layer.forward(x)
    expected = {"Relu": np.maximum(x, 0), "Sigmoid": 1 / (1 + np.exp(-x)), "Tanh": np.tanh(x)}[act]
    assert np.allclose(out, expected, rtol=1e-12, atol=0)
    dout = rng.normal(size=shape)
    assert_grad(layer.backward(dout), lambda: cls().forward(x), x, dout)


@EXAMPLES
@given(seed=seeds, n=batch, c=st.integers(2, 6), scale=st.floats(0.1, 10.0),
       onehot=st.booleans(), dout=st.sampled_from([1, 1.0, 0.5, 3.0]))
def test_softmax_with_loss_gradient(seed, n, c, scale, onehot, dout):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=scale, size=(n, c))
    idx = rng.integers(0, c, size=n)
    t = np.eye(c)[idx] if onehot else idx
    layer = D.SoftmaxWithLoss()
    loss = layer.forward(x, t)
    assert isinstance(loss, float)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(n), idx])), rel=1e-10)
    dx = layer.backward(dout)
    assert_grad(dx, lambda: D.SoftmaxWithLoss().forward(x, t), x, dout)
    # (p - 1 of the naive softmax cancels, hence the absolute tolerance)
    assert np.allclose(dx, dout * (p - np.eye(c)[idx]) / n, rtol=1e-10, atol=1e-12)


def test_softmax_with_loss_default_dout_and_single_example():
    x = np.array([[1.0, 2.0, 0.5]])
    layer = D.SoftmaxWithLoss()
    loss = layer.forward(x, np.array([1]))
    assert np.array_equal(layer.backward(), layer.backward(1))
    one = D.SoftmaxWithLoss()
    assert one.forward(x[0], np.array([1])) == loss  # a (C,) input is one example
    assert one.backward().shape == (3,)


@EXAMPLES
@given(seed=seeds, n=batch, feat=st.sampled_from([(2,), (3,), (5,), (2, 3), (3, 1, 2)]),
       train=st.booleans())
def test_batchnorm_gradients(seed, n, feat, train):
    rng = np.random.default_rng(seed)
    d = int(np.prod(feat))
    x = rng.normal(loc=rng.normal(size=feat), scale=rng.uniform(0.5, 3.0, size=feat), size=(n, *feat))
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    rm, rv = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d)
    make = lambda: D.BatchNormalization(gamma, beta, running_mean=rm, running_var=rv)
    layer = make()
    out = layer.forward(x, train_flg=train)
    assert out.shape == x.shape
    dout = rng.normal(size=out.shape)
    dx = layer.backward(dout)
    f = lambda: make().forward(x, train_flg=train)
    assert_grad(dx, f, x, dout, "x")
    assert_grad(layer.dgamma, f, gamma, dout, "gamma")
    assert_grad(layer.dbeta, f, beta, dout, "beta")


@EXAMPLES
@given(seed=seeds, shape=shapes, ratio=st.floats(0.0, 0.8), train=st.booleans(),
       mseed=st.integers(0, 10**6))
def test_dropout_gradient(seed, shape, ratio, train, mseed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)

    def f():
        np.random.seed(mseed)  # the same mask on every call
        return D.Dropout(ratio).forward(x, train_flg=train)

    np.random.seed(mseed)
    layer = D.Dropout(ratio)
    layer.forward(x, train_flg=train)
    dout = rng.normal(size=shape)
    assert_grad(layer.backward(dout), f, x, dout)


@EXAMPLES
@given(seed=seeds, cfg=conv_configs())
def test_convolution_gradients(seed, cfg):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(cfg["N"], cfg["C"], cfg["H"], cfg["W"]))
    W = rng.normal(size=(cfg["F"], cfg["C"], cfg["HH"], cfg["WW"]))
    b = rng.normal(size=cfg["F"])
    make = lambda: D.Convolution(W, b, stride=cfg["stride"], pad=cfg["pad"])
    layer = make()
    out = layer.forward(x)
    assert out.shape == (cfg["N"], cfg["F"], cfg["Ho"], cfg["Wo"])
    pad, s = cfg["pad"], cfg["stride"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    i, j = cfg["Ho"] - 1, cfg["Wo"] - 1
    patch = xp[-1, :, i * s : i * s + cfg["HH"], j * s : j * s + cfg["WW"]]
    assert out[-1, -1, i, j] == pytest.approx(np.sum(patch * W[-1]) + b[-1], rel=1e-10, abs=1e-12)
    dout = rng.normal(size=out.shape)
    dx = layer.backward(dout)
    f = lambda: make().forward(x)
    assert_grad(dx, f, x, dout, "x")
    assert_grad(layer.dW, f, W, dout, "W")
    assert_grad(layer.db, f, b, dout, "b")


@EXAMPLES
@given(seed=seeds, cfg=pool_configs(), overlap_cfg=pool_configs(overlap=True), which=st.booleans())
def test_pooling_gradient(seed, cfg, overlap_cfg, which):
    cfg = overlap_cfg if which else cfg
    rng = np.random.default_rng(seed)
    x = spaced_grid(rng, (cfg["N"], cfg["C"], cfg["H"], cfg["W"]))
    make = lambda: D.Pooling(cfg["ph"], cfg["pw"], stride=cfg["stride"])
    layer = make()
    out = layer.forward(x)
    assert out.shape == (cfg["N"], cfg["C"], cfg["Ho"], cfg["Wo"])
    i, j, s = cfg["Ho"] - 1, cfg["Wo"] - 1, cfg["stride"]
    assert out[0, -1, i, j] == x[0, -1, i * s : i * s + cfg["ph"], j * s : j * s + cfg["pw"]].max()
    dout = rng.normal(size=out.shape)
    assert_grad(layer.backward(dout), lambda: make().forward(x), x, dout)


def test_pooling_gradient_accumulates_where_windows_overlap_and_rejects_padding():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0
    layer = D.Pooling(2, 2, stride=1)
    layer.forward(x)
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0
    with pytest.raises(ValueError):
        D.Pooling(2, 2, stride=2, pad=1)


@FEW
@given(seed=seeds, n=batch, dims=distinct(3, 2, 6), onehot=st.booleans())
def test_two_layer_net_gradient(seed, n, dims, onehot):
    rng = np.random.default_rng(seed)
    d, h, c = dims
    X, W1, b1, W2, b2 = relu_net_inputs(rng, n, d, h, c)
    idx = rng.integers(0, c, size=n)
    t = np.eye(c)[idx] if onehot else idx
    net = TwoLayerNet(d, h, c)
    for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items():
        net.params[k][...] = v  # in place: the layers hold the same arrays
    assert np.allclose(net.predict(X), np.maximum(X @ W1 + b1, 0) @ W2 + b2)
    grads = net.gradient(X, t)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for k in grads:
        assert_grad(grads[k], lambda: net.loss(X, t), net.params[k], name=k)
    acc = net.accuracy(X, t)
    assert acc == np.mean(np.argmax(net.predict(X), axis=1) == idx)


def test_two_layer_net_numerical_gradient_agrees():
    rng = np.random.default_rng(11)
    X, W1, b1, W2, b2 = relu_net_inputs(rng, 3, 4, 5, 3, margin=0.05)
    net = TwoLayerNet(4, 5, 3)
    for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items():
        net.params[k][...] = v
    t = np.array([0, 2, 1])
    before = {k: v.copy() for k, v in net.params.items()}
    num = net.numerical_gradient(X, t)
    bp = net.gradient(X, t)
    for k in bp:
        assert np.array_equal(net.params[k], before[k])
        assert np.allclose(num[k], bp[k], rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------------
# State: batchnorm running statistics, dropout masks, initialisation, shared parameters
# --------------------------------------------------------------------------------------------
@FEW
@given(seed=seeds, n=st.integers(2, 6), feat=st.sampled_from([(1,), (3,), (2, 3)]),
       momentum=st.sampled_from([None, 0.0, 0.5, 0.99]))
def test_batchnorm_running_statistics(seed, n, feat, momentum):
    rng = np.random.default_rng(seed)
    d = int(np.prod(feat))
    m = 0.9 if momentum is None else momentum
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    layer = D.BatchNormalization(gamma, beta) if momentum is None else D.BatchNormalization(gamma, beta, momentum=m)
    assert layer.running_mean is None and layer.running_var is None
    rm, rv = np.zeros(d), np.zeros(d)
    for _ in range(3):
        x = rng.normal(loc=2.0, scale=3.0, size=(n, *feat))
        x2 = x.reshape(n, -1)
        layer.forward(x, train_flg=True)
        rm = m * rm + (1 - m) * x2.mean(0)
        rv = m * rv + (1 - m) * x2.var(0)
        assert np.allclose(layer.running_mean, rm, rtol=1e-12, atol=1e-14)
        assert np.allclose(layer.running_var, rv, rtol=1e-12, atol=1e-14)
    x = rng.normal(size=(n, *feat))
    out = layer.forward(x, train_flg=False)
    expected = gamma * (x.reshape(n, -1) - rm) / np.sqrt(rv + 1e-6) + beta
    assert np.allclose(out, expected.reshape(x.shape), rtol=1e-12, atol=1e-12)
    assert np.allclose(layer.running_mean, rm, rtol=1e-12, atol=1e-14)


def test_batchnorm_given_running_stats_not_modified_in_place():
    rm, rv = np.ones(3), np.full(3, 2.0)
    layer = D.BatchNormalization(np.ones(3), np.zeros(3), running_mean=rm, running_var=rv)
    layer.forward(np.random.default_rng(0).normal(size=(4, 3)))
    assert np.array_equal(rm, np.ones(3)) and np.array_equal(rv, np.full(3, 2.0))
    assert not np.array_equal(layer.running_mean, rm)


def test_dropout_semantics_and_reproducibility():
    x = np.random.default_rng(2).normal(size=(200, 100)) + 3.0  # never exactly 0
    ratio = 0.3
    np.random.seed(99)
    u = np.random.rand(*x.shape)
    np.random.seed(99)
    layer = D.Dropout(ratio)
    out = layer.forward(x)  # train_flg defaults to True
    keep = u > ratio
    assert np.array_equal(out != 0, keep), "mask must be np.random.rand(*x.shape) > dropout_ratio"
    assert np.array_equal(out[keep], x[keep]), "kept units are not scaled"
    n = x.size
    assert abs(keep.mean() - (1 - ratio)) < 5 * np.sqrt(ratio * (1 - ratio) / n)
    assert np.array_equal(layer.backward(np.ones_like(x)), keep.astype(float))
    np.random.seed(99)
    assert np.array_equal(D.Dropout(ratio).forward(x), out)
    # Test mode scales by (1 - ratio) and draws nothing.
    state = np.random.get_state()[1].copy()
    out_t = layer.forward(x, train_flg=False)
    assert np.allclose(out_t, x * (1 - ratio), rtol=1e-15)
    assert np.array_equal(np.random.get_state()[1], state)
    assert np.allclose(layer.backward(np.ones_like(x)), 1 - ratio, rtol=1e-15)
    assert D.Dropout().dropout_ratio == 0.5


def test_two_layer_net_initialisation_and_shared_params():
    d, h, c, std = 200, 60, 7, 0.05
    np.random.seed(42)
    net = TwoLayerNet(d, h, c, weight_init_std=std)
    np.random.seed(42)
    W1 = std * np.random.randn(d, h)
    W2 = std * np.random.randn(h, c)
    assert np.array_equal(net.params["W1"], W1) and np.array_equal(net.params["W2"], W2), \
        "W1 is drawn before W2, as weight_init_std * randn"
    assert np.array_equal(net.params["b1"], np.zeros(h)) and np.array_equal(net.params["b2"], np.zeros(c))
    for k, size in (("W1", d * h), ("W2", h * c)):
        assert abs(net.params[k].std() / std - 1) < 5 / np.sqrt(2 * size)
    assert abs(TwoLayerNet(300, 100, 10).params["W1"].std() / 0.01 - 1) < 0.02
    # Layers are built on the same arrays as params.
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"]
    assert net.layers["Affine1"].W is net.params["W1"] and net.layers["Affine1"].b is net.params["b1"]
    assert net.layers["Affine2"].W is net.params["W2"] and net.layers["Affine2"].b is net.params["b2"]
    assert isinstance(net.lastLayer, D.SoftmaxWithLoss)
    x = np.random.default_rng(0).normal(size=(5, d))
    t = np.array([0, 1, 2, 3, 4])
    before, loss_before = net.predict(x), net.loss(x, t)
    grads = net.gradient(x, t)
    for k in net.params:
        net.params[k] -= 0.1 * grads[k]  # an SGD step, in place: must reach the layers
    assert not np.allclose(net.predict(x), before)
    assert net.loss(x, t) < loss_before


# --------------------------------------------------------------------------------------------
# Purity, dtype, stability
# --------------------------------------------------------------------------------------------
def _cases():
    """(name, factory, forward args, forward kwargs, param attributes to check)."""
    rng = np.random.default_rng(3)
    x4 = rng.normal(size=(2, 3, 5, 4))
    W4, b4 = rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    x2, y2 = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    g, bt = rng.normal(size=5), rng.normal(size=5)
    W, b = rng.normal(size=(60, 3)), rng.normal(size=3)
    yield "add", lambda: D.AddLayer(), (x2, y2), {}, ()
    yield "mul", lambda: D.MulLayer(), (x2, y2), {}, ()
    yield "affine", lambda: D.Affine(W, b), (x4,), {}, ("dW", "db")
    for act in ("Relu", "Sigmoid", "Tanh"):
        yield act.lower(), getattr(D, act), (x2,), {}, ()
    yield "softmax-idx", D.SoftmaxWithLoss, (x2, np.array([0, 2, 1, 4])), {}, ()
    yield "softmax-onehot", D.SoftmaxWithLoss, (x2, np.eye(5)[[0, 2, 1, 4]]), {}, ()
    for train in (True, False):
        rm, rv = rng.normal(size=5), rng.uniform(1, 2, size=5)
        yield f"batchnorm-{train}", lambda rm=rm, rv=rv: D.BatchNormalization(g, bt, 0.9, rm, rv), (x2,), {"train_flg": train}, ("dgamma", "dbeta")
        yield f"dropout-{train}", lambda: D.Dropout(0.4), (x2,), {"train_flg": train}, ()
    yield "conv", lambda: D.Convolution(W4, b4, stride=2, pad=1), (x4,), {}, ("dW", "db")
    yield "pool", lambda: D.Pooling(2, 3, stride=1), (x4,), {}, ()


def _held_arrays(layer):
    return {k: v.copy() for k, v in vars(layer).items() if k in ("W", "b", "gamma", "beta", "running_mean", "running_var") and isinstance(v, np.ndarray)}


@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: c[0])
def test_no_input_mutated_and_float64_out(case):
    name, make, args, kwargs, grad_attrs = case
    layer = make()
    held = _held_arrays(layer)
    held_ids = {k: id(getattr(layer, k)) for k in held}
    before = [a.copy() for a in args]
    np.random.seed(0)
    out = layer.forward(*args, **kwargs)
    if name.startswith("softmax"):
        assert isinstance(out, float)
        dout = 2.0
        dxs = layer.backward(dout)
    else:
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
        dout = np.random.default_rng(4).normal(size=out.shape)
        dout0 = dout.copy()
        dxs = layer.backward(dout)
        assert np.array_equal(dout, dout0), "dout mutated"
    for g in dxs if isinstance(dxs, tuple) else (dxs,):
        assert isinstance(g, np.ndarray) and g.dtype == np.float64
        assert not any(np.shares_memory(g, a) for a in args), "a gradient aliases an input"
    for attr in grad_attrs:
        assert getattr(layer, attr).dtype == np.float64
    for a, b in zip(args, before):
        assert np.array_equal(a, b), f"{name}: an input was mutated"
    for k, v in held.items():
        if k.startswith("running") and kwargs.get("train_flg", True):
            continue  # replaced by new arrays in train mode
        assert id(getattr(layer, k)) == held_ids[k] and np.array_equal(getattr(layer, k), v), \
            f"{name}: parameter {k} changed"


def test_stability_at_plus_minus_1000():
    x = np.array([[-1000.0, 0.0, 1000.0], [1000.0, -1000.0, 1.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        sig = D.Sigmoid()
        s = sig.forward(x)
        assert np.allclose(s, [[0.0, 0.5, 1.0], [1.0, 0.0, 1 / (1 + np.exp(-1.0))]], rtol=1e-15, atol=0)
        assert np.all(np.isfinite(sig.backward(np.ones_like(x))))
        tanh = D.Tanh()
        tanh.forward(x)
        assert np.all(np.isfinite(tanh.backward(np.ones_like(x))))
        for t in (np.array([0, 2]), np.eye(3)[[0, 2]]):
            layer = D.SoftmaxWithLoss()
            loss = layer.forward(x, t)
            assert loss == pytest.approx((2000.0 + 999.0) / 2, rel=1e-12)
            assert np.all(np.isfinite(layer.backward()))


@FEW
@given(seed=seeds, n=batch, c=st.integers(2, 6))
def test_softmax_onehot_equals_indices(seed, n, c):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=5.0, size=(n, c))
    idx = rng.integers(0, c, size=n)
    a, b = D.SoftmaxWithLoss(), D.SoftmaxWithLoss()
    assert a.forward(x, idx) == pytest.approx(b.forward(x, np.eye(c)[idx]), rel=1e-14, abs=1e-15)
    assert np.allclose(a.backward(), b.backward(), rtol=1e-14, atol=1e-16)


def test_book_epsilon_is_within_acceptance():
    """The book's cross-entropy uses log(y + 1e-7); the difference from the exact loss is
    at most 1e-7 / min(y) per example, which is what a checker has to allow for."""
    x = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    t = np.array([0, 1])
    exact = D.SoftmaxWithLoss().forward(x, t)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    book = -np.sum(np.log(p[np.arange(2), t] + 1e-7)) / 2
    assert 0 < exact - book < 1e-7 / p[np.arange(2), t].min()
