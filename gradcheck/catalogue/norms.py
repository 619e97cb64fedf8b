"""Normalisation layers: batchnorm and layernorm (cs231n)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import Arrays, Case, LayerSpec, cls_binding, fn_binding

def gen_norm(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    n, d = p["x"]
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, size=d) + rng.uniform(-1, 1, size=d)
    out = {"x": x, "gamma": rng.uniform(0.5, 1.5, size=d) * rng.choice([-1.0, 1.0], size=d),
           "beta": rng.standard_normal(d)}
    if p.get("running"):
        out["running_mean"] = rng.standard_normal(d) * 0.5
        out["running_var"] = rng.uniform(0.5, 2.0, size=d)
    return out


LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        id="batchnorm", title="Batch normalisation", diff=("x", "gamma", "beta"),
        generate=gen_norm,
        cases=(Case("default", {"x": (6, 4), "running": True},
                    {"train": True, "momentum": 0.9, "eps": 1e-5}),
               Case("batch of 2, momentum 0.7", {"x": (2, 3), "running": True},
                    {"train": True, "momentum": 0.7, "eps": 1e-5}),
               Case("test mode (running statistics)", {"x": (5, 3), "running": True},
                    {"train": False, "momentum": 0.9, "eps": 1e-5}, role="state"),
               # the defaults: no momentum, no running statistics given (they start at zero)
               Case("defaults (momentum and running statistics not given)", {"x": (4, 3)},
                    {"train": True}),
               # eps is a parameter, not a constant: a large one shows where it is ignored
               Case("eps = 0.5", {"x": (5, 4), "running": True},
                    {"train": True, "momentum": 0.9, "eps": 0.5}, profiles=("cs231n",))),
        bindings={"cs231n": fn_binding("batchnorm", ("x", "gamma", "beta"),
                                        ("x", "gamma", "beta"),
                                        {"config": ["mode", "eps", "momentum"],
                                         "arrays": ["running_mean", "running_var"]},
                                        state=("running_mean", "running_var")),
                  "dlfs": cls_binding("BatchNormalization", ("x",), ("x",),
                                       init_args=("gamma", "beta"),
                                       init_config={"momentum": "momentum"},
                                       init_arrays={"running_mean": "running_mean",
                                                    "running_var": "running_var"},
                                       forward_config={"train_flg": "train_flg"},
                                       attr_grads={"gamma": "dgamma", "beta": "dbeta"},
                                       state=("running_mean", "running_var"))},
        # eps differs by profile and textbooks write it differently (1e-5, 1e-6, 1e-7, 1e-8):
        # inputs have per-feature variance >= 0.25, so any eps <= 1e-5 moves outputs < 2e-5.
        forward_rtol=1e-4),
    LayerSpec(
        id="layernorm", title="Layer normalisation", diff=("x", "gamma", "beta"),
        generate=gen_norm,
        cases=(Case("default", {"x": (4, 5)}, {"eps": 1e-5}),
               Case("batch of 1", {"x": (1, 6)}, {"eps": 1e-5}),
               Case("eps = 0.5", {"x": (3, 4)}, {"eps": 0.5})),
        bindings={"cs231n": fn_binding("layernorm", ("x", "gamma", "beta"),
                                        ("x", "gamma", "beta"), {"config": ["eps"]})},
        forward_rtol=1e-4),
)
