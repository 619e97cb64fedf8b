"""Stability with large-magnitude inputs, and determinism of repeated calls.

Each function takes the layer context (:class:`~.checker.LayerChecker`) first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalogue import Case
from ..isolation.protocol import CallResult
from ._common import _fmt
from .numeric import compare_arrays

if TYPE_CHECKING:
    from .checker import LayerChecker


def check_determinism(ctx: "LayerChecker", case: Case, config: dict[str, Any], seed: int,
                      call_arrays: dict[str, np.ndarray], res: CallResult) -> None:
    again = ctx._student(ctx.job(config, seed, True), call_arrays)
    diffs = []
    for key in ["out"] + ["grad." + n for n in ctx.spec.diff]:
        arr = res.arrays.get(key)
        if arr is None:
            continue
        other = again.arrays.get(key)
        scale = float(np.max(np.abs(arr))) if arr.size and np.isfinite(arr).all() else 0.0
        if other is None or other.shape != arr.shape or not np.allclose(
                other, arr, rtol=1e-12, atol=1e-12 * scale, equal_nan=True):
            diffs.append(key.replace("grad.", "d").replace("out", "output"))
    if diffs:
        msg = (f"the same call twice (same inputs, same NumPy random state) gave different "
               f"{', '.join(diffs)}.")
        if ctx.spec.stochastic:
            msg += (" Random masks must be drawn from NumPy's global generator "
                    "(np.random.rand / np.random.binomial), not a fresh unseeded Generator.")
        else:
            msg += " The layer must not keep state between calls or use randomness."
        ctx.add("determinism", "determinism", "fail", msg, case)
    else:
        ctx.add("determinism", "determinism", "pass",
                 "repeated calls give identical results.", case)


def check_stability(ctx: "LayerChecker", case: Case, arrays: dict[str, np.ndarray], config: dict[str, Any],
                    res: CallResult, ref: CallResult, dout: np.ndarray | None) -> None:
    out = ctx._out(res)
    dout_scale = float(np.max(np.abs(dout))) if dout is not None else 1.0
    problems = []
    if not np.all(np.isfinite(out)):
        problems.append("the forward output contains NaN or inf")
    for name in ctx.spec.diff:
        g = res.arrays.get("grad." + name)
        gname = ctx.b.grad_name(name)
        if g is None:
            problems.append(f"{gname} is missing")
        elif not np.all(np.isfinite(g)):
            problems.append(f"{gname} contains NaN or inf")
    if not problems:
        want = ref.arrays["out"].reshape(out.shape)
        ok, rel, _ = compare_arrays(out, want, ctx.spec.rtol(ctx.profile, "forward"))
        alt = ctx.spec.alternatives.get(ctx.profile)
        if not ok and alt is not None:
            alt_want = np.asarray(alt(arrays, config)).reshape(out.shape)
            ok, rel, _ = compare_arrays(out, alt_want, ctx.spec.rtol(ctx.profile, "forward"))
        if not ok:
            problems.append(f"the forward output is finite but wrong (relative error "
                            f"{_fmt(rel)})")
        for name in ctx.spec.diff:
            g = res.arrays["grad." + name]
            gw = ref.arrays["grad." + name]
            if g.shape == gw.shape:
                # saturated gradients are tiny (1e-58 for a sigmoid at -130): compare
                # against the scale the gradient could have, |dout| times O(1)
                okg, relg, _ = compare_arrays(g, gw, 1e-6, atol=1e-12 * dout_scale)
                if not okg:
                    problems.append(f"{ctx.b.grad_name(name)} is finite but wrong "
                                    f"(relative error {_fmt(relg)})")
    if problems:
        finite = all("NaN or inf" not in p for p in problems)
        earlier = sorted({c.config for c in ctx.checks if c.status == "fail"
                          and c.kind in ("forward", "gradient")})
        if finite and earlier:
            advice = (" The layer already fails in " + "; ".join(earlier) + ": this is "
                      "most likely the same defect, fix that first.")
        elif finite:
            advice = (" A formula loses precision at large magnitudes: e.g. 1 - out**2 "
                      "when out is almost ±1, or exp(x) / sum(exp(x)) without subtracting "
                      "the row maximum.")
        else:
            advice = (" Compute exp() only of non-positive numbers: subtract the row "
                      "maximum before softmax, use exp(-|x|) forms for sigmoid.")
        ctx.add("stability", "stability", "fail",
                 "with large-magnitude inputs " + "; ".join(problems) + "." + advice, case)
    else:
        ctx.add("stability", "stability", "pass",
                 "finite and correct for large-magnitude inputs.", case)
