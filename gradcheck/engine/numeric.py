"""Finite differences, done so that a verdict can be defended.

The checked quantity is a scalar ``L(theta) = sum(dout * out(theta))`` for one input or
parameter ``theta`` (the loss itself for loss layers). The analytic gradient ``a`` returned
by the submission's backward pass must satisfy ``<a, v> = dL/dtheta . v`` for every direction.

**Directional probes.** For ``K`` random Gaussian directions ``v`` (entries of unit variance)
we evaluate central differences with steps ``h`` and ``2h`` and combine them by Richardson
extrapolation, ``R = (4 D(h) - D(2h)) / 3`` (error O(h^4)). The cost is ``4K`` forward calls
per array, whatever its size.

**Tolerance model.** The difference ``|R - <a, v>|`` is compared with::

    tol = rtol * scale  +  rounding  +  truncation
    scale      = sum_i |a_i v_i| + |R|                   (magnitude of the terms compared)
    rounding   = C_round * eps * (S(+h) + S(-h) + S(+2h) + S(-2h)) / h
    truncation = |D(h) - D(2h)|                          (observed step dependence)

where ``S = sum |dout * out|`` bounds the magnitude of the terms of ``L`` (float64 rounding of a
sum of such terms is at most a small multiple of ``eps * S``), and ``eps`` is float64's machine
epsilon. ``rtol`` is 1e-6 by default: real bugs give relative errors above 1e-3, while the
rounding of a correct float64 forward gives below 1e-9. The step is ``h = 1e-5 * rms(theta)``
(``1e-5`` if theta is all zero), so even the largest perturbation of one element (about
``2h * 5``) stays far below the kink margins the input generators keep (0.1 and more).

**Smoothness guard.** If ``|D(h) - D(2h)|`` exceeds ``1e-3 * scale`` the function is not smooth at
the scale of the probe (a kink was crossed, or the forward is noisy); the direction is redrawn
rather than the student blamed, and after repeated failures the check reports that it could
not find a smooth point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

EPS = float(np.finfo(np.float64).eps)
C_ROUND = 100.0
STEP = 1e-5
SMOOTH_LIMIT = 1e-3

#: objective(list of perturbed theta) -> list of (L, S) or None where the call failed
Objective = Callable[[Sequence[np.ndarray]], list[tuple[float, float] | None]]


def step_for(theta: np.ndarray) -> float:
    """Probe step: ``1e-5`` times the root-mean-square of ``theta`` (or 1e-5 if it is 0)."""
    rms = float(np.sqrt(np.mean(np.square(theta)))) if theta.size else 0.0
    return STEP * (rms if rms > 0 else 1.0)


@dataclass
class Probe:
    numeric: float
    analytic: float
    error: float
    tolerance: float
    scale: float
    smooth: bool


@dataclass
class DirectionalResult:
    probes: list[Probe]
    step: float
    calls: int
    failed_calls: int = 0
    redraws: int = 0
    #: True when a borderline first pass drew a second set of directions
    confirmed: bool = False

    def details(self, seed: int) -> dict:
        """What the report records of the probes (JSON-ready)."""
        return {"directions": len(self.probes), "step": self.step, "calls": self.calls,
                "redraws": self.redraws, "seed": seed, "borderline": self.confirmed,
                "probes": [{"numeric": p.numeric, "analytic": p.analytic, "error": p.error,
                            "tolerance": p.tolerance} for p in self.probes]}

    @property
    def passed(self) -> bool:
        return bool(self.probes) and all(p.error <= p.tolerance for p in self.probes)

    @property
    def smooth(self) -> bool:
        return bool(self.probes) and all(p.smooth for p in self.probes)

    @property
    def worst(self) -> Probe:
        return max(self.probes, key=_ratio)

    @property
    def relative_error(self) -> float:
        w = self.worst
        return w.error / w.scale if w.scale else w.error

    @property
    def relative_tolerance(self) -> float:
        w = self.worst
        return w.tolerance / w.scale if w.scale else w.tolerance


def _difference(values: list[tuple[float, float] | None], h: float
                ) -> tuple[float, float, float] | None:
    """(Richardson estimate, |D(h) - D(2h)|, rounding bound) from [+h, -h, +2h, -2h]."""
    if any(v is None for v in values):
        return None
    (lp, sp), (lm, sm), (lp2, sp2), (lm2, sm2) = values  # type: ignore[misc]
    d1 = (lp - lm) / (2 * h)
    d2 = (lp2 - lm2) / (4 * h)
    rich = (4 * d1 - d2) / 3
    rounding = C_ROUND * EPS * (sp + sm + sp2 + sm2) / h
    return rich, abs(d1 - d2), rounding


BORDERLINE = 0.1


def directional_check(objective: Objective, theta: np.ndarray, analytic: np.ndarray,
                      rng: np.random.Generator, *, directions: int = 3, rtol: float = 1e-6,
                      max_redraws: int = 3) -> DirectionalResult:
    """Compare ``analytic`` with numerical directional derivatives of ``objective`` at theta.

    Inputs:
    - objective: evaluates L and S at a list of perturbed copies of theta
    - theta: array of any shape, the point of evaluation
    - analytic: array of theta's shape, the claimed gradient dL/dtheta
    Returns a DirectionalResult with one Probe per direction. A borderline pass (some probe's
    error above BORDERLINE of its tolerance) is not trusted to ``directions`` probes: as many
    again are drawn, and every probe must pass.
    """
    result = _probe(objective, theta, analytic, rng, directions, rtol, max_redraws)
    if result.passed and max(_ratio(p) for p in result.probes) > BORDERLINE:
        more = _probe(objective, theta, analytic, rng, directions, rtol, max_redraws)
        result.probes += more.probes
        result.calls += more.calls
        result.failed_calls += more.failed_calls
        result.redraws += more.redraws
        result.confirmed = True
    return result


def _ratio(p: Probe) -> float:
    """How much of its tolerance a probe used (0 when both are exactly zero)."""
    if p.tolerance > 0:
        return p.error / p.tolerance
    return 0.0 if p.error == 0 else float("inf")


def _probe(objective: Objective, theta: np.ndarray, analytic: np.ndarray,
           rng: np.random.Generator, directions: int, rtol: float, max_redraws: int
           ) -> DirectionalResult:
    h = step_for(theta)
    result = DirectionalResult(probes=[], step=h, calls=0)
    wanted = directions
    attempts = 0
    while len(result.probes) < directions and attempts < directions + max_redraws:
        n = min(wanted, directions + max_redraws - attempts)
        dirs = [rng.standard_normal(theta.shape) for _ in range(n)]
        points = []
        for v in dirs:
            points += [theta + h * v, theta - h * v, theta + 2 * h * v, theta - 2 * h * v]
        values = objective(points)
        result.calls += len(points)
        attempts += n
        for i, v in enumerate(dirs):
            diff = _difference(values[4 * i:4 * i + 4], h)
            if diff is None:
                result.failed_calls += 1
                continue
            rich, trunc, rounding = diff
            proj = float(np.sum(analytic * v))
            scale = float(np.sum(np.abs(analytic * v))) + abs(rich)
            smooth = trunc <= SMOOTH_LIMIT * scale + rounding
            if not smooth:
                result.redraws += 1
                continue
            tol = rtol * scale + rounding + trunc
            result.probes.append(Probe(rich, proj, abs(rich - proj), tol, scale, True))
        wanted = directions - len(result.probes)
    return result


@dataclass
class ElementResult:
    index: tuple[int, ...]
    analytic: float
    numeric: float

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)


@dataclass
class Localisation:
    elements: list[ElementResult] = field(default_factory=list)
    sampled: bool = False
    calls: int = 0
    total: int = 0

    def worst(self, k: int = 5) -> list[ElementResult]:
        return sorted(self.elements, key=lambda e: -e.abs_error)[:k]

    def numeric_array(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """The full numerical gradient when every element was probed, else None."""
        if self.sampled or len(self.elements) != int(np.prod(shape)):
            return None
        out = np.empty(shape)
        for e in self.elements:
            out[e.index] = e.numeric
        return out


def localise(objective: Objective, theta: np.ndarray, analytic: np.ndarray,
             rng: np.random.Generator, *, limit: int = 150, sample: int = 100) -> Localisation:
    """Element-wise central differences (Richardson): all elements when there are at most
    ``limit``, else ``sample`` random ones plus those with the largest analytic values."""
    size = theta.size
    if size <= limit:
        flat = list(range(size))
        sampled = False
    else:
        big = list(np.argsort(-np.abs(analytic).ravel())[:20])
        rand = list(rng.choice(size, size=sample, replace=False))
        flat = sorted(set(int(i) for i in big + rand))
        sampled = True
    h = step_for(theta)
    points = []
    for i in flat:
        e = np.zeros(size)
        e[i] = 1.0
        e = e.reshape(theta.shape)
        points += [theta + h * e, theta - h * e, theta + 2 * h * e, theta - 2 * h * e]
    values = objective(points)
    loc = Localisation(sampled=sampled, calls=len(points), total=size)
    for k, i in enumerate(flat):
        diff = _difference(values[4 * k:4 * k + 4], h)
        if diff is None:
            continue
        idx = tuple(int(j) for j in np.unravel_index(i, theta.shape))
        loc.elements.append(ElementResult(idx, float(analytic.ravel()[i]), diff[0]))
    return loc


def compare_arrays(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float = 0.0
                   ) -> tuple[bool, float, np.ndarray]:
    """Element-wise comparison scaled by the expected array's magnitude.

    An element passes when ``|actual - expected| <= rtol * (|expected| + max|expected|) + atol``
    (plus float64 rounding). Returns (passed, max relative error, boolean mismatch mask).
    """
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(actual.astype(np.float64) - expected)
        allowed = rtol * (np.abs(expected) + scale) + 64 * EPS * (scale + 1e-300) + atol
        bad = ~(diff <= allowed)  # NaN counts as a mismatch
    denom = scale if scale > 0 else 1.0
    finite = diff[np.isfinite(diff)]
    rel = float(np.max(finite) / denom) if finite.size else 0.0
    if bad.any() and not np.isfinite(diff).all():
        rel = float("inf")
    return (not bad.any()), rel, bad
