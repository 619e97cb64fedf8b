"""The catalogue's data model: :class:`Case`, :class:`Binding`, :class:`LayerSpec`, and the
helpers that build the bindings of the two profiles (config translation, call plans)."""

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
    #: whether a reference implementation exists (False for a user's own layer checked with
    #: ``check_layer``: forward values and parameter sharing are then not compared)
    reference: bool = True

    def cases_for(self, profile: str) -> list[Case]:
        """The configuration battery of this layer in a profile."""
        return [c for c in self.cases if c.profiles is None or profile in c.profiles]

    def rtol(self, profile: str, which: str) -> float:
        default = self.grad_rtol if which == "grad" else self.forward_rtol
        return self.tolerances.get(profile, {}).get(which, default)


# ----------------------------------------------------------------------------- binding helpers
def mode_cs231n(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in c.items() if k not in ("train", "keep")}
    if "train" in c:
        out["mode"] = "train" if c["train"] else "test"
    if "keep" in c:
        out["p"] = c["keep"]
    return out


def mode_dlfs(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in c.items() if k not in ("train", "keep", "eps")}
    if "train" in c:
        out["train_flg"] = bool(c["train"])
    if "keep" in c:
        out["dropout_ratio"] = 1.0 - c["keep"]
    return out


def fn_binding(stem: str, args: tuple[str, ...], grads: tuple[str, ...],
                param: dict[str, Any] | None = None, *, forward: str | None = None,
                backward: str | None = None, state: tuple[str, ...] = (),
                config: Callable[[dict[str, Any]], dict[str, Any]] = mode_cs231n) -> Binding:
    fwd = forward or f"{stem}_forward"
    bwd = backward or f"{stem}_backward"
    plan: dict[str, Any] = {"style": "functions", "forward": fwd, "backward": bwd,
                            "args": list(args), "grads": list(grads), "state": list(state)}
    if param is not None:
        plan["param"] = param
    return Binding("cs231n", (fwd, bwd), plan, config=config, state=state,
                   arity={fwd: len(args) + (param is not None), bwd: 2})


def cls_binding(cls: str, forward_args: tuple[str, ...], backward_grads: tuple[str, ...],
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
    return Binding("dlfs", (cls,), plan, display=dict(display or {}), config=mode_dlfs,
                   state=state, arity={cls: len(init_args)})


W_DISPLAY = {"w": "W", "dw": "dW"}
