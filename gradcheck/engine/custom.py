"""A layer of one's own, as a one-case catalogue entry: what ``check_layer`` runs.

``custom_layer`` turns a forward/backward pair (or a dlfs-style object) plus example inputs
into a :class:`LayerSpec` with one configuration (the given inputs) and a module holding
adapters with the call plan of the cs231n (functions) or dlfs (class) profile, so that the
same checker, tolerance model, localisation and hints run on it. Only float arrays are
differentiated; every other input (a ``conv_param`` dict, integer labels) is passed through
unchanged, in its place. There is no reference: forward values are not compared, every
other check (signature, shapes and dtypes, gradients, linearity in ``dout``, determinism,
purity) runs as for a catalogue layer.
"""

from __future__ import annotations

import copy
import types
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..catalogue import Binding, Case, LayerSpec
from ..errors import UsageError

STYLES = ("cs231n", "function", "dlfs")


def _is_float_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size > 0


def _named(inputs: Sequence[Any] | Mapping[str, Any]) -> list[tuple[str, Any]]:
    if isinstance(inputs, Mapping):
        named = [(str(k), v) for k, v in inputs.items()]
    elif isinstance(inputs, (list, tuple)):
        named = [(f"x{i}" if len(inputs) > 1 else "x", v) for i, v in enumerate(inputs)]
    else:
        raise UsageError("inputs must be a sequence or a dict name -> value, "
                         f"not {type(inputs).__name__}")
    for name, _ in named:
        if not name.isidentifier():
            raise UsageError(f"input name {name!r} is not an identifier")
    return named


def _name_of(obj: Any, default: str) -> str:
    name = getattr(obj, "__name__", None) or type(obj).__name__
    return name if isinstance(name, str) and name.isidentifier() else default


def custom_layer(forward: Any, backward: Any, inputs: Sequence[Any] | Mapping[str, Any], *,
                 style: str = "cs231n", params: Mapping[str, str] | None = None,
                 rtol: float | None = None, name: str | None = None
                 ) -> tuple[LayerSpec, str, types.ModuleType]:
    """The catalogue entry, profile and adapter module of a user's layer.

    Inputs:
    - forward, backward: see :func:`gradcheck.check_layer` for each ``style``
    - inputs: a sequence of values or a dict name -> value; float arrays are checked
    - params (dlfs): parameter attribute -> gradient attribute, e.g. ``{"W": "dW"}``
    Returns ``(spec, profile, module)``.
    """
    if style not in STYLES:
        raise UsageError(f"unknown style {style!r}: choose one of {', '.join(STYLES)}")
    named = _named(inputs)
    floats = [n for n, v in named if _is_float_array(v)]
    values = dict(named)
    template = [(n, v) for n, v in named]

    def rebuild(arrays: tuple[Any, ...]) -> list[Any]:
        """The call's arguments: the plan's arrays where the float inputs were, a fresh copy
        of every other value (a layer may write into its param dict)."""
        given = dict(zip(floats, arrays))
        return [given[n] if n in given else copy.deepcopy(v) for n, v in template]

    module = types.ModuleType("gradcheck_user_layer")
    if style in ("cs231n", "function"):
        if not callable(forward) or not callable(backward):
            raise UsageError(f"style={style!r} needs two callables: forward and backward")
        if not floats:
            raise UsageError("no float array among the inputs: nothing to differentiate")
        fname = name or _name_of(forward, "forward")
        bname = _name_of(backward, "backward")
        if bname == fname:
            bname = fname + "_backward"

        if style == "cs231n":
            def fwd(*arrays: Any) -> Any:
                return forward(*rebuild(arrays))

            def bwd(dout: Any, cache: Any) -> Any:
                return backward(dout, cache)
        else:
            def fwd(*arrays: Any) -> Any:
                args = rebuild(arrays)
                return forward(*args), args

            def bwd(dout: Any, cache: Any) -> Any:
                return backward(dout, *cache)

        setattr(module, fname, fwd)
        setattr(module, bname, bwd)
        plan = {"style": "functions", "forward": fname, "backward": bname,
                "args": floats, "grads": floats, "state": []}
        binding = Binding("cs231n", (fname, bname), plan, arity={fname: 0, bname: 2})
        profile, diff = "cs231n", tuple(floats)
    else:
        obj = forward
        if backward is not None:
            raise UsageError("style='dlfs': pass the layer object as forward and None as "
                             "backward")
        if not (callable(getattr(obj, "forward", None))
                and callable(getattr(obj, "backward", None))):
            raise UsageError("style='dlfs': the layer object needs .forward and .backward")
        params = dict(params or {})
        for p in params:
            if not _is_float_array(getattr(obj, p, None)):
                raise UsageError(f"params: {type(obj).__name__}.{p} is not a float array")
        clash = set(params) & set(values)
        if clash:
            raise UsageError(f"params and inputs share the name(s) {', '.join(sorted(clash))}")
        if not floats and not params:
            raise UsageError("no float array among the inputs or params: nothing to check")
        cls_name = name or type(obj).__name__
        pnames = list(params)

        class Adapter:
            """A fresh copy of the user's object per call, its parameters set from the plan."""

            def __init__(self, *param_arrays: Any) -> None:
                inner = copy.deepcopy(obj)
                for p, arr in zip(pnames, param_arrays):
                    setattr(inner, p, arr)
                object.__setattr__(self, "_inner", inner)

            def forward(self, *arrays: Any) -> Any:
                return self._inner.forward(*rebuild(arrays))

            def backward(self, dout: Any) -> Any:
                return self._inner.backward(dout)

            def __getattr__(self, attr: str) -> Any:
                return getattr(object.__getattribute__(self, "_inner"), attr)

            def __setattr__(self, attr: str, value: Any) -> None:
                setattr(self._inner, attr, value)

        Adapter.__name__ = Adapter.__qualname__ = cls_name
        setattr(module, cls_name, Adapter)
        for p in pnames:
            values[p] = getattr(obj, p)
        plan = {"style": "class", "class": cls_name, "init_args": pnames, "init_config": {},
                "init_arrays": {}, "forward_args": floats, "forward_config": {},
                "backward_grads": floats, "attr_grads": dict(params), "state": [],
                "loss": False}
        display = {"d" + p: g for p, g in params.items()}
        binding = Binding("dlfs", (cls_name,), plan, display=display, arity={})
        profile, diff = "dlfs", tuple(floats) + tuple(pnames)
        fname = cls_name

    checked = {n: np.array(values[n], dtype=np.float64, copy=True) for n in diff}

    def generate(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, np.ndarray]:
        return {n: a.copy() for n, a in checked.items()}

    spec = LayerSpec(id=name or fname, title=name or fname, diff=diff, generate=generate,
                     cases=(Case("default", {}),), bindings={profile: binding},
                     grad_rtol=1e-6 if rtol is None else float(rtol), reference=False)
    return spec, profile, module


def callable_name(f: Callable[..., Any] | Any) -> str:
    """A readable name of a user's callable or object (for messages)."""
    return _name_of(f, type(f).__name__)
