"""The numerical engine: no false alarms on correct gradients at any scale, and real
discrepancies are caught. Property tests over generated smooth functions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from gradcheck.engine.numeric import compare_arrays, directional_check, localise, step_for


def _objective(f):
    """Wrap a scalar function of theta into the engine's objective (L, S)."""
    def objective(points):
        out = []
        for p in points:
            terms = f(p)
            out.append((float(np.sum(terms)), float(np.sum(np.abs(terms)))))
        return out
    return objective


def smooth_problem(seed: int, n: int, scale: float):
    """L(theta) = sum(c * sin(theta) + d * theta**3 * scale**-2), with its exact gradient."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n) * scale
    c = rng.standard_normal(n)
    d = rng.standard_normal(n) * 0.1

    def terms(t):
        return c * np.sin(t / scale) * scale + d * t ** 3 / scale ** 2

    grad = c * np.cos(theta / scale) + 3 * d * theta ** 2 / scale ** 2
    return theta, terms, grad


@given(seed=st.integers(0, 10_000), n=st.integers(1, 300),
       log_scale=st.floats(-8, 6))
def test_correct_gradients_pass_at_every_scale(seed, n, log_scale):
    scale = 10.0 ** log_scale
    theta, terms, grad = smooth_problem(seed, n, scale)
    res = directional_check(_objective(terms), theta, grad, np.random.default_rng(seed))
    assert res.smooth and res.passed, [(p.error, p.tolerance) for p in res.probes]


@given(seed=st.integers(0, 10_000), log_mag=st.floats(-12, 4))
def test_tiny_and_huge_gradient_magnitudes_do_not_fail(seed, log_mag):
    """A correct but tiny gradient (e.g. a bias far from the loss) must pass: the tolerance
    scales with the values involved, it is never a bare relative error with a fixed floor."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(12)
    w = rng.standard_normal(12) * 10.0 ** log_mag
    res = directional_check(_objective(lambda t: w * np.tanh(t)), theta,
                            w / np.cosh(theta) ** 2, rng)
    assert res.passed


@given(seed=st.integers(0, 10_000), n=st.integers(2, 200),
       factor=st.sampled_from([0.5, 2.0, -1.0, 1.01, 0.999]))
def test_scaled_gradients_fail(seed, n, factor):
    theta, terms, grad = smooth_problem(seed, n, 1.0)
    res = directional_check(_objective(terms), theta, grad * factor, np.random.default_rng(seed))
    assert not res.passed


@given(seed=st.integers(0, 10_000), n=st.integers(2, 200))
def test_a_single_wrong_element_is_caught(seed, n):
    """One element off by 10% of a typical gradient magnitude, among up to 200."""
    theta, terms, grad = smooth_problem(seed, n, 1.0)
    bad = grad.copy()
    i = int(np.random.default_rng(seed).integers(n))
    bad[i] += 0.1 * float(np.sqrt(np.mean(grad ** 2)))
    res = directional_check(_objective(terms), theta, bad, np.random.default_rng(seed),
                            directions=3)
    assert not res.passed


def test_cost_grows_with_directions_not_size():
    for n in (10, 10_000):
        theta, terms, grad = smooth_problem(0, n, 1.0)
        res = directional_check(_objective(terms), theta, grad, np.random.default_rng(0),
                                directions=3)
        assert res.calls == 12


def test_a_kink_inside_the_probe_is_not_blamed_on_the_student():
    """max(t, 0) has a kink at 0; an element sitting within a step of it makes the step-size
    test fail, so the probe is redrawn instead of producing a verdict against a correct
    gradient. Either a smooth probe passes, or no verdict is reached (reported as an error)."""
    theta = np.array([4e-6, 1.0, -2.0, 0.5])
    grad = (theta > 0).astype(float)
    relu = _objective(lambda t: np.maximum(t, 0))
    rejected = 0
    for seed in range(20):
        res = directional_check(relu, theta, grad, np.random.default_rng(seed))
        assert res.passed or not res.probes
        rejected += res.redraws
    assert rejected > 0


def test_failed_evaluations_are_counted_not_crashing():
    def objective(points):
        return [None for _ in points]
    res = directional_check(objective, np.ones(3), np.ones(3), np.random.default_rng(0))
    assert res.probes == [] and res.failed_calls > 0 and not res.passed


def test_localise_finds_the_wrong_element():
    theta, terms, grad = smooth_problem(3, 30, 1.0)
    bad = grad.copy()
    bad[7] += 1.0
    loc = localise(_objective(terms), theta, bad, np.random.default_rng(0))
    assert not loc.sampled and len(loc.elements) == 30
    assert loc.worst(1)[0].index == (7,)
    full = loc.numeric_array(theta.shape)
    np.testing.assert_allclose(full, grad, rtol=1e-7, atol=1e-9)


def test_localise_samples_large_arrays():
    theta, terms, grad = smooth_problem(4, 1000, 1.0)
    loc = localise(_objective(terms), theta, grad, np.random.default_rng(0))
    assert loc.sampled and 100 <= len(loc.elements) <= 120 and loc.total == 1000
    assert loc.numeric_array(theta.shape) is None


def test_step_scales_with_the_input():
    assert step_for(np.full(4, 1000.0)) == pytest.approx(1e-2)
    assert step_for(np.zeros(4)) == pytest.approx(1e-5)


def test_compare_arrays():
    a = np.array([1.0, 2.0, 3.0])
    assert compare_arrays(a, a + 1e-12, 1e-7)[0]
    ok, rel, bad = compare_arrays(a, a * np.array([1, 1, 1.01]), 1e-7)
    assert not ok and bad.tolist() == [False, False, True] and rel > 1e-3
    ok, rel, bad = compare_arrays(np.array([np.nan, 1.0]), np.array([1.0, 1.0]), 1e-7)
    assert not ok and bad[0]


def test_a_borderline_pass_is_confirmed_with_more_directions():
    """An analytic gradient off by about a third of the tolerance passes, but only after a
    second set of directions; an exact one is decided by the first set."""
    theta, terms, grad = smooth_problem(5, 50, 1.0)
    exact = directional_check(_objective(terms), theta, grad, np.random.default_rng(0))
    assert exact.passed and not exact.confirmed and exact.calls == 12
    rng = np.random.default_rng(1)
    nudged = grad * (1 + 3e-7 * rng.choice([-1.0, 1.0], size=grad.shape))
    res = directional_check(_objective(terms), theta, nudged, np.random.default_rng(0))
    assert res.confirmed and res.calls == 24 and len(res.probes) == 6
    assert res.passed == all(p.error <= p.tolerance for p in res.probes)
