"""Gradient checks: shapes and dtypes of gradients, directional probes of each input and
parameter (with localisation and hints on failure), and linearity of backward in dout.

Each function takes the layer context (:class:`~.checker.LayerChecker`) first.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalogue import Case
from ..isolation.protocol import CallResult
from . import diagnose as _diagnose
from ._common import _fmt, worst_details, worst_sentence
from .numeric import Localisation, directional_check, localise

if TYPE_CHECKING:
    from .checker import LayerChecker


def check_grad_shapes(ctx: "LayerChecker", case: Case, arrays: dict[str, np.ndarray],
                      res: CallResult) -> list[str]:
    ok = []
    for name in ctx.spec.diff:
        gname = ctx.b.grad_name(name)
        problem = ctx._value_problem(res, "grad." + name, gname, arrays[name].shape)
        if problem:
            ctx.add(problem[0], f"{problem[0]}:{gname}", "fail",
                     problem[1] + f" ({gname} must have the shape of {ctx.b.show(name)}).",
                     case, input=gname)
        else:
            ok.append(name)
    if case.label == "default" and len(ok) == len(ctx.spec.diff):
        ctx.add("shape", "shape:gradients", "pass",
                 "every gradient has its input's shape and dtype float64.", case)
    return ok


def _objective(ctx: "LayerChecker", config: dict[str, Any], seed: int, arrays: dict[str, np.ndarray],
               dout: np.ndarray | None, name: str):
    def objective(points):
        jobs = []
        for p in points:
            a = dict(arrays)
            a[name] = p
            jobs.append((ctx.job(config, seed, False), a))
        values = []
        for r in ctx._student_many(jobs):
            out = r.arrays.get("out")
            if r.error or out is None:
                values.append(None)
                continue
            out = np.asarray(out, dtype=np.float64)
            if ctx.spec.loss:
                terms = out.reshape(-1)[:1]
            else:
                if out.shape != dout.shape:
                    values.append(None)
                    continue
                terms = dout * out
            if not np.all(np.isfinite(terms)):
                values.append(None)
                continue
            values.append((float(np.sum(terms)), float(np.sum(np.abs(terms)))))
        return values
    return objective


def check_gradient(ctx: "LayerChecker", i: int, case: Case, arrays: dict[str, np.ndarray],
                   config: dict[str, Any], seed: int, dout: np.ndarray | None, name: str,
                   analytic: np.ndarray) -> None:
    gname = ctx.b.grad_name(name)
    rng = ctx._rng(i, 100 + ctx.spec.diff.index(name))
    rtol = ctx.spec.rtol(ctx.profile, "grad") * ctx.settings.grad_rtol_scale
    objective = ctx._objective(config, seed, arrays, dout, name)
    t0 = time.perf_counter()
    if not np.all(np.isfinite(analytic)):
        bad = int(np.sum(~np.isfinite(analytic)))
        ctx.add("gradient", f"gradient:{gname}", "fail",
                 f"{gname} contains {bad} NaN/inf values.", case, input=gname)
        return
    result = directional_check(objective, arrays[name], analytic, rng,
                               directions=ctx.settings.directions, rtol=rtol)
    details: dict[str, Any] = result.details(ctx.settings.seed)
    if not result.probes:
        ctx.add("gradient", f"gradient:{gname}", "error",
                 f"could not evaluate the numerical derivative of the forward pass with "
                 f"respect to {ctx.b.show(name)}: the forward failed, returned non-finite "
                 f"values, or was not smooth at any probe ({result.failed_calls} failed, "
                 f"{result.redraws} non-smooth).", case, input=gname, details=details)
        return
    rel, reltol = result.relative_error, result.relative_tolerance
    if result.passed:
        details["duration"] = time.perf_counter() - t0
        ctx.add("gradient", f"gradient:{gname}", "pass",
                 f"{gname} agrees with the numerical gradient along {len(result.probes)} "
                 f"random directions (relative error {_fmt(rel)}, tolerance {_fmt(reltol)}).",
                 case, input=gname, error=rel, tolerance=reltol, details=details)
        return
    loc = localise(objective, arrays[name], analytic, rng)
    details["calls"] += loc.calls
    details["duration"] = time.perf_counter() - t0
    details["worst"] = worst_details(loc)
    details["elements_checked"] = len(loc.elements)
    details["elements_total"] = loc.total
    details["elements_wrong"] = ctx._count_wrong(loc)
    numeric = loc.numeric_array(arrays[name].shape)
    if numeric is not None:
        details["numeric_gradient"] = numeric.tolist()
        details["analytic_gradient"] = analytic.tolist()
    hints = _diagnose.gradient_hints(_diagnose.GradientContext(
        layer=ctx.spec.id, profile=ctx.profile, name=name, display=gname, case=case,
        theta=arrays[name], analytic=analytic, numeric=numeric, localisation=loc,
        arrays=arrays, dout=dout))
    details["hints"] = hints
    msg = (f"{gname} is wrong: the analytic gradient disagrees with the numerical one "
           f"(relative error {_fmt(rel)}, tolerance {_fmt(reltol)}).")
    wrong = details["elements_wrong"]
    msg += (f" {wrong} of {len(loc.elements)} {'sampled ' if loc.sampled else ''}elements "
            f"differ.")
    msg += worst_sentence(gname, loc)
    if hints:
        msg += " Likely cause: " + hints[0]["message"]
    ctx.add("gradient", f"gradient:{gname}", "fail", msg, case, input=gname,
             error=rel, tolerance=reltol, details=details)


def _count_wrong(loc: Localisation) -> int:
    if not loc.elements:
        return 0
    scale = max(max(abs(e.numeric) for e in loc.elements), 1e-12)
    return sum(1 for e in loc.elements if e.abs_error > 1e-5 * (abs(e.numeric) + scale))


def check_linearity(ctx: "LayerChecker", case: Case, config: dict[str, Any], seed: int,
                    call_arrays: dict[str, np.ndarray], res: CallResult,
                    names: list[str]) -> None:
    """backward(c * dout) == c * backward(dout), backward(0) == 0."""
    scaled = dict(call_arrays, dout=call_arrays["dout"] * -2.5)
    zero = dict(call_arrays, dout=np.zeros_like(call_arrays["dout"]))
    r_scaled, r_zero = ctx._student_many([(ctx.job(config, seed, True), scaled),
                                           (ctx.job(config, seed, True), zero)])
    problems = []
    for name in names:
        g = res.arrays["grad." + name]
        gs = r_scaled.arrays.get("grad." + name)
        gz = r_zero.arrays.get("grad." + name)
        scale = float(np.max(np.abs(g))) or 1.0
        gname = ctx.b.grad_name(name)
        if gs is None or gs.shape != g.shape or not np.allclose(gs, -2.5 * g, rtol=1e-7,
                                                                 atol=1e-9 * scale):
            problems.append(f"{gname} does not scale with dout (doubling dout must double "
                            f"{gname}): is dout used in its formula?")
        elif gz is None or gz.shape != g.shape or not np.allclose(gz, 0, atol=1e-9 * scale):
            problems.append(f"{gname} is not zero when dout is zero: a term does not "
                            f"depend on dout")
    if problems:
        ctx.add("gradient", "gradient:linearity", "fail",
                 "backward must be linear in dout. " + " ".join(problems), case,
                 details={"hints": _diagnose.linearity_hints([p.split()[0] for p in problems])})
    else:
        ctx.add("gradient", "gradient:linearity", "pass",
                 "backward is linear in dout (scaled and zero upstream gradients).", case)
