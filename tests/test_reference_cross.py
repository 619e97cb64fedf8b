"""The two independent implementations (cs231n and dlfs) agree on the layers they share."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from _oracle import (
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

C = load_profile("cs231n")
D = load_profile("dlfs")
EXAMPLES = examples(25)


def close(a, b, rtol=1e-10, atol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.allclose(a, b, rtol=rtol, atol=atol), float(np.max(np.abs(a - b)))


@EXAMPLES
@given(seed=seeds, n=batch, dims=distinct(3, 2, 5), k=st.integers(1, 3))
def test_affine_agrees(seed, n, dims, k):
    rng = np.random.default_rng(seed)
    feat, m = tuple(dims[:k]), dims[-1] + 1
    x = rng.normal(size=(n, *feat))
    w, b = rng.normal(size=(int(np.prod(feat)), m)), rng.normal(size=m)
    out, cache = C.affine_forward(x, w, b)
    layer = D.Affine(w, b)
    close(out, layer.forward(x))
    dout = rng.normal(size=out.shape)
    dx, dw, db = C.affine_backward(dout, cache)
    close(dx, layer.backward(dout))
    close(dw, layer.dW)
    close(db, layer.db)


@EXAMPLES
@given(seed=seeds, shape=st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple),
       act=st.sampled_from(["relu", "sigmoid", "tanh"]))
def test_activations_agree(seed, shape, act):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, shape, high=30.0)
    out, cache = getattr(C, f"{act}_forward")(x)
    layer = {"relu": D.Relu, "sigmoid": D.Sigmoid, "tanh": D.Tanh}[act]()
    close(out, layer.forward(x), rtol=1e-13, atol=0)
    dout = rng.normal(size=shape)
    # s * (1 - s) from a rounded s is accurate to ~1e-16 absolute, not relative, near s = 1.
    close(getattr(C, f"{act}_backward")(dout, cache), layer.backward(dout), rtol=1e-12, atol=1e-15)


@EXAMPLES
@given(seed=seeds, n=batch, c=st.integers(2, 6), scale=st.sampled_from([0.1, 1.0, 10.0, 1000.0]))
def test_softmax_agrees(seed, n, c, scale):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=scale, size=(n, c))
    y = rng.integers(0, c, size=n)
    loss, dx = C.softmax_loss(x, y)
    layer = D.SoftmaxWithLoss()
    # Both are exact up to rounding of the O(scale) intermediates (x - max, log-sum-exp).
    atol = 1e-14 * max(1.0, scale)
    close(loss, layer.forward(x, y), rtol=1e-13, atol=atol)
    close(dx, layer.backward(), rtol=1e-12, atol=atol)


@EXAMPLES
@given(seed=seeds, n=st.integers(1, 6), d=st.integers(1, 5), momentum=st.sampled_from([0.9, 0.5]))
def test_batchnorm_agrees_with_equal_eps(seed, n, d, momentum):
    rng = np.random.default_rng(seed)
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    param = {"mode": "train", "eps": 1e-6, "momentum": momentum}
    layer = D.BatchNormalization(gamma, beta, momentum=momentum)
    for _ in range(2):  # train twice: running statistics agree
        x = rng.normal(loc=1.0, scale=2.0, size=(n, d))
        out, cache = C.batchnorm_forward(x, gamma, beta, param)
        close(out, layer.forward(x, train_flg=True))
        dout = rng.normal(size=out.shape)
        dx, dgamma, dbeta = C.batchnorm_backward(dout, cache)
        close(dx, layer.backward(dout), rtol=1e-8, atol=1e-10)
        close(dgamma, layer.dgamma)
        close(dbeta, layer.dbeta)
        close(param["running_mean"], layer.running_mean)
        close(param["running_var"], layer.running_var)
    param["mode"] = "test"
    x = rng.normal(size=(n, d))
    out, cache = C.batchnorm_forward(x, gamma, beta, param)
    close(out, layer.forward(x, train_flg=False))
    dout = rng.normal(size=out.shape)
    dx, dgamma, dbeta = C.batchnorm_backward(dout, cache)
    close(dx, layer.backward(dout))
    close(dgamma, layer.dgamma)


def test_batchnorm_default_eps_differs_as_documented():
    """cs231n eps 1e-5 vs dlfs eps 1e-6: the outputs differ by about
    (1e-5 - 1e-6) / (2 var) relative, so a checker must use the profile's eps."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3))
    g, b = np.ones(3), np.zeros(3)
    out_c, _ = C.batchnorm_forward(x, g, b, {"mode": "train"})
    out_d = D.BatchNormalization(g, b).forward(x)
    rel = np.max(np.abs(out_c - out_d) / np.abs(out_d))
    assert 1e-8 < rel < 1e-4


@EXAMPLES
@given(seed=seeds, n=st.integers(1, 5), d=st.integers(2, 6))
def test_layernorm_is_batchnorm_of_the_transpose(seed, n, d):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=rng.normal(size=(n, 1)), scale=2.0, size=(n, d))
    out, cache = C.layernorm_forward(x, np.ones(d), np.zeros(d), {"eps": 1e-6})
    bn = D.BatchNormalization(np.ones(n), np.zeros(n))
    close(out, bn.forward(x.T.copy()).T)
    dout = rng.normal(size=(n, d))
    dx, _, _ = C.layernorm_backward(dout, cache)
    close(dx, bn.backward(dout.T.copy()).T, rtol=1e-8, atol=1e-10)


@EXAMPLES
@given(seed=seeds, cfg=conv_configs(), extra=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_conv_agrees_including_non_integral_sizes(seed, cfg, extra):
    """Extra rows/columns that do not fill a last window are ignored (floor) by both."""
    rng = np.random.default_rng(seed)
    h, w = cfg["H"] + extra[0], cfg["W"] + extra[1]
    x = rng.normal(size=(cfg["N"], cfg["C"], h, w))
    W = rng.normal(size=(cfg["F"], cfg["C"], cfg["HH"], cfg["WW"]))
    b = rng.normal(size=cfg["F"])
    out, cache = C.conv_forward_naive(x, W, b, {"stride": cfg["stride"], "pad": cfg["pad"]})
    layer = D.Convolution(W, b, stride=cfg["stride"], pad=cfg["pad"])
    close(out, layer.forward(x))
    dout = rng.normal(size=out.shape)
    dx, dw, db = C.conv_backward_naive(dout, cache)
    close(dx, layer.backward(dout))
    close(dw, layer.dW)
    close(db, layer.db)


@EXAMPLES
@given(seed=seeds, cfg=pool_configs(), ocfg=pool_configs(overlap=True), which=st.booleans(),
       extra=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_maxpool_agrees_including_non_integral_sizes(seed, cfg, ocfg, which, extra):
    cfg = ocfg if which else cfg
    rng = np.random.default_rng(seed)
    x = spaced_grid(rng, (cfg["N"], cfg["C"], cfg["H"] + extra[0], cfg["W"] + extra[1]))
    out, cache = C.max_pool_forward_naive(
        x, {"pool_height": cfg["ph"], "pool_width": cfg["pw"], "stride": cfg["stride"]})
    layer = D.Pooling(cfg["ph"], cfg["pw"], stride=cfg["stride"])
    close(out, layer.forward(x), rtol=0, atol=0)
    dout = rng.normal(size=out.shape)
    close(C.max_pool_backward_naive(dout, cache), layer.backward(dout))


def test_maxpool_ties_go_to_the_first_maximum_in_both():
    x = np.ones((1, 1, 2, 3))
    out, cache = C.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    layer = D.Pooling(2, 2, stride=1)
    layer.forward(x)
    dout = np.array([[[[1.0, 10.0]]]])
    expected = np.array([[[[1.0, 10.0, 0.0], [0.0, 0.0, 0.0]]]])
    close(C.max_pool_backward_naive(dout, cache), expected, rtol=0, atol=0)
    close(layer.backward(dout), expected, rtol=0, atol=0)


@EXAMPLES
@given(seed=seeds, n=batch, dims=distinct(3, 2, 6))
def test_two_layer_nets_agree(seed, n, dims):
    rng = np.random.default_rng(seed)
    d, h, c = dims
    X, W1, b1, W2, b2 = relu_net_inputs(rng, n, d, h, c)
    y = rng.integers(0, c, size=n)
    cnet = C.TwoLayerNet(input_dim=d, hidden_dim=h, num_classes=c, reg=0.0)
    dnet = D.TwoLayerNet(d, h, c)
    for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items():
        cnet.params[k] = v.copy()
        dnet.params[k][...] = v
    close(cnet.loss(X), dnet.predict(X))
    loss, grads = cnet.loss(X, y)
    close(loss, dnet.loss(X, y))
    dgrads = dnet.gradient(X, y)
    for k in grads:
        close(grads[k], dgrads[k])


def test_same_seed_same_initialisation_in_both():
    np.random.seed(5)
    cnet = C.TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3, weight_scale=0.01)
    np.random.seed(5)
    dnet = D.TwoLayerNet(6, 4, 3, weight_init_std=0.01)
    for k in ("W1", "b1", "W2", "b2"):
        assert np.array_equal(cnet.params[k], dnet.params[k])


def test_dropout_train_is_unbiased_for_test_in_both_conventions():
    """E[train output] = test output in both: x for cs231n (inverted), x (1 - ratio) for dlfs."""
    x = np.full(200_000, 2.0)
    keep = 0.7
    tol = 5 * 2.0 * np.sqrt(keep * (1 - keep) / x.size)
    out_c, _ = C.dropout_forward(x, {"p": keep, "mode": "train", "seed": 1})
    test_c, _ = C.dropout_forward(x, {"p": keep, "mode": "test"})
    assert abs(out_c.mean() - test_c.mean()) < tol / keep
    np.random.seed(1)
    layer = D.Dropout(1 - keep)
    out_d = layer.forward(x, train_flg=True)
    test_d = layer.forward(x, train_flg=False)
    assert abs(out_d.mean() - test_d.mean()) < tol
    # Same global seed, complementary conventions: cs231n keeps u < p, dlfs keeps u > ratio.
    np.random.seed(1)
    u = np.random.rand(x.size)
    assert np.array_equal(out_c != 0, u < keep) and np.array_equal(out_d != 0, u > 1 - keep)
