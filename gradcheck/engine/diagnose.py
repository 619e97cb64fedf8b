"""Say why: recognise common bug patterns from the numbers of a failed check.

Each hint is ``{"id": stable pattern id, "message": a sentence a student can act on,
"numbers": the evidence}``. Hints never quote reference code; they name the class of bug.
The ids are stable (documented in docs/diagnosis.md, listed in :data:`HINT_IDS`); messages may
be reworded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: every hint id this module can emit (stable; see docs/diagnosis.md)
HINT_IDS = (
    # gradient checks
    "zero-gradient", "ratio-N", "ratio-1/N", "sign", "ratio-2", "ratio-1/2", "ratio",
    "dropout-scale", "transposed", "permuted", "dout-ignored", "mask-inverted",
    "norm-wrong-axis", "conv-flipped-kernel",
    "mask-nonpositive", "mask-positive", "mask-missing", "derivative-of-input",
    "derivative-missing-factor", "label-entries", "batch-stat-term", "reduction-axis",
    "not-accumulated", "conv-dx-missing-weights", "error-one-slice",
    "error-after-first-sample", "swapped-gradients",
    # forward checks
    "sum-not-mean", "mean-not-sum", "forward-ratio", "forward-transposed",
    "looks-like-tanh", "looks-like-sigmoid", "looks-like-relu", "unbiased-variance",
    # shape checks
    "shape-keepdims", "shape-transposed", "shape-not-reshaped",
    # layer level: failures only in some configurations
    "only-batch", "only-stride", "only-padding", "only-overlap", "only-non-square",
    "only-one-hot", "only-nd-input", "config-only",
)


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
    assert id_ in HINT_IDS, id_
    return {"id": id_, "message": message, "numbers": numbers}


def _batch(ctx: GradientContext) -> int | None:
    x = ctx.arrays.get("x")
    return int(x.shape[0]) if x is not None and x.ndim >= 1 else None


def constant_ratio(a: np.ndarray, n: np.ndarray, rtol: float = 1e-3) -> float | None:
    """The factor c with a == c * n on every element, or None."""
    a, n = np.asarray(a, float).ravel(), np.asarray(n, float).ravel()
    if a.shape != n.shape or not n.size:
        return None
    mask = np.abs(n) > 1e-8 * np.max(np.abs(n))
    if mask.sum() < 2:
        return None
    ratios = a[mask] / n[mask]
    c = float(np.median(ratios))
    if np.allclose(a, c * n, rtol=rtol, atol=rtol * float(np.max(np.abs(n)))):
        return c
    return None


def _close(a: np.ndarray, b: np.ndarray, tol: float = 1e-4) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-12)
    return bool(np.allclose(a, b, rtol=tol, atol=tol * scale))


def _wrong(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    scale = float(np.max(np.abs(n))) if n.size else 0.0
    return np.abs(a - n) > 1e-5 * (np.abs(n) + scale) + 1e-12


# ----------------------------------------------------------------------------- gradients
def _ratio_hints(ctx: GradientContext, c: float) -> list[dict[str, Any]]:
    d = ctx.display
    batch = _batch(ctx)
    keep = (ctx.case.config or {}).get("keep") if ctx.case is not None else None
    if ctx.layer == "dropout" and keep and (abs(c - keep) < 1e-3 or abs(c - 1 / keep) < 1e-3):
        return [_hint("dropout-scale", f"{d} is the true gradient times {c:.4g}: the backward "
                      "pass must scale the kept units exactly as the forward pass did (the "
                      "keep-probability scaling is missing or applied twice).", factor=c,
                      keep=keep)]
    if batch and batch > 1 and abs(c - 1 / batch) < 1e-3 / batch:
        return [_hint("ratio-1/N", f"{d} is the true gradient divided by the batch size "
                      f"N={batch}: it is averaged over the batch where it should be summed "
                      "(only the loss divides by N, once).", factor=c, N=batch)]
    if batch and batch > 1 and abs(c - batch) < 1e-3 * batch:
        return [_hint("ratio-N", f"{d} is N={batch} times the true gradient: the forward "
                      "averages over the batch, so divide by N in the backward pass as well.",
                      factor=c, N=batch)]
    if abs(c + 1) < 1e-3:
        return [_hint("sign", f"{d} has the wrong sign everywhere: check the sign of each "
                      "term.", factor=c)]
    if abs(c - 2) < 2e-3:
        return [_hint("ratio-2", f"{d} is twice the true gradient: a term is counted twice "
                      "(or a factor 2 from a square is not cancelled by a 0.5).", factor=c)]
    if abs(c - 0.5) < 1e-3:
        return [_hint("ratio-1/2", f"{d} is half the true gradient: a factor 2 (e.g. the "
                      "derivative of a square) is missing.", factor=c)]
    return [_hint("ratio", f"{d} is the true gradient times a constant {c:.4g}: the formula "
                  "is right up to a constant factor.", factor=c)]


def _layout_hints(ctx: GradientContext) -> list[dict[str, Any]]:
    """Transposed or scrambled: the right values in the wrong places (needs the full array)."""
    a, n, d = ctx.analytic, ctx.numeric, ctx.display
    if n is None or a.size < 2:
        return []
    if a.ndim == 2 and a.shape[0] == a.shape[1] and _close(a, n.T):
        return [_hint("transposed", f"{d} is the transpose of the true gradient: swap the "
                      "operands / transpose the matrix product.", shape=list(a.shape))]
    if a.ndim >= 2:
        for perm in ([1, 0] + list(range(2, a.ndim)), list(range(a.ndim))[::-1]):
            t = np.transpose(n, perm)
            if t.size == a.size and _close(a, t.reshape(a.shape)) and not _close(a, n):
                return [_hint("transposed", f"{d} holds the true gradient with its axes in "
                              "another order: a reshape happened without the matching "
                              "transpose (or the other way round).", shape=list(a.shape))]
    if np.abs(n).max() > 0 and _close(np.sort(a.ravel()), np.sort(n.ravel())):
        return [_hint("permuted", f"{d} contains the right values in the wrong places: check "
                      "the order of reshape/transpose when going back to the array's layout.",
                      shape=list(a.shape))]
    return []


def _elementwise_hints(ctx: GradientContext) -> list[dict[str, Any]]:
    """Element-wise layers: the local derivative f'(x) multiplied by dout."""
    x, dout, a, n, d = ctx.arrays.get("x"), ctx.dout, ctx.analytic, ctx.numeric, ctx.display
    if (x is None or dout is None or n is None or ctx.name != "x"
            or ctx.layer not in ("sigmoid", "tanh") or a.shape != x.shape):
        return []
    ok = np.abs(dout) > 1e-3
    local = a[ok] / dout[ok]
    xs = x[ok]
    s = 1 / (1 + np.exp(-xs))
    t = np.tanh(xs)
    if ctx.layer == "sigmoid":
        of_input = [xs * (1 - xs)]
        missing = [s, 1 - s]
    else:
        of_input = [1 - xs ** 2]
        missing = [1 - t, 1 + t]
    if any(_close(local, c, 1e-6) for c in of_input):
        return [_hint("derivative-of-input", f"{d} uses the derivative formula written in "
                      "terms of the layer's OUTPUT but evaluates it on the INPUT x: cache the "
                      "output of the forward pass and use that.")]
    if any(_close(local, c, 1e-6) for c in missing):
        return [_hint("derivative-missing-factor", f"{d} = dout * (local derivative), but "
                      "the local derivative misses a factor (it is right up to a factor that "
                      "changes element by element with the output): re-derive f'(x) in terms "
                      "of the output.")]
    return []


def _mask_hints(ctx: GradientContext, a: np.ndarray, n: np.ndarray,
                idx: list[tuple[int, ...]]) -> list[dict[str, Any]]:
    d = ctx.display
    scale = float(np.max(np.abs(n))) or 1.0
    wrong = _wrong(a, n)
    if wrong.sum() < 1:
        return []
    nz_true = np.abs(n) > 1e-7 * scale
    nz_mine = np.abs(a) > 1e-7 * scale
    if (~nz_true).sum() >= 1 and nz_true.sum() >= 1 and np.array_equal(nz_mine, ~nz_true):
        return [_hint("mask-inverted", f"{d} is non-zero exactly where the true gradient is "
                      "zero and zero where it is not: the mask is inverted (> vs <=).",
                      wrong=int(wrong.sum()))]
    x = ctx.arrays.get("x")
    if ctx.layer == "relu" and ctx.name == "x" and x is not None and x.shape == ctx.analytic.shape:
        xv = np.array([x[i] for i in idx])
        relu_like = bool(np.all(~nz_true[xv <= 0])) and bool((xv <= 0).any())
        pos, neg = wrong & (xv > 0), wrong & (xv <= 0)
        if relu_like and not pos.any():
            return [_hint("mask-nonpositive", f"{d} is wrong only where the input x <= 0: "
                          "the gradient must be blocked where the forward output did not "
                          "depend on x (apply the mask).", wrong=int(wrong.sum()))]
        if relu_like and not neg.any():
            return [_hint("mask-positive", f"{d} is wrong only where the input x > 0: the "
                          "gradient through the active units is wrong (is dout multiplied "
                          "in?).", wrong=int(wrong.sum()))]
    leak = nz_mine & ~nz_true
    if leak.any() and (np.all(leak | ~wrong) or np.all(nz_mine[~nz_true])):
        why = {"maxpool": "only the maximum of each window receives gradient",
               "dropout": "dropped units must get zero gradient (apply the forward mask)",
               "relu": "units with x <= 0 must get zero gradient"}.get(
            ctx.layer, "these elements do not influence the output")
        return [_hint("mask-missing", f"{d} is non-zero where the true gradient is zero "
                      f"({int(leak.sum())} elements): {why}.", leaking=int(leak.sum()))]
    return []


def _label_hints(ctx: GradientContext, a: np.ndarray, n: np.ndarray,
                 idx: list[tuple[int, ...]]) -> list[dict[str, Any]]:
    y = ctx.arrays.get("y")
    if y is None or ctx.name != "x" or ctx.analytic.ndim != 2:
        return []
    labels = y.argmax(axis=1) if y.ndim == 2 else y
    wrong = _wrong(a, n)
    if not wrong.any():
        return []
    at_label = np.array([i[1] == labels[i[0]] for i in idx])
    if np.all(at_label[wrong]):
        off = [float(a[k] - n[k]) for k in np.flatnonzero(wrong)][:3]
        return [_hint("label-entries", f"{ctx.display} is wrong only at the correct-class "
                      "entries x[i, y[i]]: check the term that involves the label (its sign "
                      "or its scale).", difference=off)]
    return []


def _norm_hints(ctx: GradientContext) -> list[dict[str, Any]]:
    """Normalisation layers: an error that flows through the batch statistics."""
    a, n, x = ctx.analytic, ctx.numeric, ctx.arrays.get("x")
    if n is None or x is None or ctx.name != "x" or a.ndim != 2 or a.shape != x.shape:
        return []
    if ctx.layer not in ("batchnorm", "layernorm"):
        return []
    e = a - n
    axis = 0 if ctx.layer == "batchnorm" else 1
    E, X = (e, x) if axis == 0 else (e.T, x.T)
    scale = float(np.max(np.abs(n))) or 1.0
    tol = 1e-4 * scale
    what = "batch" if axis == 0 else "features of a sample"
    if E.shape[0] >= 2 and np.all(np.abs(E - E.mean(axis=0)) <= tol):
        return [_hint("batch-stat-term", f"{ctx.display}: the error is the same for every "
                      f"element over the {what}: the term that flows through the MEAN is "
                      "missing or wrong.", term="mean")]
    if E.shape[0] >= 3:
        ok = True
        for j in range(E.shape[1]):
            A = np.stack([np.ones(E.shape[0]), X[:, j]], axis=1)
            coef, *_ = np.linalg.lstsq(A, E[:, j], rcond=None)
            if np.max(np.abs(A @ coef - E[:, j])) > tol:
                ok = False
                break
        if ok:
            return [_hint("batch-stat-term", f"{ctx.display}: the error is an affine "
                          f"function of x over the {what}: the term that flows through the "
                          "VARIANCE (or the mean) is missing or wrong.", term="variance")]
    if min(e.shape) >= 3:
        # a reduction over the wrong axis leaves a rank-1 error once the row (or column)
        # means are removed
        ranks = []
        for centred in (e - e.mean(axis=1, keepdims=True), e - e.mean(axis=0, keepdims=True)):
            sv = np.linalg.svd(centred, compute_uv=False)
            ranks.append(sv.size > 1 and sv[0] > 1e-6 * scale and sv[1] <= 1e-6 * sv[0])
        if any(ranks):
            return [_hint("reduction-axis", f"{ctx.display}: the error splits into a per-row "
                          "plus a per-column part: a sum or mean in the backward pass runs "
                          "over the wrong axis (check axis= and keepdims).")]
    return []


def _conv_hints(ctx: GradientContext) -> list[dict[str, Any]]:
    a = ctx.analytic
    cfg = (ctx.case.config or {}) if ctx.case is not None else {}
    if ctx.layer == "maxpool" and ctx.name == "x" and a.ndim == 4:
        ph, pw, s = cfg.get("pool_height"), cfg.get("pool_width"), cfg.get("stride")
        if not (ph and pw and s):
            return []
        x = ctx.arrays["x"]
        count = np.zeros(x.shape, int)  # how many windows cover each element
        ho, wo = (x.shape[2] - ph) // s + 1, (x.shape[3] - pw) // s + 1
        for i in range(ho):
            for j in range(wo):
                count[:, :, i * s:i * s + ph, j * s:j * s + pw] += 1
        els = ctx.localisation.elements
        wrong = [e for e in els if abs(e.analytic - e.numeric) > 1e-5 * (abs(e.numeric) + 1e-3)]
        if wrong and all(count[e.index] >= 2 for e in wrong):
            return [_hint("not-accumulated", f"{ctx.display} is wrong only at elements that "
                          "belong to several overlapping windows: accumulate (+=) "
                          "the gradient of each window instead of assigning (=) it.",
                          wrong=len(wrong))]
        return []
    if ctx.layer != "conv":
        return []
    x, w, dout = ctx.arrays.get("x"), ctx.arrays.get("w"), ctx.dout
    s, p = cfg.get("stride", 1), cfg.get("pad", 0)
    if x is None or w is None or dout is None:
        return []
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    F, C, HH, WW = w.shape
    N, _, Ho, Wo = dout.shape
    if ctx.name == "w":
        last = np.stack([xp[N - 1, :, (Ho - 1) * s:(Ho - 1) * s + HH,
                            (Wo - 1) * s:(Wo - 1) * s + WW] * dout[N - 1, f, Ho - 1, Wo - 1]
                         for f in range(F)])
        if _close(a, last, 1e-6):
            return [_hint("not-accumulated", f"{ctx.display} holds only the contribution of "
                          "the last sample and window position: accumulate (+=) over the "
                          "batch and every position instead of assigning (=).")]
    if ctx.name == "x":
        dxp = np.zeros_like(xp)
        for nn in range(N):
            for i in range(Ho):
                for j in range(Wo):
                    dxp[nn, :, i * s:i * s + HH, j * s:j * s + WW] += dout[nn, :, i, j].sum()
        ones = dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]]
        if _close(a, ones, 1e-6):
            return [_hint("conv-dx-missing-weights", f"{ctx.display} spreads dout over each "
                          "window without multiplying by the filter weights.")]
    return []


def _locality_hints(ctx: GradientContext, a: np.ndarray, n: np.ndarray,
                    idx: list[tuple[int, ...]]) -> list[dict[str, Any]]:
    wrong = _wrong(a, n)
    if not wrong.any() or wrong.all() or not idx or len(idx[0]) == 0:
        return []
    d = ctx.display
    w_idx = [i for i, bad in zip(idx, wrong) if bad]
    shape = ctx.analytic.shape
    if ctx.name in ("x", "y") and shape[0] > 1:
        firsts = {i[0] for i in w_idx}
        if 0 not in firsts and len(firsts) == shape[0] - 1 and all(i[0] for i in w_idx):
            return [_hint("error-after-first-sample", f"{d} is right for the first sample "
                          "of the batch and wrong for the others: something is computed for "
                          "sample 0 only, or indexed without the batch index.",
                          wrong_samples=sorted(firsts))]
    for ax in range(len(shape)):
        vals = {i[ax] for i in w_idx}
        # one wrong element is "in" every row and column: a slice needs at least two
        if len(vals) == 1 and shape[ax] > 1 and len(w_idx) >= 2:
            k = vals.pop()
            what = {0: "row", 1: "column"}.get(ax, f"index along axis {ax}") if len(
                shape) == 2 else f"index along axis {ax}"
            return [_hint("error-one-slice", f"{d} is wrong only in {what} {k} (axis {ax}): "
                          "look for an off-by-one or a loop bound that skips or repeats it.",
                          axis=ax, index=int(k), wrong=int(wrong.sum()))]
    return []


def gradient_hints(ctx: GradientContext) -> list[dict[str, Any]]:
    """Hints for a failed gradient check, most specific first."""
    a, n, idx = ctx.pairs()
    if a.size == 0:
        return []
    scale = float(np.max(np.abs(n))) or 1.0
    if np.all(np.abs(a) <= 1e-12 * scale) and np.any(np.abs(n) > 1e-8):
        return [_hint("zero-gradient", f"{ctx.display} is all zeros although the true gradient "
                      "is not: it is never assigned, or multiplied by an empty mask.")]
    c = constant_ratio(a, n)
    if c is not None:
        return _ratio_hints(ctx, c)
    dout = ctx.dout
    if (dout is not None and dout.shape == ctx.analytic.shape and ctx.numeric is not None
            and _close(ctx.analytic * dout, ctx.numeric, 1e-6)):
        return [_hint("dout-ignored", f"{ctx.display} equals the local derivative alone: "
                      "multiply it by the upstream gradient dout (chain rule).")]
    for finder in (_layout_hints, _elementwise_hints, _norm_hints, _conv_hints):
        hints = finder(ctx)
        if hints:
            return hints
    for finder2 in (_mask_hints, _label_hints, _locality_hints):
        hints = finder2(ctx, a, n, idx)
        if hints:
            return hints
    return []


def linearity_hints(display_names: list[str]) -> list[dict[str, Any]]:
    """Hints for a failed linearity check (backward not linear in dout)."""
    names = ", ".join(display_names)
    return [_hint("dout-ignored", f"{names} does not scale with dout: the upstream gradient "
                  "is ignored (or a term is added that does not depend on it); multiply by "
                  "dout (chain rule).", gradients=display_names)]


# ----------------------------------------------------------------------------- forward
def forward_hints(ctx: ForwardContext) -> list[dict[str, Any]]:
    """Hints for a forward output that differs from the reference."""
    out, want = np.asarray(ctx.out, float), np.asarray(ctx.expected, float)
    hints: list[dict[str, Any]] = []
    x = ctx.arrays.get("x")
    n = int(x.shape[0]) if x is not None and x.ndim >= 1 else 1
    if out.ndim == 0 and n > 1 and np.isclose(float(out), float(want) * n, rtol=1e-6):
        hints.append(_hint("sum-not-mean", f"the loss is N={n} times too large: it matches the "
                           "SUM over the batch; the catalogue asks for the MEAN.", N=n))
    elif out.ndim == 0 and n > 1 and np.isclose(float(out) * n, float(want), rtol=1e-6):
        hints.append(_hint("mean-not-sum", f"the output is N={n} times too small: it matches "
                           "the mean over the batch where a sum is expected.", N=n))
    elif out.shape == want.shape and out.size > 1:
        c = constant_ratio(out.ravel(), want.ravel())
        if c is not None and abs(c - 1) > 1e-3:
            hints.append(_hint("forward-ratio", f"the output is the expected one times "
                               f"{c:.4g}: a scaling factor is missing or extra.", factor=c))
        elif out.ndim == 2 and out.shape[0] == out.shape[1] and _close(out, want.T):
            hints.append(_hint("forward-transposed", "the output is the transpose of the "
                               "expected one: check the order of the matrix product."))
    if x is not None and out.shape == x.shape:
        for name, fn in (("tanh", np.tanh), ("sigmoid", lambda v: 0.5 * (1 + np.tanh(v / 2))),
                         ("relu", lambda v: np.maximum(v, 0))):
            if name != ctx.layer and np.allclose(out, fn(x), rtol=1e-6, atol=1e-9):
                hints.append(_hint("looks-like-" + name, f"the output equals {name}(x): the "
                                   f"forward implements {name}, not {ctx.layer}."))
                break
    if (ctx.layer in ("batchnorm", "layernorm") and x is not None and x.ndim == 2
            and out.shape == x.shape and ctx.config.get("train", True)):
        axis = 0 if ctx.layer == "batchnorm" else 1
        m = x.shape[axis]
        gamma, beta = ctx.arrays.get("gamma"), ctx.arrays.get("beta")
        if m > 1 and gamma is not None and beta is not None:
            eps = float(ctx.config.get("eps", 1e-5))
            xc = x - x.mean(axis=axis, keepdims=True)
            var_u = (xc ** 2).sum(axis=axis, keepdims=True) / (m - 1)
            cand = gamma * xc / np.sqrt(var_u + eps) + beta
            if np.allclose(out, cand, rtol=1e-4, atol=1e-6):
                hints.append(_hint("unbiased-variance", "the output matches a normalisation "
                                   f"with the unbiased variance (divided by {m - 1}); the "
                                   f"catalogue uses the biased one (divided by {m}).", m=m))
            other = 1 - axis  # normalised along the other axis: the wrong layer's statistics
            if x.shape[other] > 1:
                xo = x - x.mean(axis=other, keepdims=True)
                cand = gamma * xo / np.sqrt((xo ** 2).mean(axis=other, keepdims=True) + eps) \
                    + beta
                if np.allclose(out, cand, rtol=1e-4, atol=1e-6):
                    what = ("over the features of each sample (that is layer norm)"
                            if axis == 0 else "over the batch for each feature (that is "
                            "batch norm)")
                    hints.append(_hint("norm-wrong-axis", f"the output is normalised {what}; "
                                       f"{ctx.layer} takes its statistics over axis {axis}.",
                                       axis=other))
    if ctx.layer == "conv" and {"x", "w", "b"} <= set(ctx.arrays) and out.ndim == 4:
        flipped = dict(ctx.arrays, w=ctx.arrays["w"][:, :, ::-1, ::-1])
        cand = _reference_conv(flipped, ctx.config)
        if cand is not None and cand.shape == out.shape and np.allclose(out, cand, rtol=1e-6,
                                                                         atol=1e-9):
            hints.append(_hint("conv-flipped-kernel", "the output is a true convolution (the "
                               "kernel flipped): the catalogue's conv is a cross-correlation, "
                               "out[n, f, i, j] = sum(x_window * w[f]) without flipping w."))
    return hints


def _reference_conv(arrays: dict[str, np.ndarray], config: dict[str, Any]) -> np.ndarray | None:
    """The catalogue's convolution of the given arrays (trusted reference, this process)."""
    from ..reference.cs231n.layers import conv_forward_naive  # noqa: PLC0415

    try:
        return conv_forward_naive(arrays["x"], arrays["w"], arrays["b"],
                                  {"stride": int(config.get("stride", 1)),
                                   "pad": int(config.get("pad", 0))})[0]
    except Exception:  # noqa: BLE001 - a hint is optional
        return None


# ----------------------------------------------------------------------------- shapes
_SHAPE_RE = re.compile(r"has shape \(([\d, ]*)\), expected \(([\d, ]*)\)")


def _tuple(s: str) -> tuple[int, ...]:
    return tuple(int(v) for v in s.replace(" ", "").split(",") if v)


def _fmt_shape(t: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, t)) + ("," if len(t) == 1 else "") + ")"


def shape_hint(what: str, got: tuple[int, ...], want: tuple[int, ...]) -> dict[str, Any] | None:
    """Why an array has the wrong shape (keepdims, transposed, not reshaped back)."""
    got, want = tuple(got), tuple(want)
    if len(got) == len(want) + 1 and got[0] == 1 and got[1:] == want:
        return _hint("shape-keepdims", f"{what} has a leading axis of size 1, typically from "
                     "sum(..., keepdims=True) or a (1, M) bias; sum over axis 0 without "
                     "keepdims", got=list(got), expected=list(want))
    if int(np.prod(got)) == int(np.prod(want)) and len(got) == 2 and got == want[::-1]:
        return _hint("shape-transposed", f"{what} is transposed (check the order of the "
                     "matrix product)", got=list(got), expected=list(want))
    if int(np.prod(got)) == int(np.prod(want)):
        return _hint("shape-not-reshaped", f"{what} has the same number of elements: reshape "
                     "it back to the input's shape", got=list(got), expected=list(want))
    return None


def shape_message(what: str, got: tuple, want: tuple) -> str:
    """The message of a failed shape check, with the explanation when one is recognised."""
    msg = f"{what} has shape {_fmt_shape(tuple(got))}, expected {_fmt_shape(tuple(want))}"
    h = shape_hint(what, got, want)
    if h is not None:
        msg += {"shape-keepdims": ": a leading axis of size 1, typically from "
                "sum(..., keepdims=True) or a (1, M) bias; sum over axis 0 without keepdims",
                "shape-transposed": ": transposed (check the order of the matrix product)",
                "shape-not-reshaped": ": same number of elements, so reshape it back to the "
                "input's shape"}[h["id"]]
    return msg


# ----------------------------------------------------------------------------- layer level
def _features(layer: str, case: Any) -> set[str]:
    """What is special about a configuration (used to explain config-only failures)."""
    p, c = case.params or {}, case.config or {}
    f: set[str] = set()
    x = p.get("x")
    if x is not None and len(x) >= 1 and x[0] > 1:
        f.add("only-batch")
    if c.get("stride", 1) > 1:
        f.add("only-stride")
    if c.get("pad", 0) > 0:
        f.add("only-padding")
    ph, pw = c.get("pool_height"), c.get("pool_width")
    if ph and pw and c.get("stride", 1) < max(ph, pw):
        f.add("only-overlap")
    if ph and pw and ph != pw:
        f.add("only-non-square")
    w = p.get("w")
    if w is not None and len(w) == 4 and w[2] != w[3]:
        f.add("only-non-square")
    if p.get("onehot"):
        f.add("only-one-hot")
    if x is not None and layer not in ("conv", "maxpool") and len(x) > 2:
        f.add("only-nd-input")
    return f


_FEATURE_TEXT = {
    "only-batch": ("batch size > 1", "the batch: a loop or an index that assumes N == 1, "
                   "or a sum over the wrong axis"),
    "only-stride": ("stride > 1", "the stride: window positions are i * stride, and the "
                    "output size is (H - HH) // stride + 1"),
    "only-padding": ("padding > 0", "the padding: pad the input, and crop the gradient back "
                     "to the unpadded centre"),
    "only-overlap": ("overlapping windows (stride < window)", "overlapping windows: an "
                     "element can belong to several windows, so accumulate (+=) rather than "
                     "assign"),
    "only-non-square": ("non-square windows/kernels", "non-square windows: height and width "
                        "are separate parameters"),
    "only-one-hot": ("one-hot labels", "one-hot labels: handle t of shape (N, C) as well as "
                     "class indices (same loss, same scaling by the batch size)"),
    "only-nd-input": ("inputs with more than 2 dimensions", "N-d input: flatten to (N, -1) "
                      "for the product and reshape dx back to x's shape"),
}

_CONFIG_KINDS = ("gradient", "forward", "shape", "dtype")


def _case_hints(layer: str, checks: list[Any], cases: list[Any] | None
                ) -> list[dict[str, Any]]:
    relevant = [c for c in checks if c.kind in _CONFIG_KINDS]
    failing = [c for c in relevant if c.status in ("fail", "error")]
    if not failing:
        return []
    configs = {c.config for c in relevant}
    bad = {c.config for c in failing}
    if "default" in bad or not bad or len(bad) >= len(configs):
        return []
    by_label = {c.label: c for c in cases or []}
    good = configs - bad
    if cases and bad <= set(by_label) and good <= set(by_label):
        common = set.intersection(*(_features(layer, by_label[b]) for b in bad))
        for g in good:
            common -= _features(layer, by_label[g])
        only_forward = all(c.kind == "forward" for c in failing)
        for fid in _FEATURE_TEXT:
            if fid in common:
                short, why = _FEATURE_TEXT[fid]
                if fid == "only-overlap" and only_forward:
                    # the forward fails: accumulation is a backward matter
                    why = ("overlapping windows: window (i, j) starts at (i * stride, "
                           "j * stride) and there are (H - pool_height) // stride + 1 of them "
                           "along the height (likewise the width)")
                return [_hint(fid, f"the layer is right in the default configuration but "
                              f"fails only with {short} ({'; '.join(sorted(bad))}). Look at "
                              f"{why}.", configs=sorted(bad))]
    return [_hint("config-only", "the layer is right in the default configuration but "
                  "wrong in: " + "; ".join(sorted(bad)) + ". Look at what differs there "
                  "(stride, padding, overlapping windows, batch size, input rank).",
                  configs=sorted(bad))]


def _swap_hints(checks: list[Any]) -> list[dict[str, Any]]:
    grads = [c for c in checks if c.kind == "gradient" and c.status == "fail" and isinstance(
        c.details, dict) and "numeric_gradient" in c.details]
    for c1 in grads:
        for c2 in grads:
            if c1 is c2 or c1.config != c2.config:
                continue
            a1 = np.asarray(c1.details["analytic_gradient"], float)
            n2 = np.asarray(c2.details["numeric_gradient"], float)
            a2 = np.asarray(c2.details["analytic_gradient"], float)
            n1 = np.asarray(c1.details["numeric_gradient"], float)
            if _close(a1, n2) and _close(a2, n1):
                return [_hint("swapped-gradients", f"{c1.input} and {c2.input} are swapped: "
                              f"{c1.input} holds the gradient of the other input and vice "
                              "versa (check the order of the returned tuple / the partial "
                              "derivatives).", gradients=[c1.input, c2.input])]
    return []


def _shape_hints(checks: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for c in checks:
        if c.kind != "shape" or c.status != "fail":
            continue
        m = _SHAPE_RE.search(c.message)
        if not m:
            continue
        what = c.input or c.name.split(":", 1)[-1]
        h = shape_hint(what, _tuple(m.group(1)), _tuple(m.group(2)))
        if h is not None and h["id"] + what not in seen:
            seen.add(h["id"] + what)
            out.append(h)
    return out


def layer_hints(layer: str, profile: str, checks: list[Any],
                cases: list[Any] | None = None) -> list[dict[str, Any]]:
    """Hints drawn from the pattern of failures across checks and configurations."""
    hints = _swap_hints(checks)
    if hints:
        # the per-check hints cannot see the other input: put this one first there too
        for c in checks:
            if c.kind == "gradient" and c.status == "fail" and c.input in hints[0]["numbers"][
                    "gradients"] and isinstance(c.details, dict):
                c.details["hints"] = hints + list(c.details.get("hints", []))
    hints += _case_hints(layer, checks, cases)
    hints += _shape_hints(checks)
    return hints
