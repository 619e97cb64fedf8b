"""Say why: recognise common bug patterns from the numbers of a failed check.

Each hint is ``{"id": stable pattern id, "message": a sentence a student can act on,
"numbers": the evidence}``. Hints never quote reference code; they name the class of bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class GradientContext:
    """Everything known about one failed gradient check.

    ``numeric`` is the full element-wise numerical gradient when the array was small enough to
    probe every element, else None (then ``localisation.elements`` holds a sample).
    """

    layer: str
    profile: str
    name: str
    display: str
    case: Any
    theta: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray | None
    localisation: Any
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    dout: np.ndarray | None = None

    def pairs(self) -> tuple[np.ndarray, np.ndarray, list[tuple[int, ...]]]:
        """(analytic, numeric, indices) over the probed elements."""
        els = self.localisation.elements
        return (np.array([e.analytic for e in els]), np.array([e.numeric for e in els]),
                [e.index for e in els])


@dataclass
class ForwardContext:
    layer: str
    profile: str
    case: Any
    arrays: dict[str, np.ndarray]
    config: dict[str, Any]
    out: np.ndarray
    expected: np.ndarray


def _hint(id_: str, message: str, **numbers: Any) -> dict[str, Any]:
    return {"id": id_, "message": message, "numbers": numbers}


def _batch(ctx: GradientContext) -> int | None:
    x = ctx.arrays.get("x")
    return int(x.shape[0]) if x is not None and x.ndim >= 1 else None


def constant_ratio(a: np.ndarray, n: np.ndarray, rtol: float = 1e-3) -> float | None:
    """The factor c with a == c * n on every element, or None."""
    mask = np.abs(n) > 1e-8 * (np.max(np.abs(n)) if n.size else 1)
    if mask.sum() < 2:
        return None
    ratios = a[mask] / n[mask]
    c = float(np.median(ratios))
    if np.allclose(a, c * n, rtol=rtol, atol=rtol * float(np.max(np.abs(n)))):
        return c
    return None


def gradient_hints(ctx: GradientContext) -> list[dict[str, Any]]:
    """Hints for a failed gradient check, most specific first."""
    a, n, idx = ctx.pairs()
    if a.size == 0:
        return []
    hints: list[dict[str, Any]] = []
    scale = float(np.max(np.abs(n))) or 1.0
    if np.all(np.abs(a) <= 1e-12 * scale) and np.any(np.abs(n) > 1e-8):
        return [_hint("zero-gradient", f"{ctx.display} is all zeros although the true gradient "
                      "is not: it is never assigned, or multiplied by an empty mask.")]
    c = constant_ratio(a, n)
    batch = _batch(ctx)
    if c is not None:
        if batch and batch > 1 and abs(c - 1 / batch) < 1e-3 / batch:
            hints.append(_hint("ratio-1/N", f"{ctx.display} is the true gradient divided by the "
                               f"batch size N={batch}: the forward pass does not average over "
                               "the batch, so the backward pass must not divide by N either "
                               "(or the forward must).", factor=c, N=batch))
        elif batch and batch > 1 and abs(c - batch) < 1e-3 * batch:
            hints.append(_hint("ratio-N", f"{ctx.display} is N={batch} times the true "
                               "gradient: the forward averages over the batch, so divide by N "
                               "in the backward pass as well.", factor=c, N=batch))
        elif abs(c + 1) < 1e-3:
            hints.append(_hint("sign", f"{ctx.display} has the wrong sign everywhere: check "
                               "the sign of each term.", factor=c))
        elif abs(c - 2) < 2e-3:
            hints.append(_hint("ratio-2", f"{ctx.display} is twice the true gradient: a term "
                               "is counted twice (or a factor 2 from a square is not "
                               "cancelled by a 0.5).", factor=c))
        elif abs(c - 0.5) < 1e-3:
            hints.append(_hint("ratio-1/2", f"{ctx.display} is half the true gradient: a "
                               "factor 2 (e.g. the derivative of a square) is missing.",
                               factor=c))
        else:
            hints.append(_hint("ratio", f"{ctx.display} is the true gradient times a constant "
                               f"{c:.4g}: the formula is right up to a constant factor.",
                               factor=c))
        return hints
    x = ctx.arrays.get("x")
    if ctx.name == "x" and x is not None and x.shape == ctx.analytic.shape:
        xv = np.array([x[i] for i in idx])
        wrong = np.abs(a - n) > 1e-5 * (np.abs(n) + scale)
        if wrong.any():
            pos, neg = wrong & (xv > 0), wrong & (xv <= 0)
            if wrong.sum() >= 2 and not pos.any():
                hints.append(_hint("mask-nonpositive", f"{ctx.display} is wrong only where the "
                                   "input x <= 0: the mask lets through gradient where the "
                                   "forward output did not depend on x (or the mask is "
                                   "inverted).", wrong=int(wrong.sum())))
            elif wrong.sum() >= 2 and not neg.any():
                hints.append(_hint("mask-positive", f"{ctx.display} is wrong only where the "
                                   "input x > 0: the gradient through the active units is "
                                   "wrong.", wrong=int(wrong.sum())))
    return hints


def forward_hints(ctx: ForwardContext) -> list[dict[str, Any]]:
    """Hints for a forward output that differs from the reference."""
    out, want = ctx.out, ctx.expected
    hints: list[dict[str, Any]] = []
    x = ctx.arrays.get("x")
    n = int(x.shape[0]) if x is not None and x.ndim >= 1 else 1
    if out.ndim == 0 and n > 1 and np.isclose(float(out), float(want) * n, rtol=1e-6):
        hints.append(_hint("sum-not-mean", f"the loss is N={n} times too large: it sums over "
                           "the batch; the catalogue asks for the mean.", N=n))
    elif out.shape == want.shape and out.size > 1:
        c = constant_ratio(out.ravel(), want.ravel())
        if c is not None and abs(c - 1) > 1e-3:
            hints.append(_hint("forward-ratio", f"the output is the expected one times {c:.4g}.",
                               factor=c))
    if x is not None and out.shape == x.shape:
        for name, fn in (("tanh", np.tanh), ("sigmoid", lambda v: 0.5 * (1 + np.tanh(v / 2))),
                         ("relu", lambda v: np.maximum(v, 0))):
            if name != ctx.layer and np.allclose(out, fn(x), rtol=1e-6, atol=1e-9):
                hints.append(_hint("looks-like-" + name, f"the output equals {name}(x): the "
                                   f"forward implements {name}, not {ctx.layer}."))
                break
    return hints


def layer_hints(layer: str, profile: str, checks: list[Any]) -> list[dict[str, Any]]:
    """Hints drawn from the pattern of failures across configurations."""
    failing = [c for c in checks if c.status == "fail" and c.kind in ("gradient", "forward")]
    if not failing:
        return []
    configs = {c.config for c in checks if c.kind in ("gradient", "forward")}
    bad = {c.config for c in failing}
    if "default" not in bad and bad and len(bad) < len(configs):
        return [_hint("config-only", "the layer is right in the default configuration but "
                      "wrong in: " + "; ".join(sorted(bad)) + ". Look at what differs there "
                      "(stride, padding, overlapping windows, batch size, input rank).",
                      configs=sorted(bad))]
    return []
