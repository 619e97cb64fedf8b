"""Whole networks: two_layer_net (checked by the engine's "network" checker)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .inputs import KINK_MARGIN, softmax
from .model import Binding, Case, LayerSpec

def gen_two_layer_net(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, np.ndarray]:
    """Data and explicit parameters on which the net is smooth for any probe.

    Every hidden pre-activation ``x @ W1 + b1`` is at least KINK_MARGIN away from 0 (each hidden
    unit is redrawn until it is) and active on at least one example; every correct-class
    probability is at least 0.1 (so the book's ``log(p + 1e-7)`` changes the loss and its
    gradient by less than 1e-6, relative). ``x_prev``/``y_prev`` are a second batch, used for
    a call before the checked one (stale gradients).
    """
    n, h, c = int(p["N"]), int(p["H"]), int(p["C"])
    in_shape = tuple(p["x"]) if "x" in p else (int(p["D"]),)
    d = int(np.prod(in_shape))
    x = rng.standard_normal((n,) + in_shape)
    y = rng.integers(0, c, size=n).astype(np.int64)
    x_prev = rng.standard_normal((n,) + in_shape)
    y_prev = rng.integers(0, c, size=n).astype(np.int64)
    xf = x.reshape(n, d)
    w1, b1 = np.empty((d, h)), np.empty(h)
    for j in range(h):
        while True:
            w, b = rng.standard_normal(d) / np.sqrt(d), rng.normal(0.0, 0.5)
            a = xf @ w + b
            if np.abs(a).min() >= KINK_MARGIN and (a > 0).any():
                break
        w1[:, j], b1[j] = w, b
    hidden = np.maximum(xf @ w1 + b1, 0.0)
    while True:
        w2 = rng.standard_normal((h, c)) * 0.5 / np.sqrt(h)
        b2 = rng.standard_normal(c) * 0.1
        if softmax(hidden @ w2 + b2)[np.arange(n), y].min() >= 0.1:
            break
    if p.get("onehot"):
        y, y_prev = np.eye(c)[y], np.eye(c)[y_prev]
    return {"x": x, "y": y, "x_prev": x_prev, "y_prev": y_prev,
            "W1": w1, "b1": b1, "W2": w2, "b2": b2}


LAYERS: tuple[LayerSpec, ...] = (
    # The two-layer net: checked by its own checker (init, symmetry, whole-net gradients,
    # shared parameters); the generator lives there too (kink-free hidden pre-activations).
    LayerSpec(
        id="two_layer_net", title="Two-layer network (affine - relu - affine - softmax)",
        diff=("W1", "b1", "W2", "b2"),
        generate=gen_two_layer_net,
        cases=(Case("initialisation", {"D": 40, "H": 30, "C": 20, "seeds": 4},
                    {"scale": 0.05}, role="init"),
               Case("parameters shared with the layers", {"N": 6, "D": 5, "H": 7, "C": 4},
                    role="state", profiles=("dlfs",)),
               Case("default", {"N": 6, "D": 5, "H": 7, "C": 4}, {"reg": 0.0}),
               Case("reg = 0.7", {"N": 6, "D": 5, "H": 7, "C": 4}, {"reg": 0.7},
                    profiles=("cs231n",)),
               Case("image-shaped input (N, 2, 3)", {"N": 4, "x": (2, 3), "H": 6, "C": 3},
                    {"reg": 0.3}, profiles=("cs231n",)),
               Case("one-hot labels", {"N": 5, "D": 4, "H": 6, "C": 3, "onehot": True},
                    profiles=("dlfs",)),
               Case("symmetric initialisation", {"N": 6, "D": 5, "H": 7, "C": 4},
                    {"reg": 0.0}, role="symmetry")),
        bindings={
            "cs231n": Binding(
                "cs231n", ("TwoLayerNet",),
                {"style": "model", "class": "TwoLayerNet", "init_args": ["D", "H", "C"],
                 "init_config": {"weight_scale": "scale", "reg": "reg"},
                 "params": ["W1", "b1", "W2", "b2"], "set_params": "assign",
                 "ops": {"scores": [{"call": "loss", "args": ["x"], "put": "out"}],
                         "loss": [{"call": "loss", "args": ["x", "y"],
                                   "put": ["out", "grads"]}],
                         "loss_warm": [{"call": "loss", "args": ["x_prev", "y_prev"]},
                                       {"call": "loss", "args": ["x", "y"],
                                        "put": ["out", "grads"]}]}},
                display={"scale": "weight_scale", "grads": "grads", "D": "input_dim",
                         "H": "hidden_dim", "C": "num_classes"},
                arity={"TwoLayerNet": 3}),
            "dlfs": Binding(
                "dlfs", ("TwoLayerNet",),
                {"style": "model", "class": "TwoLayerNet", "init_args": ["D", "H", "C"],
                 "init_config": {"weight_init_std": "scale"},
                 "params": ["W1", "b1", "W2", "b2"], "set_params": "inplace",
                 "ops": {"scores": [{"call": "predict", "args": ["x"], "put": "out"}],
                         "loss": [{"call": "loss", "args": ["x", "y"], "put": "out"},
                                  {"call": "gradient", "args": ["x", "y"], "put": "grads",
                                   "backward": True}],
                         "loss_warm": [{"call": "gradient", "args": ["x_prev", "y_prev"]},
                                       {"call": "loss", "args": ["x", "y"], "put": "out"},
                                       {"call": "gradient", "args": ["x", "y"],
                                        "put": "grads", "backward": True}]}},
                display={"scale": "weight_init_std", "grads": "grads", "D": "input_size",
                         "H": "hidden_size", "C": "output_size", "y": "t"},
                arity={"TwoLayerNet": 3})},
        # dlfs: the book's log(p + 1e-7) moves the loss and its gradient by ~1e-7 / p
        # (p >= 0.1 by construction), see _netchecks.gen_two_layer_net
        tolerances={"dlfs": {"grad": 1e-5, "forward": 1e-5}},
        checker="network"),
)
