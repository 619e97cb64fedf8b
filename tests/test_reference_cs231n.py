"""The cs231n reference against the independent oracle, plus state, purity and stability."""

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
    svm_scores,
)

L = load_profile("cs231n")
TwoLayerNet = L.TwoLayerNet

EXAMPLES = examples(30)
FEW = examples(20)


# --------------------------------------------------------------------------------------------
# Gradients against the oracle
# --------------------------------------------------------------------------------------------
@EXAMPLES
@given(seed=seeds, n=batch, dims=distinct(3, 2, 5), k=st.integers(1, 3))
def test_affine_gradients_nd_input(seed, n, dims, k):
    rng = np.random.default_rng(seed)
    feat, m = tuple(dims[:k]), dims[-1] + 1
    x = rng.normal(size=(n, *feat))
    w = rng.normal(size=(int(np.prod(feat)), m))
    b = rng.normal(size=m)
    out, cache = L.affine_forward(x, w, b)
    assert out.shape == (n, m)
    assert np.allclose(out, x.reshape(n, -1) @ w + b)
    dout = rng.normal(size=out.shape)
    dx, dw, db = L.affine_backward(dout, cache)
    f = lambda: L.affine_forward(x, w, b)[0]
    assert_grad(dx, f, x, dout, "x")
    assert_grad(dw, f, w, dout, "w")
    assert_grad(db, f, b, dout, "b")


@EXAMPLES
@given(seed=seeds, shape=st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple))
def test_relu_gradient(seed, shape):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, shape)
    out, cache = L.relu_forward(x)
    assert np.array_equal(out, np.maximum(x, 0))
    dout = rng.normal(size=shape)
    assert_grad(L.relu_backward(dout, cache), lambda: L.relu_forward(x)[0], x, dout)


@EXAMPLES
@given(seed=seeds, shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
       act=st.sampled_from(["sigmoid", "tanh"]))
def test_sigmoid_tanh_gradients(seed, shape, act):
    rng = np.random.default_rng(seed)
    fwd, bwd = getattr(L, f"{act}_forward"), getattr(L, f"{act}_backward")
    x = rng.normal(scale=3.0, size=shape)
    out, cache = fwd(x)
    expected = 1 / (1 + np.exp(-x)) if act == "sigmoid" else np.tanh(x)
    assert np.allclose(out, expected, rtol=1e-12, atol=0)
    dout = rng.normal(size=shape)
    assert_grad(bwd(dout, cache), lambda: fwd(x)[0], x, dout)


@EXAMPLES
@given(seed=seeds, n=batch, c=st.integers(2, 6), scale=st.floats(0.1, 10.0))
def test_softmax_loss_value_and_gradient(seed, n, c, scale):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=scale, size=(n, c))
    y = rng.integers(0, c, size=n)
    loss, dx = L.softmax_loss(x, y)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(n), y])), rel=1e-10)
    assert_grad(dx, lambda: L.softmax_loss(x, y)[0], x)


@EXAMPLES
@given(seed=seeds, n=batch, c=st.integers(2, 6))
def test_svm_loss_value_and_gradient(seed, n, c):
    rng = np.random.default_rng(seed)
    x, y = svm_scores(rng, n, c)
    loss, dx = L.svm_loss(x, y)
    expected = sum(max(0.0, x[i, j] - x[i, y[i]] + 1) for i in range(n) for j in range(c) if j != y[i]) / n
    assert loss == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert_grad(dx, lambda: L.svm_loss(x, y)[0], x)


@EXAMPLES
@given(seed=seeds, n=batch, d=st.integers(2, 6), mode=st.sampled_from(["train", "test"]),
       eps=st.sampled_from([1e-5, 1e-3, None]))
def test_batchnorm_gradients(seed, n, d, mode, eps):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=rng.normal(size=d), scale=rng.uniform(0.5, 3.0, size=d), size=(n, d))
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    param = {"mode": mode, "running_mean": rng.normal(size=d), "running_var": rng.uniform(0.5, 2, size=d)}
    if eps is not None:
        param["eps"] = eps
    f = lambda: L.batchnorm_forward(x, gamma, beta, dict(param))[0]
    out, cache = L.batchnorm_forward(x, gamma, beta, dict(param))
    dout = rng.normal(size=out.shape)
    dx, dgamma, dbeta = L.batchnorm_backward(dout, cache)
    assert_grad(dx, f, x, dout, "x")
    assert_grad(dgamma, f, gamma, dout, "gamma")
    assert_grad(dbeta, f, beta, dout, "beta")


@EXAMPLES
@given(seed=seeds, n=batch, d=st.integers(2, 7), eps=st.sampled_from([1e-5, 1e-2, None]))
def test_layernorm_gradients(seed, n, d, eps):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=rng.normal(size=(n, 1)), scale=rng.uniform(0.5, 3.0, size=(n, 1)), size=(n, d))
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    param = {} if eps is None else {"eps": eps}
    out, cache = L.layernorm_forward(x, gamma, beta, param)
    e = 1e-5 if eps is None else eps
    mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    assert np.allclose(out, gamma * (x - mu) / np.sqrt(var + e) + beta, rtol=1e-12, atol=1e-12)
    f = lambda: L.layernorm_forward(x, gamma, beta, dict(param))[0]
    dout = rng.normal(size=out.shape)
    dx, dgamma, dbeta = L.layernorm_backward(dout, cache)
    assert_grad(dx, f, x, dout, "x")
    assert_grad(dgamma, f, gamma, dout, "gamma")
    assert_grad(dbeta, f, beta, dout, "beta")


@EXAMPLES
@given(seed=seeds, shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
       p=st.floats(0.2, 1.0), mode=st.sampled_from(["train", "test"]), mseed=st.integers(0, 10**6))
def test_dropout_gradient(seed, shape, p, mode, mseed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    param = {"p": p, "mode": mode, "seed": mseed}
    out, cache = L.dropout_forward(x, param)
    dout = rng.normal(size=shape)
    assert_grad(L.dropout_backward(dout, cache), lambda: L.dropout_forward(x, param)[0], x, dout)


@EXAMPLES
@given(seed=seeds, cfg=conv_configs())
def test_conv_gradients(seed, cfg):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(cfg["N"], cfg["C"], cfg["H"], cfg["W"]))
    w = rng.normal(size=(cfg["F"], cfg["C"], cfg["HH"], cfg["WW"]))
    b = rng.normal(size=cfg["F"])
    cp = {"stride": cfg["stride"], "pad": cfg["pad"]}
    out, cache = L.conv_forward_naive(x, w, b, cp)
    assert out.shape == (cfg["N"], cfg["F"], cfg["Ho"], cfg["Wo"])
    # One output element by the definition, loops and all.
    xp = np.pad(x, ((0, 0), (0, 0), (cp["pad"],) * 2, (cp["pad"],) * 2))
    i, j, s = cfg["Ho"] - 1, cfg["Wo"] - 1, cp["stride"]
    patch = xp[-1, :, i * s : i * s + cfg["HH"], j * s : j * s + cfg["WW"]]
    assert out[-1, -1, i, j] == pytest.approx(np.sum(patch * w[-1]) + b[-1], rel=1e-10, abs=1e-12)
    dout = rng.normal(size=out.shape)
    dx, dw, db = L.conv_backward_naive(dout, cache)
    f = lambda: L.conv_forward_naive(x, w, b, cp)[0]
    assert_grad(dx, f, x, dout, "x")
    assert_grad(dw, f, w, dout, "w")
    assert_grad(db, f, b, dout, "b")


@EXAMPLES
@given(seed=seeds, cfg=pool_configs(), overlap_cfg=pool_configs(overlap=True), which=st.booleans())
def test_maxpool_gradient(seed, cfg, overlap_cfg, which):
    cfg = overlap_cfg if which else cfg
    rng = np.random.default_rng(seed)
    x = spaced_grid(rng, (cfg["N"], cfg["C"], cfg["H"], cfg["W"]))
    pp = {"pool_height": cfg["ph"], "pool_width": cfg["pw"], "stride": cfg["stride"]}
    out, cache = L.max_pool_forward_naive(x, pp)
    assert out.shape == (cfg["N"], cfg["C"], cfg["Ho"], cfg["Wo"])
    i, j, s = cfg["Ho"] - 1, cfg["Wo"] - 1, cfg["stride"]
    assert out[0, -1, i, j] == x[0, -1, i * s : i * s + cfg["ph"], j * s : j * s + cfg["pw"]].max()
    dout = rng.normal(size=out.shape)
    assert_grad(L.max_pool_backward_naive(dout, cache), lambda: L.max_pool_forward_naive(x, pp)[0], x, dout)


def test_maxpool_gradient_accumulates_where_windows_overlap():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the maximum of all four overlapping 2x2 windows
    out, cache = L.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    dx = L.max_pool_backward_naive(np.ones((1, 1, 2, 2)), cache)
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0


@FEW
@given(seed=seeds, n=batch, dims=distinct(3, 2, 6), reg=st.sampled_from([0.0, 0.1, 1.3]))
def test_two_layer_net_gradients(seed, n, dims, reg):
    rng = np.random.default_rng(seed)
    d, h, c = dims
    X, W1, b1, W2, b2 = relu_net_inputs(rng, n, d, h, c)
    y = rng.integers(0, c, size=n)
    net = TwoLayerNet(input_dim=d, hidden_dim=h, num_classes=c, reg=reg)
    net.params.update(W1=W1, b1=b1, W2=W2, b2=b2)
    scores = net.loss(X)
    assert scores.shape == (n, c)
    assert np.allclose(scores, np.maximum(X @ W1 + b1, 0) @ W2 + b2)
    loss, grads = net.loss(X, y)
    data_loss, _ = L.softmax_loss(scores, y)
    assert loss == pytest.approx(data_loss + 0.5 * reg * (np.sum(W1**2) + np.sum(W2**2)), rel=1e-12)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for k in grads:
        assert_grad(grads[k], lambda: net.loss(X, y)[0], net.params[k], name=k)


# --------------------------------------------------------------------------------------------
# State: batchnorm running statistics, dropout masks, initialisation
# --------------------------------------------------------------------------------------------
@FEW
@given(seed=seeds, n=st.integers(2, 6), d=st.integers(1, 5), momentum=st.sampled_from([None, 0.0, 0.5, 0.99]))
def test_batchnorm_running_statistics(seed, n, d, momentum):
    rng = np.random.default_rng(seed)
    m = 0.9 if momentum is None else momentum
    param = {"mode": "train"}
    if momentum is not None:
        param["momentum"] = momentum
    rm, rv = np.zeros(d), np.zeros(d)
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    for _ in range(3):
        x = rng.normal(loc=2.0, scale=3.0, size=(n, d))
        old_mean = param.get("running_mean")
        old_copy = None if old_mean is None else old_mean.copy()
        L.batchnorm_forward(x, gamma, beta, param)
        rm = m * rm + (1 - m) * x.mean(0)
        rv = m * rv + (1 - m) * x.var(0)  # biased
        assert np.allclose(param["running_mean"], rm, rtol=1e-12, atol=1e-14)
        assert np.allclose(param["running_var"], rv, rtol=1e-12, atol=1e-14)
        if old_mean is not None:
            assert np.array_equal(old_mean, old_copy), "old running_mean modified in place"
    # Test mode normalises with the running statistics and leaves them alone.
    param["mode"] = "test"
    x = rng.normal(size=(n, d))
    out, _ = L.batchnorm_forward(x, gamma, beta, param)
    assert np.allclose(out, gamma * (x - rm) / np.sqrt(rv + 1e-5) + beta, rtol=1e-12, atol=1e-12)
    assert np.array_equal(param["running_mean"], rm) or np.allclose(param["running_mean"], rm, rtol=1e-12)
    before = (param["running_mean"].copy(), param["running_var"].copy())
    L.batchnorm_forward(x, gamma, beta, param)
    assert np.array_equal(param["running_mean"], before[0]) and np.array_equal(param["running_var"], before[1])


def test_batchnorm_train_output_is_normalised():
    rng = np.random.default_rng(1)
    x = rng.normal(loc=5, scale=4, size=(200, 3))
    out, _ = L.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    assert np.allclose(out.mean(0), 0, atol=1e-12) and np.allclose(out.var(0), 1, atol=1e-5)


def test_dropout_semantics_and_reproducibility():
    x = np.random.default_rng(2).normal(size=(200, 100)) + 3.0  # never exactly 0
    p = 0.3
    np.random.seed(123)
    u = np.random.rand(*x.shape)
    np.random.seed(123)
    out, cache = L.dropout_forward(x, {"p": p, "mode": "train"})
    keep = u < p
    assert np.array_equal(out != 0, keep), "mask must be np.random.rand(*x.shape) < p"
    assert np.allclose(out[keep], x[keep] / p, rtol=1e-15), "kept units are scaled by 1/p"
    n = x.size
    assert abs(keep.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.random.seed(123)
    out2, _ = L.dropout_forward(x, {"p": p, "mode": "train"})
    assert np.array_equal(out, out2)
    # The 'seed' key overrides whatever state the global generator is in.
    o1, _ = L.dropout_forward(x, {"p": p, "mode": "train", "seed": 7})
    np.random.rand(5)
    o2, _ = L.dropout_forward(x, {"p": p, "mode": "train", "seed": 7})
    assert np.array_equal(o1, o2)
    # Test mode is the identity and draws nothing.
    state = np.random.get_state()[1].copy()
    out_t, cache_t = L.dropout_forward(x, {"p": p, "mode": "test"})
    assert np.array_equal(out_t, x)
    assert np.array_equal(np.random.get_state()[1], state)
    dout = np.ones_like(x)
    assert np.array_equal(L.dropout_backward(dout, cache_t), dout)
    assert np.array_equal(L.dropout_backward(dout, cache), keep / p)


def test_dropout_p_one_keeps_everything():
    x = np.arange(12.0).reshape(3, 4)
    out, _ = L.dropout_forward(x, {"p": 1.0, "mode": "train", "seed": 0})
    assert np.array_equal(out, x)


def test_two_layer_net_initialisation():
    d, h, c, scale = 200, 60, 7, 3e-2
    np.random.seed(42)
    net = TwoLayerNet(input_dim=d, hidden_dim=h, num_classes=c, weight_scale=scale)
    np.random.seed(42)
    W1 = scale * np.random.randn(d, h)
    W2 = scale * np.random.randn(h, c)
    assert np.array_equal(net.params["W1"], W1) and np.array_equal(net.params["W2"], W2), \
        "W1 is drawn before W2, as weight_scale * randn"
    assert np.array_equal(net.params["b1"], np.zeros(h)) and np.array_equal(net.params["b2"], np.zeros(c))
    for k, size in (("W1", d * h), ("W2", h * c)):
        std = net.params[k].std()
        assert abs(std / scale - 1) < 5 / np.sqrt(2 * size)
    defaults = TwoLayerNet()
    assert defaults.params["W1"].shape == (3072, 100) and defaults.params["W2"].shape == (100, 10)
    assert abs(defaults.params["W1"].std() / 1e-3 - 1) < 0.02
    assert defaults.reg == 0.0


# --------------------------------------------------------------------------------------------
# Purity, dtype, stability
# --------------------------------------------------------------------------------------------
def _cases():
    rng = np.random.default_rng(3)
    x4 = rng.normal(size=(2, 3, 5, 4))
    w4 = rng.normal(size=(4, 3, 3, 2))
    b4 = rng.normal(size=4)
    x2 = rng.normal(size=(4, 5))
    g, bt = rng.normal(size=5), rng.normal(size=5)
    y = np.array([0, 2, 1, 4])
    yield "affine", L.affine_forward, L.affine_backward, (x4, rng.normal(size=(60, 3)), rng.normal(size=3))
    yield "relu", L.relu_forward, L.relu_backward, (x2,)
    yield "sigmoid", L.sigmoid_forward, L.sigmoid_backward, (x2,)
    yield "tanh", L.tanh_forward, L.tanh_backward, (x2,)
    yield "softmax", L.softmax_loss, None, (x2, y)
    yield "svm", L.svm_loss, None, (x2, y)
    for mode in ("train", "test"):
        bn = {"mode": mode, "running_mean": rng.normal(size=5), "running_var": rng.uniform(1, 2, size=5)}
        yield f"batchnorm-{mode}", L.batchnorm_forward, L.batchnorm_backward, (x2, g, bt, bn)
        yield f"dropout-{mode}", L.dropout_forward, L.dropout_backward, (x2, {"p": 0.6, "mode": mode, "seed": 1})
    yield "layernorm", L.layernorm_forward, L.layernorm_backward, (x2, g, bt, {"eps": 1e-5})
    yield "conv", L.conv_forward_naive, L.conv_backward_naive, (x4, w4, b4, {"stride": 2, "pad": 1})
    yield "maxpool", L.max_pool_forward_naive, L.max_pool_backward_naive, (x4, {"pool_height": 2, "pool_width": 3, "stride": 1})


def _snapshot(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, dict):
        return {k: _snapshot(u) for k, u in v.items()}
    return v


def _same(a, b, key=None):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: c[0])
def test_no_input_mutated_and_float64_out(case):
    name, fwd, bwd, args = case
    before = [_snapshot(a) for a in args]
    out, cache = fwd(*args)
    if isinstance(out, float):
        grads = (cache,)
    else:
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
        dout = np.random.default_rng(4).normal(size=out.shape)
        dout0 = dout.copy()
        grads = bwd(dout, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        assert np.array_equal(dout, dout0), "dout mutated"
    for g in grads:
        assert isinstance(g, np.ndarray) and g.dtype == np.float64
    for a, b in zip(args, before):
        if isinstance(a, dict) and name == "batchnorm-train":
            # Only the running statistics may change (by replacement, not in place).
            assert _same({k: v for k, v in a.items() if not k.startswith("running")},
                         {k: v for k, v in b.items() if not k.startswith("running")})
            continue
        assert _same(a, b), f"{name}: an input was mutated"
    if name == "batchnorm-train":
        assert not np.array_equal(args[3]["running_mean"], before[3]["running_mean"])


def test_dx_never_aliases_an_input():
    x = np.random.default_rng(5).normal(size=(3, 4))
    out, cache = L.dropout_forward(x, {"p": 0.5, "mode": "test"})
    assert not np.shares_memory(out, x)
    dout = np.ones((3, 4))
    assert not np.shares_memory(L.dropout_backward(dout, cache), dout)


def test_stability_at_plus_minus_1000():
    x = np.array([[-1000.0, 0.0, 1000.0], [1000.0, -1000.0, 1.0]])
    y = np.array([0, 2])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s, cache = L.sigmoid_forward(x)
        assert np.array_equal(s, np.array([[0.0, 0.5, 1.0], [1.0, 0.0, 1 / (1 + np.exp(-1.0))]]))
        assert np.all(np.isfinite(L.sigmoid_backward(np.ones_like(x), cache)))
        t, cache = L.tanh_forward(x)
        assert np.all(np.isfinite(L.tanh_backward(np.ones_like(x), cache)))
        loss, dx = L.softmax_loss(x, y)
        assert np.isfinite(loss) and np.all(np.isfinite(dx))
        assert loss == pytest.approx((2000.0 + 999.0) / 2, rel=1e-12)
        loss, dx = L.svm_loss(x, y)
        assert np.isfinite(loss) and np.all(np.isfinite(dx))
        assert loss == pytest.approx((1001 + 2001 + 1000) / 2, rel=1e-12)
