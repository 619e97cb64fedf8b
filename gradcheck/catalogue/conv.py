"""Convolution and max pooling."""

from __future__ import annotations

from typing import Any

import numpy as np

from .inputs import distinct_grid
from .model import W_DISPLAY, Arrays, Binding, Case, LayerSpec, cls_binding, fn_binding

def gen_conv(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    f, c, hh, ww = p["w"]
    return {"x": rng.standard_normal(p["x"]),
            "w": rng.standard_normal(p["w"]) / np.sqrt(c * hh * ww),
            "b": rng.standard_normal(f)}


def gen_pool(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    return {"x": distinct_grid(rng, p["x"])}


LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        id="conv", title="Convolution", diff=("x", "w", "b"), generate=gen_conv,
        cases=(Case("default", {"x": (2, 3, 5, 7), "w": (4, 3, 3, 2)}, {"stride": 1, "pad": 0}),
               Case("stride 2, pad 1", {"x": (2, 3, 7, 5), "w": (4, 3, 3, 3)},
                    {"stride": 2, "pad": 1}),
               Case("stride 3, pad 2, batch of 1", {"x": (1, 2, 8, 7), "w": (3, 2, 3, 2)},
                    {"stride": 3, "pad": 2}),
               Case("stride 1, pad 1, non-square kernel", {"x": (3, 2, 4, 5), "w": (5, 2, 2, 3)},
                    {"stride": 1, "pad": 1}),
               Case("stride 2, pad 0", {"x": (2, 1, 7, 9), "w": (2, 1, 3, 3)},
                    {"stride": 2, "pad": 0})),
        bindings={"cs231n": fn_binding("conv", ("x", "w", "b"), ("x", "w", "b"),
                                        {"config": ["stride", "pad"]},
                                        forward="conv_forward_naive",
                                        backward="conv_backward_naive"),
                  "dlfs": cls_binding("Convolution", ("x",), ("x",), init_args=("w", "b"),
                                       init_config={"stride": "stride", "pad": "pad"},
                                       attr_grads={"w": "dW", "b": "db"},
                                       display=W_DISPLAY)}),
    LayerSpec(
        id="maxpool", title="Max pooling", diff=("x",), generate=gen_pool,
        cases=(Case("default", {"x": (2, 3, 6, 8)},
                    {"pool_height": 2, "pool_width": 2, "stride": 2}),
               Case("overlapping 3x2 windows, stride 1", {"x": (2, 3, 5, 6)},
                    {"pool_height": 3, "pool_width": 2, "stride": 1}),
               Case("non-square 2x3 windows, stride 3, batch of 1", {"x": (1, 2, 5, 9)},
                    {"pool_height": 2, "pool_width": 3, "stride": 3}),
               Case("overlapping 3x3 windows, stride 2", {"x": (2, 2, 7, 9)},
                    {"pool_height": 3, "pool_width": 3, "stride": 2})),
        bindings={"cs231n": fn_binding("maxpool", ("x",), ("x",),
                                        {"config": ["pool_height", "pool_width", "stride"]},
                                        forward="max_pool_forward_naive",
                                        backward="max_pool_backward_naive"),
                  "dlfs": Binding(
                      "dlfs", ("Pooling",),
                      {"style": "class", "class": "Pooling", "init_args": [],
                       "init_config": {"pool_h": "pool_height", "pool_w": "pool_width",
                                       "stride": "stride", "pad": "pad"},
                       "init_arrays": {}, "forward_args": ["x"], "forward_config": {},
                       "backward_grads": ["x"], "attr_grads": {}, "state": [], "loss": False},
                      config=lambda c: {**c, "pad": 0})}),
)
