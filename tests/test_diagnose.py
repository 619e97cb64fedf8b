"""Diagnosis hints: each pattern on synthetic arrays, and end to end on the mutants."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from gradcheck.engine import diagnose as dg
from gradcheck.catalogue import Case
from gradcheck.engine.numeric import ElementResult, Localisation


def _ctx(analytic, numeric, *, layer="affine", name="x", arrays=None, dout=None, case=None):
    a, n = np.asarray(analytic, float), np.asarray(numeric, float)
    loc = Localisation([ElementResult(i, float(a[i]), float(n[i])) for i in np.ndindex(a.shape)],
                       total=a.size)
    arrays = arrays if arrays is not None else {"x": np.random.default_rng(0).standard_normal(
        a.shape)}
    return dg.GradientContext(layer=layer, profile="cs231n", name=name, display="d" + name,
                              case=case or Case("default", {}), theta=arrays.get(name, a),
                              analytic=a, numeric=n, localisation=loc, arrays=arrays, dout=dout)


def _ids(hints):
    return [h["id"] for h in hints]


rng = np.random.default_rng(1)
G = rng.standard_normal((4, 5))


@pytest.mark.parametrize("factor,expected", [(4, "ratio-N"), (0.25, "ratio-1/N"), (-1, "sign"),
                                             (2, "ratio-2"), (0.5, "ratio-1/2"),
                                             (3.3, "ratio")])
def test_constant_ratios(factor, expected):
    assert _ids(dg.gradient_hints(_ctx(G * factor, G)))[0] == expected


def test_zero_transposed_permuted():
    assert _ids(dg.gradient_hints(_ctx(np.zeros_like(G), G))) == ["zero-gradient"]
    sq = rng.standard_normal((4, 4))
    assert _ids(dg.gradient_hints(_ctx(sq.T, sq))) == ["transposed"]
    g3 = rng.standard_normal((2, 3, 4))
    assert _ids(dg.gradient_hints(_ctx(g3.transpose(1, 0, 2).reshape(2, 3, 4), g3))) == [
        "transposed"]
    perm = rng.permutation(G.ravel()).reshape(G.shape)
    assert _ids(dg.gradient_hints(_ctx(perm, G))) == ["permuted"]


def test_dout_ignored_and_masks():
    x = rng.uniform(0.2, 1, (4, 5)) * rng.choice([-1, 1], (4, 5))
    dout = rng.standard_normal((4, 5))
    true = dout * (x > 0)
    kw = dict(layer="relu", arrays={"x": x}, dout=dout)
    assert _ids(dg.gradient_hints(_ctx((x > 0) * 1.0, true, **kw))) == ["dout-ignored"]
    assert _ids(dg.gradient_hints(_ctx(dout * (x <= 0), true, **kw))) == ["mask-inverted"]
    assert _ids(dg.gradient_hints(_ctx(dout, true, **kw))) == ["mask-nonpositive"]
    wrong_pos = np.where(x > 0, 2 * dout + 0.3, 0)
    assert _ids(dg.gradient_hints(_ctx(wrong_pos, true, **kw))) == ["mask-positive"]
    # a leak where the true gradient is zero (not ReLU): mask-missing
    assert _ids(dg.gradient_hints(_ctx(dout, true, layer="maxpool", arrays={"x": x},
                                       dout=None))) == ["mask-missing"]
    assert _ids(dg.linearity_hints(["dx"])) == ["dout-ignored"]


def test_local_derivative_patterns():
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    s = 1 / (1 + np.exp(-x))
    true = dout * s * (1 - s)
    kw = dict(layer="sigmoid", arrays={"x": x}, dout=dout)
    assert _ids(dg.gradient_hints(_ctx(dout * x * (1 - x), true, **kw))) == [
        "derivative-of-input"]
    assert _ids(dg.gradient_hints(_ctx(dout * (1 - s), true, **kw))) == [
        "derivative-missing-factor"]


def test_label_entries_and_locality():
    x = rng.standard_normal((5, 3))
    y = np.array([0, 2, 1, 1, 0])
    true = rng.standard_normal((5, 3))
    bad = true.copy()
    bad[np.arange(5), y] += 0.4
    assert _ids(dg.gradient_hints(_ctx(bad, true, layer="softmax_loss",
                                       arrays={"x": x, "y": y}))) == ["label-entries"]
    one_col = G.copy()
    one_col[:, 2] += 1.0 + np.arange(4)
    h = dg.gradient_hints(_ctx(one_col, G))
    assert _ids(h) == ["error-one-slice"] and h[0]["numbers"]["axis"] == 1
    after_first = G.copy()
    after_first[1:] += rng.standard_normal((3, 5))
    assert _ids(dg.gradient_hints(_ctx(after_first, G))) == ["error-after-first-sample"]


def test_norm_patterns():
    x = rng.standard_normal((6, 3))
    true = rng.standard_normal((6, 3))
    kw = dict(layer="batchnorm", arrays={"x": x})
    assert _ids(dg.gradient_hints(_ctx(true + np.array([0.3, -0.2, 0.5]), true, **kw))) == [
        "batch-stat-term"]
    assert _ids(dg.gradient_hints(_ctx(true + 0.4 * x, true, **kw))) == ["batch-stat-term"]
    r, c = rng.standard_normal((6, 1)), rng.standard_normal((1, 3))
    assert _ids(dg.gradient_hints(_ctx(true + r * c + r, true, layer="layernorm",
                                       arrays={"x": x}))) == ["reduction-axis"]


def test_forward_hints():
    x = rng.standard_normal((4, 3))
    fctx = lambda out, want, layer="softmax_loss": dg.ForwardContext(  # noqa: E731
        layer, "cs231n", Case("default", {}), {"x": x}, {}, np.asarray(out), np.asarray(want))
    assert _ids(dg.forward_hints(fctx(4 * 1.3, 1.3))) == ["sum-not-mean"]
    assert _ids(dg.forward_hints(fctx(1.3 / 4, 1.3))) == ["mean-not-sum"]
    assert "looks-like-tanh" in _ids(dg.forward_hints(fctx(np.tanh(x), 1 / (1 + np.exp(-x)),
                                                           "sigmoid")))
    assert _ids(dg.forward_hints(fctx(2 * x, x, "relu"))) == ["forward-ratio"]


def test_shape_hints():
    assert dg.shape_hint("db", (1, 3), (3,))["id"] == "shape-keepdims"
    assert dg.shape_hint("dw", (3, 5), (5, 3))["id"] == "shape-transposed"
    assert dg.shape_hint("dx", (2, 12), (2, 3, 4))["id"] == "shape-not-reshaped"
    assert dg.shape_hint("dx", (2, 5), (2, 3))is None
    assert "keepdims" in dg.shape_message("db", (1, 3), (3,))


def test_config_only_features():
    cases = [Case("default", {"x": (2, 3, 6, 8)}, {"pool_height": 2, "pool_width": 2,
                                                    "stride": 2}),
             Case("overlap", {"x": (2, 3, 5, 6)}, {"pool_height": 3, "pool_width": 3,
                                                   "stride": 1}),
             Case("non-square", {"x": (1, 2, 5, 9)}, {"pool_height": 2, "pool_width": 3,
                                                      "stride": 3})]
    chk = lambda cfg, st: SimpleNamespace(kind="gradient", status=st, config=cfg,  # noqa: E731
                                          input="dx", name="gradient:dx", message="",
                                          details={})
    checks = [chk("default", "pass"), chk("overlap", "fail"), chk("non-square", "pass")]
    assert _ids(dg.layer_hints("maxpool", "cs231n", checks, cases)) == ["only-overlap"]


def test_every_hint_id_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "diagnosis.md").read_text()
    missing = [h for h in dg.HINT_IDS if f"`{h}`" not in doc]
    assert not missing, missing


# ---------------------------------------------------------------- end to end on the mutants
#: the hint id that names the bug's class, per gradient mutant of tests/mutants.py
EXPECTED_HINT = {
    "cs_affine_dw_divided_by_N": "ratio-1/N",
    "cs_affine_db_mean": "ratio-1/N",
    "cs_relu_no_mask": "mask-nonpositive",
    "cs_relu_mask_wrong_side": "mask-inverted",
    "cs_relu_backward_returns_mask": "dout-ignored",
    "cs_sigmoid_backward_uses_x": "derivative-of-input",
    "cs_sigmoid_backward_missing_factor": "derivative-missing-factor",
    "cs_tanh_derivative_1_minus_out": "derivative-missing-factor",
    "cs_softmax_sign_flip": "label-entries",
    "cs_softmax_grad_not_divided": "ratio-N",
    "cs_svm_grad_not_divided": "ratio-N",
    "cs_bn_backward_missing_dmu": "batch-stat-term",
    "cs_bn_backward_missing_dvar": "batch-stat-term",
    "cs_ln_backward_wrong_axis": "reduction-axis",
    "cs_dropout_backward_no_mask": "mask-missing",
    "cs_dropout_backward_no_scale": "dropout-scale",
    "cs_conv_dx_crop_wrong_corner": "only-padding",
    "cs_conv_dw_not_accumulated": "not-accumulated",
    "cs_conv_dx_not_times_w": "conv-dx-missing-weights",
    "cs_pool_assign_not_accumulate": "not-accumulated",
    "cs_pool_grad_to_every_element": "mask-missing",
    "dl_mul_dx_dy_swapped": "swapped-gradients",
    "dl_add_ignores_dout": "dout-ignored",
    "dl_relu_mask_wrong_side": "mask-inverted",
    "dl_relu_backward_returns_mask": "dout-ignored",
    "dl_sigmoid_backward_missing_factor": "derivative-missing-factor",
    "dl_tanh_derivative_1_minus_out": "derivative-missing-factor",
    "dl_softmax_backward_sign": "label-entries",
    "dl_softmax_onehot_not_divided": "only-one-hot",
    "dl_bn_backward_missing_var_term": "batch-stat-term",
    "dl_bn_backward_missing_mean_term": "batch-stat-term",
    "dl_dropout_backward_no_mask": "mask-missing",
    "dl_conv_dW_not_transposed_back": "permuted",
    "dl_col2im_assign_not_accumulate": "not-accumulated",
    "dl_pool_grad_to_every_element": "mask-missing",
    # two_layer_net: hints emitted by its own checker (gradcheck/_netchecks.py)
    "cs_net_reg_grad_missing_W2": "reg-missing",
    "cs_net_relu_mask_skipped": "chain",
}


def _all_hint_ids(layer_report) -> set[str]:
    ids = {h["id"] for h in layer_report.hints}
    for c in layer_report.checks:
        if isinstance(c.details, dict):
            ids |= {h["id"] for h in c.details.get("hints", [])}
    return ids


def _gradient_mutants():
    mutants = pytest.importorskip("mutants")
    return [m for m in mutants.MUTANTS if m.expect_kind == "gradient"]


def _run_mutant(m, tmp_path):
    import mutants

    from gradcheck import check_submission

    sub = tmp_path / "sub"
    shutil.copytree(mutants.BASES[m.profile], sub)
    path = sub / m.file
    path.write_text(mutants.apply(path.read_text(), m.find, m.replace))
    return check_submission(sub, profile=m.profile, layers=[m.layer], counterexample=False)


def test_hint_coverage_on_gradient_mutants(tmp_path):
    """For >= 80 % of the gradient mutants a hint names the bug's class."""
    grads = _gradient_mutants()
    missing_expectation = [m.id for m in grads if m.id not in EXPECTED_HINT]
    recognised, not_recognised = [], []
    for m in grads:
        if m.id not in EXPECTED_HINT:
            continue
        report = _run_mutant(m, tmp_path / m.id)
        ids = _all_hint_ids(report.layer(m.layer))
        (recognised if EXPECTED_HINT[m.id] in ids else not_recognised).append((m.id, ids))
    total = len(recognised) + len(not_recognised) + len(missing_expectation)
    assert total, "no gradient mutants"
    coverage = len(recognised) / total
    assert coverage >= 0.8, (coverage, not_recognised, missing_expectation)


def _forward_ctx(layer, arrays, config, out):
    from gradcheck.engine.diagnose import ForwardContext

    return ForwardContext(layer=layer, profile="cs231n", case=None, arrays=arrays,
                          config=config, out=out, expected=np.zeros_like(out))


def test_norm_over_the_wrong_axis_is_named():
    from gradcheck.engine.diagnose import forward_hints

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)
    xo = x - x.mean(axis=1, keepdims=True)
    layer_normed = gamma * xo / np.sqrt(xo.var(axis=1, keepdims=True) + 1e-5) + beta
    hints = forward_hints(_forward_ctx("batchnorm", {"x": x, "gamma": gamma, "beta": beta},
                                       {"train": True, "eps": 1e-5}, layer_normed))
    assert [h["id"] for h in hints] == ["norm-wrong-axis"]
    assert "layer norm" in hints[0]["message"]


def test_flipped_conv_kernel_is_named():
    from gradcheck.engine.diagnose import forward_hints
    from gradcheck.reference.cs231n.layers import conv_forward_naive

    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 2)), \
        rng.standard_normal(4)
    conv = {"stride": 1, "pad": 1}
    true_convolution = conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv)[0]
    hints = forward_hints(_forward_ctx("conv", {"x": x, "w": w, "b": b}, conv,
                                       true_convolution))
    assert "conv-flipped-kernel" in [h["id"] for h in hints]
    correct = conv_forward_naive(x, w, b, conv)[0]
    assert "conv-flipped-kernel" not in [h["id"] for h in forward_hints(
        _forward_ctx("conv", {"x": x, "w": w, "b": b}, conv, correct))]
