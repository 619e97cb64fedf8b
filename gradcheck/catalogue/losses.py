"""Losses: softmax_loss and svm_loss (cs231n)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .inputs import KINK_MARGIN, LARGE, gen_signed_large, labels, softmax
from .model import Arrays, Binding, Case, LayerSpec, cls_binding

def gen_softmax(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    n, c = p["x"]
    if p.get("scale"):
        x = gen_signed_large(rng, p)["x"]
        y = labels(rng, n, c)
    else:
        # keep every correct-class probability >= 0.1 so the book's log(p + 1e-7) differs
        # from the exact loss by less than 1e-6 (relative): see docs/checks.md
        while True:
            x = rng.standard_normal((n, c)) * 0.8
            y = labels(rng, n, c)
            if softmax(x)[np.arange(n), y].min() >= 0.1:
                break
    out = {"x": x, "y": y}
    if p.get("onehot"):
        out["y"] = np.eye(c)[y]
    return out


def gen_svm(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    n, c = p["x"]
    scale = p.get("scale", 1.0)
    while True:
        x = rng.standard_normal((n, c)) * scale
        y = labels(rng, n, c)
        margins = x - x[np.arange(n), y][:, None] + 1.0
        margins[np.arange(n), y] = 1.0
        if np.abs(margins).min() >= KINK_MARGIN:
            return {"x": x, "y": y}


def _book_softmax_loss(arrays: Arrays, config: dict[str, Any]) -> np.ndarray:
    """The book's cross-entropy: -mean(log(p[t] + 1e-7)), accepted as a correct forward."""
    x, y = arrays["x"], arrays["y"]
    if y.ndim == 2:
        y = y.argmax(axis=1)
    z = x - x.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return np.asarray(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-7)))


LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        id="softmax_loss", title="Softmax cross-entropy loss", diff=("x",),
        generate=gen_softmax, loss=True,
        cases=(Case("default", {"x": (5, 4)}),
               Case("batch of 1", {"x": (1, 3)}),
               Case("one-hot labels", {"x": (4, 3), "onehot": True}, profiles=("dlfs",)),
               Case("large logits (±1000)", {"x": (3, 4), "scale": LARGE}, role="stability")),
        bindings={"cs231n": Binding("cs231n", ("softmax_loss",),
                                    {"style": "loss_function", "function": "softmax_loss",
                                     "args": ["x", "y"], "grads": ["x"]},
                                    arity={"softmax_loss": 2}),
                  "dlfs": cls_binding("SoftmaxWithLoss", ("x", "y"), ("x",), loss=True,
                                       display={"y": "t"})},
        alternatives={"dlfs": _book_softmax_loss},
        tolerances={"dlfs": {"grad": 1e-5, "forward": 1e-5}}),
    LayerSpec(
        id="svm_loss", title="Multiclass SVM (hinge) loss", diff=("x",), generate=gen_svm,
        loss=True,
        cases=(Case("default", {"x": (5, 4)}),
               Case("batch of 1", {"x": (1, 3)}),
               Case("large logits (±1000)", {"x": (3, 4), "scale": LARGE}, role="stability")),
        bindings={"cs231n": Binding("cs231n", ("svm_loss",),
                                    {"style": "loss_function", "function": "svm_loss",
                                     "args": ["x", "y"], "grads": ["x"]},
                                    arity={"svm_loss": 2})}),
)
