"""check_layer / assert_gradients: any layer, three styles, the same engine as the catalogue."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcheck
from gradcheck import UsageError, assert_gradients, check_layer
from gradcheck.reference.cs231n.layers import (
    affine_backward, affine_forward, conv_backward_naive, conv_forward_naive, relu_forward)
from gradcheck.reference.dlfs.layers import Affine


def _affine_inputs(seed=0, n=4, d=5, m=3):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((n, d)), "w": rng.standard_normal((d, m)),
            "b": rng.standard_normal(m)}


def _statuses(report):
    return {(c.kind, c.input): c.status for c in report.checks}


def test_public_names():
    assert {"check_layer", "assert_gradients", "check_submission"} <= set(gradcheck.__all__)


def test_cs231n_style_passes_and_checks_every_float_input():
    report = check_layer(affine_forward, affine_backward, _affine_inputs())
    assert report.status == "pass"
    checked = {c.input for c in report.checks if c.kind == "gradient" and c.input}
    assert checked == {"dx", "dw", "db"}
    assert {"signature", "shape", "purity", "determinism"} <= {c.kind for c in report.checks}


def test_function_style():
    x = np.random.default_rng(1).standard_normal((3, 4))
    report = check_layer(np.tanh, lambda dout, x: dout * (1 - np.tanh(x) ** 2), [x],
                         style="function")
    assert report.status == "pass"


def test_dlfs_style_checks_inputs_and_parameters():
    inp = _affine_inputs(2)
    layer = Affine(inp["w"].copy(), inp["b"].copy())
    report = check_layer(layer, None, {"x": inp["x"]}, style="dlfs",
                         params={"W": "dW", "b": "db"})
    assert report.status == "pass"
    assert {c.input for c in report.checks if c.kind == "gradient" and c.input} >= {
        "dx", "dW", "db"}


def test_non_float_inputs_are_passed_through():
    rng = np.random.default_rng(3)
    inputs = {"x": rng.standard_normal((2, 3, 5, 5)), "w": rng.standard_normal((4, 3, 3, 3)),
              "b": rng.standard_normal(4), "conv_param": {"stride": 2, "pad": 1}}
    report = check_layer(conv_forward_naive, conv_backward_naive, inputs)
    assert report.status == "pass"
    assert "dconv_param" not in {c.input for c in report.checks}


def _twice_db(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw, 2 * db


def _ignores_dout(dout, cache):
    return affine_backward(np.ones_like(dout), cache)


def _transposed_dw(dout, cache):
    x, w, b = cache
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw.T.reshape(dw.shape) if dw.shape[0] != dw.shape[1] else dw.T, db


def _relu_no_mask(dout, cache):
    return dout.copy()


def _mutating_forward(x, w, b):
    out, cache = affine_forward(x, w, b)
    x *= 0.5
    return out, cache


def _random_backward(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx + 1e-3 * np.random.standard_normal(dx.shape), dw, db


@pytest.mark.parametrize("forward, backward, inputs, kind, needle", [
    (affine_forward, _twice_db, _affine_inputs(), "gradient", "db"),
    (affine_forward, _ignores_dout, _affine_inputs(), "gradient", "dx"),
    (affine_forward, _transposed_dw, _affine_inputs(d=4, m=4), "gradient", "dw"),
    (relu_forward, _relu_no_mask, {"x": np.linspace(-2, 2, 12).reshape(3, 4) + 0.05},
     "gradient", "dx"),
    (_mutating_forward, affine_backward, _affine_inputs(), "purity", "x"),
    (affine_forward, _random_backward, _affine_inputs(), "gradient", "dx"),
])
def test_one_bug_mutants_are_caught(forward, backward, inputs, kind, needle):
    report = check_layer(forward, backward, inputs)
    failing = [c for c in report.checks if c.status in ("fail", "error")]
    assert report.status == "fail"
    assert any(c.kind == kind and needle in (c.message + str(c.input)) for c in failing), \
        [(c.kind, c.input, c.message[:80]) for c in failing]


def test_assert_gradients_message_reads_like_numpy_testing():
    with pytest.raises(AssertionError) as info:
        assert_gradients(affine_forward, _twice_db, _affine_inputs(), seed=4)
    text = str(info.value)
    for part in ("not equal to their numerical derivatives", "seed=4", "tolerance",
                 "Mismatched elements: 3 / 3 (100%)", "Max absolute difference",
                 "Max relative difference: 1 at index", "analytic  db[", "numerical db[",
                 "Likely cause", "twice"):
        assert part in text, text


def test_assert_gradients_returns_the_report_when_correct():
    assert assert_gradients(affine_forward, affine_backward, _affine_inputs()).status == "pass"


def test_same_seed_same_verdicts_and_numbers():
    a = check_layer(affine_forward, _twice_db, _affine_inputs(), seed=7).to_dict()
    b = check_layer(affine_forward, _twice_db, _affine_inputs(), seed=7).to_dict()
    for ca, cb in zip(a["checks"], b["checks"]):
        assert (ca["status"], ca.get("error"), ca["message"]) == (
            cb["status"], cb.get("error"), cb["message"])


@pytest.mark.parametrize("kwargs, message", [
    ({"style": "torch"}, "unknown style"),
    ({"directions": 0}, "directions"),
    ({"rtol": -1.0}, "rtol"),
])
def test_bad_arguments_are_usage_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        check_layer(affine_forward, affine_backward, _affine_inputs(), **kwargs)


def test_dlfs_usage_errors():
    layer = Affine(np.ones((5, 3)), np.zeros(3))
    with pytest.raises(UsageError, match="not a float array"):
        check_layer(layer, None, {"x": np.ones((2, 5))}, style="dlfs", params={"V": "dV"})
    with pytest.raises(UsageError, match="None as backward"):
        check_layer(layer, affine_backward, {"x": np.ones((2, 5))}, style="dlfs")
    with pytest.raises(UsageError, match="nothing to differentiate"):
        check_layer(affine_forward, affine_backward, {"x": np.arange(3)})


@settings(max_examples=15)
@given(n=st.integers(1, 6), d=st.integers(1, 6), m=st.integers(1, 6), seed=st.integers(0, 999))
def test_law_a_correct_layer_passes_at_any_shape_and_seed(n, d, m, seed):
    report = check_layer(affine_forward, affine_backward, _affine_inputs(seed, n, d, m),
                         seed=seed)
    assert report.status == "pass", [c.message for c in report.checks if c.status != "pass"]


FIXTURE_TEST = """
import numpy as np
import pytest
from gradcheck.reference.cs231n.layers import affine_forward, affine_backward

def inputs():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)]

def test_correct(gradcheck):
    assert gradcheck.seed == 5
    gradcheck.assert_gradients(affine_forward, affine_backward, inputs())

@pytest.mark.gradcheck(seed=11, directions=2)
def test_marker(gradcheck):
    assert gradcheck.seed == 11
    report = gradcheck.check_layer(affine_forward, affine_backward, inputs())
    assert report.status == "pass"

def test_wrong(gradcheck):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, -dw, db
    gradcheck.assert_gradients(affine_forward, backward, inputs())
"""


def test_fixture_and_marker(pytester):
    pytester.makepyfile(test_own_layers=FIXTURE_TEST)
    result = pytester.runpytest("--gradcheck-seed=5", "-q")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: Gradients of affine_forward not equal*",
                                 "*Mismatched elements*"])
