"""The oracle itself: known derivatives, restoration of the perturbed array, rel_error."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _oracle import examples, numerical_gradient, rel_error, seeds, spaced_grid, svm_scores


@examples(25)
@given(seed=seeds, shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
def test_oracle_matches_known_derivatives(seed, shape):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    dout = rng.normal(size=shape)
    x0 = x.copy()
    g = numerical_gradient(lambda: np.sin(x) * x**2, x, dout)
    assert np.array_equal(x, x0), "the oracle must restore every perturbed element"
    assert rel_error(g, dout * (np.cos(x) * x**2 + 2 * x * np.sin(x))) < 1e-8


def test_oracle_scalar_function_and_cross_terms():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    g = numerical_gradient(lambda: float(np.prod(x)), x)
    assert rel_error(g, np.prod(x) / x) < 1e-8


def test_rel_error_properties():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert rel_error(a, 2 * a) == rel_error(2 * a, a)
    assert rel_error(a, a + 1e-12) < 1e-12


def test_generators_respect_their_margins():
    rng = np.random.default_rng(0)
    g = spaced_grid(rng, (2, 3, 4))
    assert np.min(np.diff(np.sort(g.ravel()))) >= 0.05 - 1e-12
    x, y = svm_scores(rng, 6, 5)
    m = x - x[np.arange(6), y][:, None] + 1
    m[np.arange(6), y] = 1
    assert np.all(np.abs(m) >= 0.05)
