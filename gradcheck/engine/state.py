"""State checks: running statistics and test mode, shared parameters (dlfs), and the
statistics of a stochastic forward (dropout masks).

Each function takes the layer context (:class:`~.checker.LayerChecker`) first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalogue import Case
from ..isolation.protocol import CallResult
from ._common import _fmt, _shape
from .numeric import compare_arrays

if TYPE_CHECKING:
    from .checker import LayerChecker


def check_state(ctx: "LayerChecker", case: Case, arrays: dict[str, np.ndarray], res: CallResult,
                ref: CallResult) -> None:
    for key in ctx.b.state:
        k = "state." + key
        want = ref.arrays.get(k)
        if want is None:
            continue
        got = res.arrays.get(k)
        train = case.role == "full"
        where = ("in bn_param" if ctx.b.plan["style"] == "functions"
                 else "on the layer object")
        if got is None or got.shape != want.shape:
            desc = res.value(k)
            ctx.add("state", f"state:{key}", "fail",
                     f"{key} {where} after a {'training' if train else 'test'}-mode forward "
                     f"is {desc.get('type', 'missing')}"
                     f"{' of shape ' + str(desc.get('shape')) if 'shape' in desc else ''}; "
                     f"expected an array of shape {_shape(want.shape)}.", case)
            continue
        ok, rel, bad = compare_arrays(got, want, 1e-6)
        if ok:
            ctx.add("state", f"state:{key}", "pass", f"{key} updated correctly.", case,
                     error=rel, tolerance=1e-6)
            continue
        given = arrays.get(key)
        if train:
            hint = ("expected running = momentum * running + (1 - momentum) * batch "
                    "statistic (biased variance for the batch)")
            if given is not None and np.allclose(got, given):
                hint = "it was not updated at all: " + hint
            elif key == "running_var":
                hint = ctx._running_var_hint(arrays, case, got) or hint
        else:
            hint = "test mode must not change the running statistics"
        ctx.add("state", f"state:{key}", "fail",
                 f"{key} {where} is wrong after a {'training' if train else 'test'}-mode "
                 f"forward (max relative error {_fmt(rel)}): {hint}.", case,
                 error=rel, tolerance=1e-6)


def _running_var_hint(arrays: dict[str, np.ndarray], case: Case,
                      got: np.ndarray) -> str | None:
    """Recognise a running variance updated with the standard deviation."""
    x, prev = arrays.get("x"), arrays.get("running_var")
    if x is None or x.ndim != 2 or prev is None:
        return None
    m = float(case.config.get("momentum", 0.9))
    var = x.var(axis=0)
    for std in (np.sqrt(var), np.sqrt(var + float(case.config.get("eps", 1e-5)))):
        if np.allclose(got, m * prev + (1 - m) * std, rtol=1e-6):
            return ("it was updated with the batch standard deviation; the running "
                    "variance averages the batch VARIANCE (no square root)")
    return None


def check_shared_params(ctx: "LayerChecker", i: int, case: Case, config: dict[str, Any], seed: int,
                        arrays: dict[str, np.ndarray]) -> None:
    """dlfs: a layer keeps references to its parameter arrays. An optimiser updates them
    in place (the book's params dict is shared with the layers); the next forward must
    see the new values."""
    names = list(ctx.b.plan["init_args"])
    rng = ctx._rng(i, 3)
    updated = {n: arrays[n] + 0.5 * rng.standard_normal(arrays[n].shape) for n in names}
    send = dict(arrays, **{n + ".new": v for n, v in updated.items()})
    res = ctx._student(ctx.job(config, seed, False, {"update_params": True}), send)
    got = res.arrays.get("out.updated")
    if res.error or got is None:
        return  # a failing forward is reported by the other checks
    want = ctx.reference.call(ctx.job(config, seed, False), dict(arrays, **updated))
    want_out = want.arrays.get("out")
    if want_out is None or got.shape != want_out.shape:
        return
    ok, rel, _ = compare_arrays(got, want_out, ctx.spec.rtol(ctx.profile, "forward"))
    shown = ", ".join(ctx.b.show(n) for n in names)
    if ok:
        ctx.add("state", "state:shared-parameters", "pass",
                 f"in-place updates of {shown} reach the layer.", case)
        return
    before = res.arrays.get("out")
    stale = before is not None and before.shape == got.shape and np.array_equal(before, got)
    ctx.add("state", "state:shared-parameters", "fail",
             f"after {shown} were updated in place (as an optimiser does through the "
             f"network's params), the next forward "
             + ("still gives the old output: the layer copied its parameters at "
                "construction (or precomputed something from them). Keep references "
                "(ctx.W = W) and derive everything from them in forward."
                if stale else f"is wrong (relative error {_fmt(rel)})."), case)


def _mask_problems(ctx: "LayerChecker", case: Case, config: dict[str, Any], seed: int,
                   arrays: dict[str, np.ndarray], kept: np.ndarray, res: CallResult
                   ) -> list[str]:
    """A mask must be fresh on every call, depend on the random state, and be drawn
    per element (not one mask shared by every sample or every feature)."""
    problems = []
    second = res.arrays.get("out.second")
    if second is not None and second.shape == kept.shape and np.array_equal(
            second != 0, kept):
        problems.append("a second forward call dropped exactly the same units: draw a new "
                        "mask on every forward (do not keep the first mask, do not reseed "
                        "with a constant)")
    other_seed = (seed + 7919) % (2**32)
    cfg2 = dict(config, seed=(config["seed"] + 7919) % (2**31)) if "seed" in config \
        else config
    r2 = ctx._student(ctx.job(cfg2, other_seed, False), arrays)
    out2 = r2.arrays.get("out")
    if out2 is not None and out2.shape == kept.shape and np.array_equal(out2 != 0, kept):
        problems.append("the mask is the same under a different NumPy random state: it is "
                        "reseeded with a constant or drawn from a private generator; draw "
                        "it from np.random (np.random.rand(*x.shape))")
    if "seed" in config:
        # the same seed in the param dict, another global random state: the same mask
        r3 = ctx._student(ctx.job(config, other_seed, False), arrays)
        out3 = r3.arrays.get("out")
        if out3 is not None and out3.shape == kept.shape and not np.array_equal(
                out3 != 0, kept):
            problems.append("the 'seed' in the parameter dict is ignored: with the same "
                            "seed the mask must be the same (call np.random.seed(seed) "
                            "before drawing it when the key is present)")
    if kept.ndim == 2 and kept.shape[0] > 1 and (kept == kept[:1]).all():
        problems.append("every sample got the same mask: draw one value per element, "
                        "np.random.rand(*x.shape), not per feature")
    elif kept.ndim == 2 and kept.shape[1] > 1 and (kept == kept[:, :1]).all():
        problems.append("every feature of a sample got the same mask: draw one value per "
                        "element, np.random.rand(*x.shape)")
    return problems


def check_statistics(ctx: "LayerChecker", case: Case, arrays: dict[str, np.ndarray], res: CallResult,
                     config: dict[str, Any], seed: int) -> None:
    """Stochastic forward (dropout): keep rate and scaling of kept units, fresh masks."""
    x, out = arrays["x"], ctx._out(res)
    keep = float(case.config["keep"])
    scale = 1.0 / keep if ctx.profile == "cs231n" else 1.0
    ratio = out / x
    kept = ratio != 0
    rate = float(kept.mean())
    n = x.size
    sigma = np.sqrt(keep * (1 - keep) / n)
    problems = []
    if abs(rate - keep) > 6 * sigma:
        what = ("p is the probability of KEEPING a unit" if ctx.profile == "cs231n"
                else "dropout_ratio is the probability of DROPPING a unit")
        problems.append(f"{rate:.3f} of the units were kept, expected {keep:.3f} ± "
                        f"{6 * sigma:.3f} ({what})")
    problems += ctx._mask_problems(case, config, seed, arrays, kept, res)
    if kept.any() and not np.allclose(ratio[kept], scale, rtol=1e-9):
        vals = np.unique(np.round(ratio[kept], 6))[:3]
        rule = ("inverted dropout scales kept units by 1/p in training"
                if ctx.profile == "cs231n"
                else "the book's dropout does not scale kept units in training")
        problems.append(f"kept units were multiplied by {', '.join(map(str, vals))}, "
                        f"expected {_fmt(scale)} ({rule})")
    if problems:
        ctx.add("forward", "forward:statistics", "fail",
                 "training-mode dropout is wrong: " + "; ".join(problems) + ".", case,
                 details={"keep_rate": rate, "expected_keep": keep, "elements": n})
    else:
        ctx.add("forward", "forward:statistics", "pass",
                 f"keep rate {rate:.3f} (expected {keep}) and scaling {_fmt(scale)} are "
                 f"right.", case, details={"keep_rate": rate, "expected_keep": keep})
