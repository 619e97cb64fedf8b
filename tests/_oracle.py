"""An independent gradient oracle and input generators for the reference tests.

Deliberately plain and shares nothing with the checker in ``gradcheck/``: the numerical
gradient is an element-by-element central difference of the scalar

    L = sum(dout * f())

with respect to one array that ``f`` reads, perturbed in place and restored afterwards.

The generators build inputs that keep every finite difference away from a kink (ReLU at 0,
hinge at 0, ties in a max-pooling window), so that the numerical gradient is exact up to
rounding and truncation and a tight tolerance can be used.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import types
from typing import Any, Callable

import numpy as np
from hypothesis import assume, settings
from hypothesis import strategies as st

H = 1e-6
TOL = 1e-6

REFERENCE_DIR = pathlib.Path(__file__).resolve().parent.parent / "reference"


def load_profile(profile: str, name: str | None = None) -> types.ModuleType:
    """Import reference/<profile>/ straight from its folder, as a package called ``name``
    (default ``_reference_<profile>``), the way the checker loads a submission.

    This does not go through ``gradcheck`` at all, so the reference tests do not depend on
    the rest of the package importing cleanly, and it exercises the folder's
    self-containedness.
    """
    name = name or f"_reference_{profile}"
    if name in sys.modules:
        return sys.modules[name]
    folder = REFERENCE_DIR / profile
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# Oracle
# --------------------------------------------------------------------------------------------
def numerical_gradient(
    f: Callable[[], Any], x: np.ndarray, dout: Any = 1.0, h: float = H
) -> np.ndarray:
    """d/dx of L = sum(dout * f()) by central differences, one element of x at a time.

    ``f`` takes no arguments and must read ``x`` (which is perturbed in place); every element
    is restored before the next one is perturbed. The difference f(x+h) - f(x-h) is taken
    element-wise before weighting by dout and summing, which keeps rounding error small.
    """
    assert x.dtype == np.float64, "the oracle perturbs float64 arrays only"
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + h
        f_plus = np.array(f(), dtype=np.float64)
        x[idx] = orig - h
        f_minus = np.array(f(), dtype=np.float64)
        x[idx] = orig
        grad[idx] = np.sum(dout * (f_plus - f_minus)) / (2.0 * h)
    return grad


def rel_error(a: Any, b: Any, floor: float = 1e-8) -> float:
    """Relative error ||a - b|| / max(||a|| + ||b||, floor) (Euclidean norms).

    Symmetric, at most 1 once above the floor, and well defined when both are zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape mismatch {a.shape} vs {b.shape}"
    num = np.linalg.norm((a - b).ravel())
    den = max(np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel()), floor)
    return float(num / den)


def noise_floor(f: Callable[[], Any], x: np.ndarray, dout: Any = 1.0, h: float = H,
                tol: float = TOL, safety: float = 10.0) -> float:
    """The ``floor`` for ``rel_error`` below which a gradient cannot be resolved.

    Each central difference carries a rounding error of about machine-eps * |dout| * s / h,
    where s is the size of the intermediate values f is computed from (about 2e-10 per unit
    for h = 1e-6). We take s = max(|f|, 1): intermediates are O(1) even where f itself is
    tiny through cancellation (a softmax loss of 1e-6 is log(1 + 1e-6)). So the gradient as a
    whole is only known to about ``noise = eps / h * ||dout * max(|f|, 1)|| * sqrt(x.size)``. Gradients smaller than
    ``safety * noise / tol`` are therefore compared absolutely, to ``safety * noise``.
    Genuinely tiny gradients do occur (layer norm over D = 2 features or batch norm over
    N = 2 examples have |dx| ~ eps); an O(1) gradient never meets the floor.
    """
    size = np.maximum(np.abs(np.asarray(f(), dtype=np.float64)), 1.0)
    scale = float(np.linalg.norm(np.ravel(dout * size)))
    noise = np.finfo(np.float64).eps / h * scale * np.sqrt(x.size)
    return max(safety * noise / tol, 1e-8)


def assert_grad(analytic: Any, f: Callable[[], Any], x: np.ndarray, dout: Any = 1.0,
                name: str = "x", tol: float = TOL) -> None:
    """Assert that ``analytic`` matches the oracle's gradient of sum(dout * f()) w.r.t. x:
    rel_error < tol, with the floor from ``noise_floor``."""
    analytic = np.asarray(analytic)
    assert analytic.shape == x.shape, f"d{name}: shape {analytic.shape}, expected {x.shape}"
    numeric = numerical_gradient(f, x, dout)
    err = rel_error(analytic, numeric, floor=noise_floor(f, x, dout, tol=tol))
    assert err < tol, f"d{name}: relative error {err:.3e} >= {tol:.0e}"


# --------------------------------------------------------------------------------------------
# Hypothesis strategies
# --------------------------------------------------------------------------------------------
def examples(n: int) -> settings:
    """``n`` examples under the default profile (max_examples 100), scaled with the loaded
    profile, so ``--hypothesis-profile=explore`` (500) runs five times as many."""
    return settings(max_examples=max(1, round(n * settings.default.max_examples / 100)))


seeds = st.integers(min_value=0, max_value=2**32 - 1)
batch = st.integers(min_value=1, max_value=4)


def distinct(k: int, lo: int, hi: int, avoid: int | None = None) -> st.SearchStrategy:
    """k distinct integers in [lo, hi], none equal to ``avoid``."""
    elems = st.integers(lo, hi)
    if avoid is not None:
        elems = elems.filter(lambda v: v != avoid)
    return st.lists(elems, min_size=k, max_size=k, unique=True)


@st.composite
def conv_configs(draw: Callable) -> dict[str, Any]:
    """(N, C, H, W), (F, C, HH, WW), stride 1-3, pad 0-2, with an integral output size.

    The input and kernel are non-square (H != W, HH != WW) and C != F != N.
    """
    stride = draw(st.integers(1, 3))
    hh, ww = draw(distinct(2, 1, 4))
    ho, wo = draw(distinct(2, 1, 4))
    span_h = (ho - 1) * stride + hh  # padded input height
    span_w = (wo - 1) * stride + ww
    pad = draw(st.integers(0, min(2, (span_h - 1) // 2, (span_w - 1) // 2)))
    h, w = span_h - 2 * pad, span_w - 2 * pad
    assume(h != w)
    n = draw(batch)
    c, f = draw(distinct(2, 1, 4, avoid=n))
    return dict(N=n, C=c, H=h, W=w, F=f, HH=hh, WW=ww, stride=stride, pad=pad, Ho=ho, Wo=wo)


@st.composite
def pool_configs(draw: Callable, overlap: bool | None = None) -> dict[str, Any]:
    """(N, C, H, W) and a non-square window; overlap=True forces stride < window."""
    ph, pw = draw(distinct(2, 1, 3))
    if overlap:
        ph, pw = max(ph, 2), max(pw, 2)
        if ph == pw:
            pw = ph + 1
        stride = draw(st.integers(1, min(ph, pw) - 1))
    else:
        stride = draw(st.integers(1, 3))
    ho, wo = draw(distinct(2, 1, 4))
    h = (ho - 1) * stride + ph
    w = (wo - 1) * stride + pw
    assume(h != w)
    n = draw(batch)
    c = draw(st.integers(1, 3))
    return dict(N=n, C=c, H=h, W=w, ph=ph, pw=pw, stride=stride, Ho=ho, Wo=wo)


# --------------------------------------------------------------------------------------------
# Inputs away from kinks
# --------------------------------------------------------------------------------------------
def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], margin: float = 0.1,
                   high: float = 2.0) -> np.ndarray:
    """Values with margin <= |x| <= high and random signs (ReLU inputs)."""
    mag = rng.uniform(margin, high, size=shape)
    return np.where(rng.random(shape) < 0.5, -mag, mag)


def spaced_grid(rng: np.random.Generator, shape: tuple[int, ...], spacing: float = 0.05) -> np.ndarray:
    """A random permutation of an evenly spaced grid, centred on 0: all values distinct by
    ``spacing``, so every max-pooling window has a unique maximum by that margin."""
    size = int(np.prod(shape))
    grid = (np.arange(size) - (size - 1) / 2.0) * spacing
    return rng.permutation(grid).reshape(shape)


def svm_scores(rng: np.random.Generator, n: int, c: int, margin: float = 0.05,
               scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Scores (n, c) and labels (n,) with every hinge argument |x_j - x_y + 1| >= margin."""
    while True:
        x = rng.normal(0.0, scale, size=(n, c))
        y = rng.integers(0, c, size=n)
        m = x - x[np.arange(n), y][:, None] + 1.0
        m[np.arange(n), y] = 1.0
        if np.all(np.abs(m) >= margin):
            return x, y


def relu_net_inputs(rng: np.random.Generator, n: int, d: int, h: int, c: int,
                    margin: float = 1e-3) -> tuple[np.ndarray, ...]:
    """X (n, d), W1 (d, h), b1, W2 (h, c), b2 with every hidden pre-activation at least
    ``margin`` away from 0 (so a 1e-6 perturbation of any parameter cannot cross the kink)."""
    while True:
        X = rng.normal(size=(n, d))
        W1 = rng.normal(size=(d, h)) / np.sqrt(d)
        b1 = rng.normal(scale=0.1, size=h)
        W2 = rng.normal(size=(h, c)) / np.sqrt(h)
        b2 = rng.normal(scale=0.1, size=c)
        if np.all(np.abs(X @ W1 + b1) >= margin):
            return X, W1, b1, W2, b2
