"""Purity: the arrays handed to the layer must come back unchanged.

Each function takes the layer context (:class:`~.checker.LayerChecker`) first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..catalogue import Case
from ..isolation.protocol import CallResult
from . import diagnose as _diagnose

if TYPE_CHECKING:
    from .checker import LayerChecker


def check_purity(ctx: "LayerChecker", case: Case, sent: dict[str, np.ndarray], res: CallResult) -> None:
    changed = []
    for name, arr in sent.items():
        if name in ctx.b.state:
            continue  # running statistics are state: updating them in place is the point
        after = res.arrays.get("after." + name)
        if after is None or after.shape != arr.shape or not np.array_equal(
                after, arr, equal_nan=True):
            changed.append(name)
    inputs = [n for n in changed if n not in ("dout", "dout2")]
    out, out_after = res.arrays.get("out"), res.arrays.get("out.after")
    if out is not None and out_after is not None and not np.array_equal(
            out, out_after, equal_nan=True):
        ctx.add("purity", "purity:output", "fail",
                 "backward modifies the output array that forward returned (e.g. an "
                 "in-place operation on a cached array that is the returned output). That "
                 "array is the next layer's input and may be cached there: compute new "
                 "arrays in backward instead of modifying the cache.", case)
        return
    again = [n for n in ctx.spec.diff if "grad.again." + n in res.arrays
             and "grad." + n in res.arrays
             and not np.array_equal(res.arrays["grad.again." + n], res.arrays["grad." + n],
                                    equal_nan=True)]
    stored = [n for n in again if n in ctx.b.plan.get("attr_grads", {})]
    if stored:
        first, second = res.arrays["grad." + stored[0]], res.arrays["grad.again." + stored[0]]
        ratio = _diagnose.constant_ratio(second.ravel(), first.ravel())
        how = (f" (the second is {ratio:.3g} times the first: it accumulates with +=)"
               if ratio is not None and abs(ratio - 2) < 1e-6 else "")
        shown = ", ".join(ctx.b.grad_name(n) for n in stored)
        ctx.add("state", "state:parameter-gradients", "fail",
                 f"{shown} changes when backward is called again after the same "
                 f"forward{how}. Each backward must assign a fresh gradient "
                 f"(ctx.dW = ...), not add to the previous one: an optimiser reads "
                 f"{shown} after every backward.", case)
        again = [n for n in again if n not in stored]
    if again:
        shown = ", ".join(ctx.b.grad_name(n) for n in again)
        ctx.add("purity", "purity:cache", "warn",
                 f"a second backward pass on the same forward gives a different {shown}: "
                 "backward modifies what forward cached (e.g. dx = ctx.y; dx[...] -= 1 "
                 "without a copy). One pass is right, but code that calls backward twice "
                 "(a gradient check, a second loss) gets wrong gradients.", case)
    if inputs:
        shown = ", ".join(ctx.b.show(n) for n in inputs)
        ctx.add("purity", "purity:inputs", "fail",
                 f"the layer modifies its input{'s' if len(inputs) > 1 else ''} {shown} in "
                 f"place. The caller's arrays (data, parameters, or the previous layer's "
                 f"cached activations) get corrupted: work on a copy "
                 f"(e.g. out = x.copy() or np.maximum(x, 0)).", case)
    elif "dout" in changed:
        ctx.add("purity", "purity:dout", "warn",
                 "backward writes into dout in place. Harmless in a plain sequential "
                 "network (the book's ReLU does it), but it corrupts the upstream gradient "
                 "if anything else reads it; prefer dx = dout * mask.", case)
    elif case.label == "default":
        ctx.add("purity", "purity", "pass", "inputs are not modified.", case)
