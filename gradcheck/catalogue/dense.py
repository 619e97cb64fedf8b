"""Dense layers: add, mul (dlfs) and affine."""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import Arrays, Case, LayerSpec, W_DISPLAY, cls_binding, fn_binding

def gen_pair(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    return {"x": rng.standard_normal(p["x"]), "y": rng.standard_normal(p["x"])}


def gen_affine(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    x = rng.standard_normal(p["x"])
    d = int(np.prod(p["x"][1:]))
    return {"x": x, "w": rng.standard_normal((d, p["M"])) / np.sqrt(d),
            "b": rng.standard_normal(p["M"])}


LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        id="add", title="Add", diff=("x", "y"), generate=gen_pair,
        cases=(Case("default", {"x": (3, 4)}), Case("batch of 1", {"x": (1, 5)})),
        bindings={"dlfs": cls_binding("AddLayer", ("x", "y"), ("x", "y"))}),
    LayerSpec(
        id="mul", title="Multiply", diff=("x", "y"), generate=gen_pair,
        cases=(Case("default", {"x": (3, 4)}), Case("batch of 1", {"x": (1, 5)})),
        bindings={"dlfs": cls_binding("MulLayer", ("x", "y"), ("x", "y"))}),
    LayerSpec(
        id="affine", title="Affine", diff=("x", "w", "b"), generate=gen_affine,
        cases=(Case("default", {"x": (4, 5), "M": 3}),
               Case("N-d input (2, 3, 4)", {"x": (2, 3, 4), "M": 5}),
               Case("batch of 1", {"x": (1, 7), "M": 2})),
        bindings={"cs231n": fn_binding("affine", ("x", "w", "b"), ("x", "w", "b")),
                  "dlfs": cls_binding("Affine", ("x",), ("x",), init_args=("w", "b"),
                                       attr_grads={"w": "dW", "b": "db"},
                                       display=W_DISPLAY)}),
)
