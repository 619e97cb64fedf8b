"""The layer catalogue, as data.

Each :class:`LayerSpec` says what a layer is (its differentiable arrays, how to draw kink-free
inputs, which configurations to try) and, per profile, a :class:`Binding`: the names to look
for and the *call plan* the untrusted runner interprets. Checks read these entries; adding a
layer or a convention means adding an entry here, not a branch in every check.

Array names are canonical (``x``, ``w``, ``b``, ``gamma``, ...); a binding's ``display`` maps
them to the profile's spelling (``W``, ``dW``) for messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Arrays = dict[str, np.ndarray]
Generator = Callable[[np.random.Generator, dict[str, Any]], Arrays]

PROFILES = ("cs231n", "dlfs")


@dataclass(frozen=True)
class Case:
    """One configuration of a layer.

    ``label`` is ``"default"`` for the base configuration. ``params`` feed the input
    generator (shapes, labels); ``config`` is the canonical layer configuration (stride,
    train/test, keep probability, ...) that a binding translates into its profile's arguments.
    ``role`` selects what is checked: ``"full"`` (forward + gradients), ``"state"`` (test
    mode: forward against the reference using given running statistics), ``"stability"``
    (large-magnitude inputs: finite results that match the reference), ``"statistics"``
    (stochastic forward: keep rate and scaling).
    """

    label: str
    params: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    role: str = "full"
    #: the profiles this case applies to (None: all)
    profiles: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Binding:
    """How one profile spells a layer: names, call plan, config translation."""

    profile: str
    names: tuple[str, ...]
    plan: dict[str, Any]
    display: dict[str, str] = field(default_factory=dict)
    config: Callable[[dict[str, Any]], dict[str, Any]] = lambda c: dict(c)
    #: minimum number of positional arguments each name must accept (signature check)
    arity: dict[str, int] = field(default_factory=dict)
    #: state arrays read back after forward, and how they are updated
    state: tuple[str, ...] = ()

    def show(self, name: str) -> str:
        """The profile's spelling of a canonical array name."""
        return self.display.get(name, name)

    def grad_name(self, name: str) -> str:
        return self.display.get("d" + name, "d" + name)


@dataclass(frozen=True)
class LayerSpec:
    id: str
    title: str
    diff: tuple[str, ...]
    generate: Generator
    cases: tuple[Case, ...]
    bindings: dict[str, Binding]
    loss: bool = False
    stochastic: bool = False
    #: gradient tolerance (relative to the scale of the projected gradient)
    grad_rtol: float = 1e-6
    #: forward tolerance (relative to the scale of the reference output)
    forward_rtol: float = 1e-7
    #: extra accepted forward values per profile: f(arrays, config) -> output
    alternatives: dict[str, Callable[[Arrays, dict[str, Any]], np.ndarray]] = field(
        default_factory=dict)
    #: per-profile overrides of grad_rtol / forward_rtol
    tolerances: dict[str, dict[str, float]] = field(default_factory=dict)
    #: the kind of checker for this entry: None (the standard per-layer checker) or a name in
    #: ``gradcheck.engine.CHECKERS`` (e.g. "network"); the catalogue imports nothing of the engine
    checker: Any = None

    def cases_for(self, profile: str) -> list[Case]:
        """The configuration battery of this layer in a profile."""
        return [c for c in self.cases if c.profiles is None or profile in c.profiles]

    def rtol(self, profile: str, which: str) -> float:
        default = self.grad_rtol if which == "grad" else self.forward_rtol
        return self.tolerances.get(profile, {}).get(which, default)


# ----------------------------------------------------------------------------- generators
# Inputs are drawn so that no finite-difference probe can cross a kink: ReLU inputs are at
# least KINK_MARGIN away from 0, pooling windows have a unique maximum by GRID_STEP, SVM
# margins are at least KINK_MARGIN away from their hinge. Probe steps are ~1e-5 (see _numeric).
KINK_MARGIN = 0.1
GRID_STEP = 0.05


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    mag = rng.uniform(KINK_MARGIN, 1.5, size=shape)
    return mag * rng.choice([-1.0, 1.0], size=shape)


def _distinct_grid(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values spaced GRID_STEP apart in random order: every window has a unique maximum."""
    n = int(np.prod(shape))
    vals = (np.arange(n) - n / 2) * GRID_STEP
    return rng.permutation(vals).reshape(shape).astype(np.float64)


def _labels(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return rng.integers(0, c, size=n).astype(np.int64)


def gen_pair(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    return {"x": rng.standard_normal(p["x"]), "y": rng.standard_normal(p["x"])}


def gen_affine(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    x = rng.standard_normal(p["x"])
    d = int(np.prod(p["x"][1:]))
    return {"x": x, "w": rng.standard_normal((d, p["M"])) / np.sqrt(d),
            "b": rng.standard_normal(p["M"])}


def gen_relu(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    return {"x": _away_from_zero(rng, p["x"])}


def gen_smooth(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    return {"x": rng.standard_normal(p["x"]) * p.get("scale", 1.0)}


def gen_signed_large(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    """Large-magnitude inputs for stability cases: both signs, |x| up to ``scale``."""
    x = rng.uniform(0.5, 1.0, size=p["x"]) * rng.choice([-1.0, 1.0], size=p["x"])
    return {"x": x * p["scale"]}


def gen_softmax(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    n, c = p["x"]
    if p.get("scale"):
        x = gen_signed_large(rng, p)["x"]
        y = _labels(rng, n, c)
    else:
        # keep every correct-class probability >= 0.1 so the book's log(p + 1e-7) differs
        # from the exact loss by less than 1e-6 (relative): see docs/checks.md
        while True:
            x = rng.standard_normal((n, c)) * 0.8
            y = _labels(rng, n, c)
            if _softmax(x)[np.arange(n), y].min() >= 0.1:
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
        y = _labels(rng, n, c)
        margins = x - x[np.arange(n), y][:, None] + 1.0
        margins[np.arange(n), y] = 1.0
        if np.abs(margins).min() >= KINK_MARGIN:
            return {"x": x, "y": y}


def gen_norm(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    n, d = p["x"]
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, size=d) + rng.uniform(-1, 1, size=d)
    out = {"x": x, "gamma": rng.uniform(0.5, 1.5, size=d) * rng.choice([-1.0, 1.0], size=d),
           "beta": rng.standard_normal(d)}
    if p.get("running"):
        out["running_mean"] = rng.standard_normal(d) * 0.5
        out["running_var"] = rng.uniform(0.5, 2.0, size=d)
    return out


def gen_dropout(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    # strictly positive inputs make the kept/dropped pattern and the scale readable from out/x
    return {"x": rng.uniform(0.5, 1.5, size=p["x"])}


def gen_conv(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    f, c, hh, ww = p["w"]
    return {"x": rng.standard_normal(p["x"]),
            "w": rng.standard_normal(p["w"]) / np.sqrt(c * hh * ww),
            "b": rng.standard_normal(f)}


def gen_pool(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    return {"x": _distinct_grid(rng, p["x"])}


def _softmax(s: np.ndarray) -> np.ndarray:
    z = np.exp(s - s.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


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
        if _softmax(hidden @ w2 + b2)[np.arange(n), y].min() >= 0.1:
            break
    if p.get("onehot"):
        y, y_prev = np.eye(c)[y], np.eye(c)[y_prev]
    return {"x": x, "y": y, "x_prev": x_prev, "y_prev": y_prev,
            "W1": w1, "b1": b1, "W2": w2, "b2": b2}


# ----------------------------------------------------------------------------- translations
def _mode_cs231n(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in c.items() if k not in ("train", "keep")}
    if "train" in c:
        out["mode"] = "train" if c["train"] else "test"
    if "keep" in c:
        out["p"] = c["keep"]
    return out


def _mode_dlfs(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in c.items() if k not in ("train", "keep", "eps")}
    if "train" in c:
        out["train_flg"] = bool(c["train"])
    if "keep" in c:
        out["dropout_ratio"] = 1.0 - c["keep"]
    return out


def _fn_binding(stem: str, args: tuple[str, ...], grads: tuple[str, ...],
                param: dict[str, Any] | None = None, *, forward: str | None = None,
                backward: str | None = None, state: tuple[str, ...] = (),
                config: Callable[[dict[str, Any]], dict[str, Any]] = _mode_cs231n) -> Binding:
    fwd = forward or f"{stem}_forward"
    bwd = backward or f"{stem}_backward"
    plan: dict[str, Any] = {"style": "functions", "forward": fwd, "backward": bwd,
                            "args": list(args), "grads": list(grads), "state": list(state)}
    if param is not None:
        plan["param"] = param
    return Binding("cs231n", (fwd, bwd), plan, config=config, state=state,
                   arity={fwd: len(args) + (param is not None), bwd: 2})


def _cls_binding(cls: str, forward_args: tuple[str, ...], backward_grads: tuple[str, ...],
                 *, init_args: tuple[str, ...] = (), init_config: dict[str, str] | None = None,
                 init_arrays: dict[str, str] | None = None,
                 forward_config: dict[str, str] | None = None,
                 attr_grads: dict[str, str] | None = None, state: tuple[str, ...] = (),
                 loss: bool = False, display: dict[str, str] | None = None) -> Binding:
    plan = {"style": "class", "class": cls, "init_args": list(init_args),
            "init_config": dict(init_config or {}), "init_arrays": dict(init_arrays or {}),
            "forward_args": list(forward_args), "forward_config": dict(forward_config or {}),
            "backward_grads": list(backward_grads), "attr_grads": dict(attr_grads or {}),
            "state": list(state), "loss": loss}
    return Binding("dlfs", (cls,), plan, display=dict(display or {}), config=_mode_dlfs,
                   state=state, arity={cls: len(init_args)})


_W_DISPLAY = {"w": "W", "dw": "dW"}


def _elementwise(id_: str, title: str, cls: str, gen: Generator,
                 extra_cases: tuple[Case, ...] = ()) -> LayerSpec:
    return LayerSpec(
        id=id_, title=title, diff=("x",), generate=gen,
        cases=(Case("default", {"x": (4, 5)}),
               Case("batch of 1", {"x": (1, 3)}),
               Case("3-d input", {"x": (2, 3, 4)})) + extra_cases,
        bindings={"cs231n": _fn_binding(id_, ("x",), ("x",)),
                  "dlfs": _cls_binding(cls, ("x",), ("x",))})


def _book_softmax_loss(arrays: Arrays, config: dict[str, Any]) -> np.ndarray:
    """The book's cross-entropy: -mean(log(p[t] + 1e-7)), accepted as a correct forward."""
    x, y = arrays["x"], arrays["y"]
    if y.ndim == 2:
        y = y.argmax(axis=1)
    z = x - x.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return np.asarray(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-7)))


_LARGE = 1000.0

LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        id="add", title="Add", diff=("x", "y"), generate=gen_pair,
        cases=(Case("default", {"x": (3, 4)}), Case("batch of 1", {"x": (1, 5)})),
        bindings={"dlfs": _cls_binding("AddLayer", ("x", "y"), ("x", "y"))}),
    LayerSpec(
        id="mul", title="Multiply", diff=("x", "y"), generate=gen_pair,
        cases=(Case("default", {"x": (3, 4)}), Case("batch of 1", {"x": (1, 5)})),
        bindings={"dlfs": _cls_binding("MulLayer", ("x", "y"), ("x", "y"))}),
    LayerSpec(
        id="affine", title="Affine", diff=("x", "w", "b"), generate=gen_affine,
        cases=(Case("default", {"x": (4, 5), "M": 3}),
               Case("N-d input (2, 3, 4)", {"x": (2, 3, 4), "M": 5}),
               Case("batch of 1", {"x": (1, 7), "M": 2})),
        bindings={"cs231n": _fn_binding("affine", ("x", "w", "b"), ("x", "w", "b")),
                  "dlfs": _cls_binding("Affine", ("x",), ("x",), init_args=("w", "b"),
                                       attr_grads={"w": "dW", "b": "db"},
                                       display=_W_DISPLAY)}),
    _elementwise("relu", "ReLU", "Relu", gen_relu),
    _elementwise("sigmoid", "Sigmoid", "Sigmoid", gen_smooth,
                 (Case("large inputs (|x| up to 1000)", {"x": (3, 4), "scale": _LARGE},
                       role="stability"),)),
    _elementwise("tanh", "Tanh", "Tanh", gen_smooth,
                 (Case("large inputs (|x| up to 1000)", {"x": (3, 4), "scale": _LARGE},
                       role="stability"),)),
    LayerSpec(
        id="softmax_loss", title="Softmax cross-entropy loss", diff=("x",),
        generate=gen_softmax, loss=True,
        cases=(Case("default", {"x": (5, 4)}),
               Case("batch of 1", {"x": (1, 3)}),
               Case("one-hot labels", {"x": (4, 3), "onehot": True}, profiles=("dlfs",)),
               Case("large logits (±1000)", {"x": (3, 4), "scale": _LARGE}, role="stability")),
        bindings={"cs231n": Binding("cs231n", ("softmax_loss",),
                                    {"style": "loss_function", "function": "softmax_loss",
                                     "args": ["x", "y"], "grads": ["x"]},
                                    arity={"softmax_loss": 2}),
                  "dlfs": _cls_binding("SoftmaxWithLoss", ("x", "y"), ("x",), loss=True,
                                       display={"y": "t"})},
        alternatives={"dlfs": _book_softmax_loss},
        tolerances={"dlfs": {"grad": 1e-5, "forward": 1e-5}}),
    LayerSpec(
        id="svm_loss", title="Multiclass SVM (hinge) loss", diff=("x",), generate=gen_svm,
        loss=True,
        cases=(Case("default", {"x": (5, 4)}),
               Case("batch of 1", {"x": (1, 3)}),
               Case("large logits (±1000)", {"x": (3, 4), "scale": _LARGE}, role="stability")),
        bindings={"cs231n": Binding("cs231n", ("svm_loss",),
                                    {"style": "loss_function", "function": "svm_loss",
                                     "args": ["x", "y"], "grads": ["x"]},
                                    arity={"svm_loss": 2})}),
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
        bindings={"cs231n": _fn_binding("batchnorm", ("x", "gamma", "beta"),
                                        ("x", "gamma", "beta"),
                                        {"config": ["mode", "eps", "momentum"],
                                         "arrays": ["running_mean", "running_var"]},
                                        state=("running_mean", "running_var")),
                  "dlfs": _cls_binding("BatchNormalization", ("x",), ("x",),
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
        bindings={"cs231n": _fn_binding("layernorm", ("x", "gamma", "beta"),
                                        ("x", "gamma", "beta"), {"config": ["eps"]})},
        forward_rtol=1e-4),
    LayerSpec(
        id="dropout", title="Dropout", diff=("x",), generate=gen_dropout, stochastic=True,
        cases=(Case("default", {"x": (4, 5)}, {"train": True, "keep": 0.7}),
               Case("keep rate and scaling", {"x": (80, 100)}, {"train": True, "keep": 0.7},
                    role="statistics"),
               Case("test mode", {"x": (3, 4)}, {"train": False, "keep": 0.7}, role="state")),
        bindings={"cs231n": _fn_binding("dropout", ("x",), ("x",),
                                        {"config": ["p", "mode", "seed"]}),
                  "dlfs": _cls_binding("Dropout", ("x",), ("x",),
                                       init_config={"dropout_ratio": "dropout_ratio"},
                                       forward_config={"train_flg": "train_flg"})}),
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
        bindings={"cs231n": _fn_binding("conv", ("x", "w", "b"), ("x", "w", "b"),
                                        {"config": ["stride", "pad"]},
                                        forward="conv_forward_naive",
                                        backward="conv_backward_naive"),
                  "dlfs": _cls_binding("Convolution", ("x",), ("x",), init_args=("w", "b"),
                                       init_config={"stride": "stride", "pad": "pad"},
                                       attr_grads={"w": "dW", "b": "db"},
                                       display=_W_DISPLAY)}),
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
        bindings={"cs231n": _fn_binding("maxpool", ("x",), ("x",),
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

BY_ID: dict[str, LayerSpec] = {spec.id: spec for spec in LAYERS}


#: argument names that only one profile uses (a tie-breaker for ``--profile auto``)
ARGUMENT_NAMES: dict[str, set[str]] = {
    "cs231n": {"input_dim", "hidden_dim", "num_classes", "weight_scale", "reg", "bn_param",
               "dropout_param", "conv_param", "pool_param"},
    "dlfs": {"input_size", "hidden_size", "output_size", "weight_init_std", "dropout_ratio",
             "pool_h", "pool_w", "train_flg"},
}


def layer_ids() -> list[str]:
    """Every catalogue id, in catalogue order."""
    return [spec.id for spec in LAYERS]


def names_for(profile: str) -> list[str]:
    """Every name a submission of this profile may define."""
    return [n for spec in LAYERS if profile in spec.bindings for n in spec.bindings[profile].names]
