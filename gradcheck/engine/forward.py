"""Output shape/dtype checks and the forward output against the reference.

Each function takes the layer context (:class:`~.checker.LayerChecker`) first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalogue import Case
from ..isolation.protocol import CallResult
from . import diagnose as _diagnose
from ._common import FLOAT64, _fmt, _shape
from .numeric import compare_arrays

if TYPE_CHECKING:
    from .checker import LayerChecker


def _value_problem(ctx: "LayerChecker", res: CallResult, key: str, what: str, expected_shape: tuple,
                   scalar_ok: bool = False) -> tuple[str, str] | None:
    """(kind, message) if a returned value is not a float64 array of the expected shape."""
    desc = res.value(key)
    arr = res.arrays.get(key)
    if arr is None:
        t = desc.get("type", "missing")
        if t.startswith("ndarray"):
            return ("dtype", f"{what} is an array of dtype {desc.get('dtype')} with shape "
                    f"{desc.get('shape')}; expected a plain float64 numpy array of shape "
                    f"{_shape(expected_shape)}")
        return ("shape", f"{what} is {t if t != 'NoneType' else 'None'}; expected a float64 "
                f"numpy array of shape {_shape(expected_shape)}"
                + (" (did you forget a return statement?)" if t == "NoneType" else ""))
    shape = tuple(arr.shape)
    if scalar_ok and arr.size == 1:
        shape = ()
    if shape != tuple(expected_shape):
        return ("shape", ctx._shape_message(what, shape, tuple(expected_shape)))
    if arr.dtype != FLOAT64:
        return ("dtype", f"{what} has dtype {arr.dtype}, expected float64 (all arrays stay "
                f"float64: look for an astype, np.float32 or an integer array)")
    return None


def _shape_message(what: str, got: tuple, want: tuple) -> str:
    return _diagnose.shape_message(what, got, want)


def check_output(ctx: "LayerChecker", case: Case, res: CallResult, ref_out: np.ndarray) -> bool:
    problem = ctx._value_problem(res, "out", "the forward output",
                                  ref_out.shape, scalar_ok=ctx.spec.loss)
    if problem:
        ctx.add(problem[0], f"{problem[0]}:out", "fail", problem[1] + ".", case)
        return False
    if case.label == "default":
        ctx.add("shape", "shape:out", "pass",
                 f"forward output has shape {_shape(ref_out.shape)} and dtype float64.", case)
    return True


def _out(ctx: "LayerChecker", res: CallResult) -> np.ndarray:
    out = res.arrays["out"]
    return out.reshape(()) if ctx.spec.loss else out


def check_forward(ctx: "LayerChecker", case: Case, arrays: dict[str, np.ndarray], config: dict[str, Any],
                  res: CallResult, ref: CallResult) -> None:
    kind = "state" if case.role == "state" else "forward"
    out, want = ctx._out(res), ref.arrays["out"].reshape(ctx._out(res).shape)
    rtol = ctx.spec.rtol(ctx.profile, "forward")
    ok, rel, bad = compare_arrays(out, want, rtol)
    alt = ctx.spec.alternatives.get(ctx.profile)
    if not ok and alt is not None:
        alt_want = np.asarray(alt(arrays, config)).reshape(out.shape)
        ok2, rel2, bad2 = compare_arrays(out, alt_want, rtol)
        if ok2:
            ok, rel, bad = ok2, rel2, bad2
    name = f"{kind}:out"
    if ok:
        ctx.add(kind, name, "pass", f"forward output matches the reference "
                 f"(relative error {_fmt(rel)}).", case, error=rel, tolerance=rtol)
        return
    what = "in test mode " if case.role == "state" else ""
    msg = (f"forward output {what}differs from the reference in {int(bad.sum())} of "
           f"{bad.size} elements (max relative error {_fmt(rel)}, tolerance {_fmt(rtol)}).")
    msg += ctx._mismatch_examples(out, want, bad)
    if not np.all(np.isfinite(out)):
        msg += " The output contains NaN or inf."
    if case.role == "state":
        msg += (" In test mode the layer must use its running statistics / the test-time "
                "rule of its profile, not the batch.")
    hints = _diagnose.forward_hints(_diagnose.ForwardContext(
        layer=ctx.spec.id, profile=ctx.profile, case=case, arrays=arrays, config=config,
        out=out, expected=want))
    if hints:
        msg += " Likely cause: " + hints[0]["message"]
    ctx.add(kind, name, "fail", msg, case, error=rel, tolerance=rtol,
             details={"mismatched": int(bad.sum()), "total": int(bad.size), "hints": hints})


def _mismatch_examples(actual: np.ndarray, expected: np.ndarray, bad: np.ndarray,
                       k: int = 3) -> str:
    if actual.ndim == 0:
        return f" Got {_fmt(float(actual))}, expected {_fmt(float(expected))}."
    idx = np.argwhere(bad)[:k]
    parts = [f"out[{', '.join(str(int(j)) for j in ix)}] = {_fmt(float(actual[tuple(ix)]))} "
             f"(expected {_fmt(float(expected[tuple(ix)]))})" for ix in idx]
    return " For example " + "; ".join(parts) + "."
