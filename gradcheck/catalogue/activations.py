"""Element-wise activations: relu, sigmoid, tanh."""

from __future__ import annotations

from typing import Any

import numpy as np

from .inputs import LARGE, away_from_zero
from .model import Arrays, Case, Generator, LayerSpec, cls_binding, fn_binding

def gen_relu(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    return {"x": away_from_zero(rng, p["x"])}


def gen_smooth(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    return {"x": rng.standard_normal(p["x"]) * p.get("scale", 1.0)}


def _elementwise(id_: str, title: str, cls: str, gen: Generator,
                 extra_cases: tuple[Case, ...] = ()) -> LayerSpec:
    return LayerSpec(
        id=id_, title=title, diff=("x",), generate=gen,
        cases=(Case("default", {"x": (4, 5)}),
               Case("batch of 1", {"x": (1, 3)}),
               Case("3-d input", {"x": (2, 3, 4)})) + extra_cases,
        bindings={"cs231n": fn_binding(id_, ("x",), ("x",)),
                  "dlfs": cls_binding(cls, ("x",), ("x",))})


LAYERS: tuple[LayerSpec, ...] = (
    _elementwise("relu", "ReLU", "Relu", gen_relu),
    _elementwise("sigmoid", "Sigmoid", "Sigmoid", gen_smooth,
                 (Case("large inputs (|x| up to 1000)", {"x": (3, 4), "scale": LARGE},
                       role="stability"),)),
    _elementwise("tanh", "Tanh", "Tanh", gen_smooth,
                 (Case("large inputs (|x| up to 1000)", {"x": (3, 4), "scale": LARGE},
                       role="stability"),)),
)
