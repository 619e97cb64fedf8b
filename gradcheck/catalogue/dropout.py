"""Dropout (stochastic: the global NumPy generator is replayed before every call)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import Arrays, Case, LayerSpec, cls_binding, fn_binding

def gen_dropout(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    # strictly positive inputs make the kept/dropped pattern and the scale readable from out/x
    return {"x": rng.uniform(0.5, 1.5, size=p["x"])}


LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        id="dropout", title="Dropout", diff=("x",), generate=gen_dropout, stochastic=True,
        cases=(Case("default", {"x": (4, 5)}, {"train": True, "keep": 0.7}),
               Case("keep rate and scaling", {"x": (80, 100)}, {"train": True, "keep": 0.7},
                    role="statistics"),
               Case("test mode", {"x": (3, 4)}, {"train": False, "keep": 0.7}, role="state")),
        bindings={"cs231n": fn_binding("dropout", ("x",), ("x",),
                                        {"config": ["p", "mode", "seed"]}),
                  "dlfs": cls_binding("Dropout", ("x",), ("x",),
                                       init_config={"dropout_ratio": "dropout_ratio"},
                                       forward_config={"train_flg": "train_flg"})}),
)
