"""Minimal counterexamples: search layer configurations and shapes, shrink a failure.

Hypothesis is the search-and-shrink engine, driven programmatically: a property "this
configuration passes every check" is run over strategies of shapes and settings per layer;
when it fails, Hypothesis shrinks the configuration to the smallest one that still fails.
Every candidate is evaluated with the real checks (a one-case :class:`LayerChecker`).

- Deterministic: Hypothesis is seeded from the run's seed (``@seed``), no example database is
  used and nothing is written to disk; the same submission and seed give the same result
  unless the wall-time budget cuts the search short.
- Cheap: only layers that already failed are searched, within ``budget`` seconds each.

The result is recorded in ``LayerReport.counterexample`` with a snippet a student can paste:
it builds the inputs literally and calls *their* functions (never the reference).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import time
from typing import Any, Callable, Iterator

import numpy as np

from ..catalogue import Case, LayerSpec

#: default wall-time budget per failing layer, seconds
DEFAULT_BUDGET = 5.0
#: default number of generated configurations (before shrinking)
DEFAULT_EXAMPLES = 40
#: check kinds a configuration search can explain
SEARCH_KINDS = ("gradient", "forward", "shape", "dtype")

_PARAM_NAMES = {"conv": "conv_param", "maxpool": "pool_param", "batchnorm": "bn_param",
                "layernorm": "ln_param", "dropout": "dropout_param"}


# ----------------------------------------------------------------------------- strategies
def _strategy(spec: LayerSpec, profile: str, base: Case) -> Any:
    """A Hypothesis strategy of (params, config) for one layer; None if not searchable.

    Integers shrink towards their minimum and booleans towards False, so the shrunk example
    is the plainest configuration that still fails (batch of 1, stride 1, no padding, square
    windows, class-index labels) unless the failure needs otherwise.
    """
    from hypothesis import strategies as st

    lid = spec.id
    base_cfg = dict(base.config)

    @st.composite
    def draw(d: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        i = lambda lo, hi: d(st.integers(lo, hi))  # noqa: E731
        if lid in ("relu", "sigmoid", "tanh", "add", "mul", "dropout"):
            rank = i(2, 3)
            shape = tuple([i(1, 4)] + [i(1, 5) for _ in range(rank - 1)])
            return {"x": shape}, base_cfg
        if lid == "affine":
            rank = i(2, 4)
            shape = tuple([i(1, 4)] + [i(1, 4) for _ in range(rank - 1)])
            return {"x": shape, "M": i(1, 4)}, {}
        if lid in ("softmax_loss", "svm_loss"):
            p: dict[str, Any] = {"x": (i(1, 5), i(2, 5))}
            if lid == "softmax_loss" and profile == "dlfs" and d(st.booleans()):
                p["onehot"] = True
            return p, {}
        if lid == "batchnorm":
            return ({"x": (i(2, 6), i(1, 4)), "running": True},
                    {"train": True, "momentum": 0.9, "eps": 1e-5})
        if lid == "layernorm":
            return {"x": (i(1, 4), i(2, 5))}, {"eps": 1e-5}
        if lid == "conv":
            n, c, f = i(1, 2), i(1, 2), i(1, 2)
            hh, ww = i(1, 3), i(1, 3)
            stride, pad = i(1, 3), i(0, 2)
            ho, wo = i(1, 3), i(1, 3)
            h = (ho - 1) * stride + hh - 2 * pad
            w = (wo - 1) * stride + ww - 2 * pad
            if h < 1 or w < 1:  # padding larger than the input allows: no padding
                pad = 0
                h, w = (ho - 1) * stride + hh, (wo - 1) * stride + ww
            return {"x": (n, c, h, w), "w": (f, c, hh, ww)}, {"stride": stride, "pad": pad}
        if lid == "maxpool":
            n, c = i(1, 2), i(1, 2)
            ph, pw, stride = i(1, 3), i(1, 3), i(1, 3)
            ho, wo = i(1, 3), i(1, 3)
            h, w = (ho - 1) * stride + ph, (wo - 1) * stride + pw
            return {"x": (n, c, h, w)}, {"pool_height": ph, "pool_width": pw, "stride": stride}
        raise LookupError(lid)

    if lid not in ("relu", "sigmoid", "tanh", "add", "mul", "dropout", "affine",
                   "softmax_loss", "svm_loss", "batchnorm", "layernorm", "conv", "maxpool"):
        return None
    return draw()


def _size(params: dict[str, Any], config: dict[str, Any]) -> tuple:
    """Sort key of a configuration: fewer input elements, then plainer settings."""
    elems = sum(int(np.prod(v)) for v in params.values() if isinstance(v, tuple))
    extras = sum(int(v) for v in config.values() if isinstance(v, (bool, int)))
    return (elems, extras + sum(1 for v in params.values() if v is True),
            sorted((k, str(v)) for k, v in {**params, **config}.items()))


def describe(layer: str, params: dict[str, Any], config: dict[str, Any]) -> str:
    """A sentence: what the smallest failing configuration is."""
    x = "x".join(str(v) for v in params.get("x", ()))
    if layer == "maxpool":
        ph, pw, s = config["pool_height"], config["pool_width"], config["stride"]
        notes = []
        if s < max(ph, pw):
            notes.append("overlapping windows")
        if ph != pw:
            notes.append("non-square window")
        extra = f" ({', '.join(notes)})" if notes else ""
        return f"fails for a {ph}x{pw} pool window with stride {s}{extra} on a {x} input"
    if layer == "conv":
        f, c, hh, ww = params["w"]
        return (f"fails for {f} filter(s) of {hh}x{ww} with stride {config['stride']} and "
                f"padding {config['pad']} on a {x} input")
    labels = " with one-hot labels" if params.get("onehot") else ""
    extra = f" and M={params['M']} outputs" if "M" in params else ""
    return f"fails on a {x} input{extra}{labels}"


# ----------------------------------------------------------------------------- search
def search(spec: LayerSpec, profile: str, student: Any, reference: Any, found: dict[str, Any],
           settings: Any, index: int, report: Any, *, budget: float = DEFAULT_BUDGET,
           max_examples: int = DEFAULT_EXAMPLES) -> dict[str, Any] | None:
    """The smallest failing configuration of a failing layer, or None.

    ``report`` is the layer's LayerReport (only searched when its status is "fail" and a
    forward/gradient/shape/dtype check failed in a full-role configuration).
    """
    from .checker import LayerChecker

    full = {c.label for c in spec.cases_for(profile) if c.role == "full"}
    kinds = {c.kind for c in report.checks
             if c.status in ("fail", "error") and c.kind in SEARCH_KINDS and c.config in full}
    if report.status != "fail" or not kinds or spec.checker is not None:
        return None
    base = next((c for c in spec.cases_for(profile) if c.role == "full"), None)
    strategy = _strategy(spec, profile, base) if base is not None else None
    if strategy is None:
        return None
    from hypothesis import HealthCheck, Phase, Verbosity, given
    from hypothesis import seed as hseed
    from hypothesis import settings as hsettings

    t0 = time.perf_counter()
    best: dict[str, Any] = {}
    evaluated = [0]

    def evaluate(params: dict[str, Any], config: dict[str, Any]) -> Any:
        case = Case("counterexample", params, config)
        spec2 = dataclasses.replace(spec, cases=(case,))
        checker = LayerChecker(spec2, profile, student, reference, found, settings, index)
        try:
            lr = checker.run()
        except Exception:  # the reference rejects this configuration: not a counterexample
            return None
        evaluated[0] += 1
        bad = [c for c in lr.checks if c.status in ("fail", "error") and c.kind in kinds]
        return bad[0] if bad else None

    def record(params: dict[str, Any], config: dict[str, Any], check: Any) -> None:
        key = _size(params, config)
        if not best or key < best["key"]:
            best.update(key=key, params=params, config=config, check=check)

    @hseed(int(settings.seed))
    @hsettings(database=None, derandomize=False, max_examples=max_examples, deadline=None,
               phases=[Phase.generate, Phase.shrink], verbosity=Verbosity.quiet,
               suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
               print_blob=False)
    @given(strategy)
    def passes(pc: tuple[dict[str, Any], dict[str, Any]]) -> None:
        if time.perf_counter() - t0 > budget:
            return  # out of time: stop exploring (the best failure so far is kept)
        params, config = pc
        check = evaluate(params, config)
        if check is not None:
            record(params, config, check)
            raise _Fails()

    try:
        with _no_disk():
            passes()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - _Fails, or Flaky when the budget ran out
        pass
    if not best:
        return None
    params, config, check = best["params"], best["config"], best["check"]
    out = {
        "layer": spec.id, "profile": profile, "seed": int(settings.seed),
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
        "config": dict(config),
        "description": describe(spec.id, params, config),
        "check": {"kind": check.kind, "name": check.name, "status": check.status,
                  "message": check.message},
        "evaluated": evaluated[0],
        "duration": round(time.perf_counter() - t0, 3),
        "budget": budget,
    }
    try:
        out["snippet"] = snippet(spec, profile, found, settings, index, reference, params,
                                 config)
    except Exception as exc:  # pragma: no cover - a snippet is a courtesy
        out["snippet"] = f"# could not build a snippet: {exc}"
    return out


@contextlib.contextmanager
def _no_disk() -> Iterator[None]:
    """Run Hypothesis without touching the disk and independently of loaded modules.

    Hypothesis caches literals of "local" modules (which would include the submission) in
    ``.hypothesis/constants`` and mixes them into generation. Both would make the search
    depend on the environment and write into the student's folder: the storage directory
    points to a temporary folder for the duration of the search (then removed), and the
    local-constants pool is empty.
    """
    from hypothesis import configuration

    attr = "__hypothesis_home_directory"
    old = getattr(configuration, attr, None)
    tmp = tempfile.mkdtemp(prefix="gradcheck-hypothesis-")
    patched = None
    try:
        from hypothesis.internal.conjecture import providers

        if hasattr(providers, "_get_local_constants") and hasattr(providers, "Constants"):
            patched = providers._get_local_constants
            providers._get_local_constants = lambda: providers.Constants()
    except ImportError:  # pragma: no cover - other Hypothesis versions
        providers = None
    configuration.set_hypothesis_home_dir(tmp)
    try:
        yield
    finally:
        setattr(configuration, attr, old)
        if patched is not None:
            providers._get_local_constants = patched
        shutil.rmtree(tmp, ignore_errors=True)


class _Fails(Exception):
    """Raised inside the Hypothesis property when a configuration fails a check."""


# ----------------------------------------------------------------------------- snippet
def _lit(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return f"np.array({a.tolist()!r})"
    return f"np.array({np.round(a, 6).tolist()!r})"


def snippet(spec: LayerSpec, profile: str, found: dict[str, Any], settings: Any, index: int,
            reference: Any, params: dict[str, Any], config: dict[str, Any]) -> str:
    """Python a student can paste next to their code: the failing inputs, a call of THEIR
    functions and a central-difference comparison (no reference code)."""
    from .checker import LayerChecker

    case = Case("counterexample", params, config)
    spec2 = dataclasses.replace(spec, cases=(case,))
    chk = LayerChecker(spec2, profile, reference, reference, found, settings, index)
    arrays = spec.generate(chk._rng(0), params)
    b = spec.bindings[profile]
    cfg = b.config(config)
    seed = chk._call_seed(0)
    plan = b.plan
    module = next((found[n]["module"] for n in b.names if n in found), "layers")
    arrays = {k: np.round(v, 6) if v.dtype.kind == "f" else v for k, v in arrays.items()}
    dout = None
    if not spec.loss:
        ref = reference.call(chk.job(cfg, seed, False), arrays)
        dout = np.round(chk._rng(0, 1).standard_normal(ref.arrays["out"].shape), 6)
    lines = ["import numpy as np", f"from {module} import {', '.join(b.names)}", "",
             f"# gradcheck counterexample (seed {settings.seed}): "
             f"{describe(spec.id, params, config)}"]
    for k, v in arrays.items():
        lines.append(f"{b.show(k)} = {_lit(v)}")
    if dout is not None:
        lines.append(f"dout = {_lit(dout)}")
    seed_line = f"np.random.seed({seed % 2**32})" if spec.stochastic else None
    grads: list[tuple[str, str]] = []  # (array name, expression of the student's gradient)
    if plan["style"] == "functions":
        pname = _PARAM_NAMES.get(spec.id, "param")
        pspec = plan.get("param")
        args = [b.show(a) for a in plan["args"]]
        if pspec:
            pd = {k: cfg[k] for k in pspec.get("config", []) if k in cfg}
            lines.append(f"{pname} = {pd!r}")
            for k in pspec.get("arrays", []):
                if k in arrays:
                    lines.append(f"{pname}[{k!r}] = {b.show(k)}.copy()")
            call = f"{plan['forward']}({', '.join(args)}, fresh({pname}))"
            lines += ["", "def fresh(d):  # a copy, so that running statistics do not drift",
                      "    return {k: v.copy() if isinstance(v, np.ndarray) else v "
                      "for k, v in d.items()}"]
        else:
            call = f"{plan['forward']}({', '.join(args)})"
        lines.append("")
        if seed_line:
            lines.append(seed_line)
        lines.append(f"out, cache = {call}")
        names = [f"d{g}" for g in plan["grads"]]
        lines.append(f"{', '.join(names)} = {plan['backward']}(dout, cache)")
        grads = [(g, f"d{g}") for g in plan["grads"]]
        lines += ["", "def L():", *(["    " + seed_line] if seed_line else []),
                  f"    return np.sum({call}[0] * dout)"]
    elif plan["style"] == "loss_function":
        args = ", ".join(b.show(a) for a in plan["args"])
        lines += ["", f"loss, dx = {plan['function']}({args})", "",
                  "def L():", f"    return {plan['function']}({args})[0]"]
        grads = [("x", "dx")]
    else:
        cls = plan["class"]
        init = [b.show(a) for a in plan.get("init_args", [])]
        init += [f"{kw}={cfg[key]!r}" for kw, key in plan.get("init_config", {}).items()
                 if key in cfg]
        init += [f"{kw}={b.show(key)}.copy()" for kw, key in plan.get("init_arrays", {}).items()
                 if key in arrays]
        fwd = [b.show(a) for a in plan["forward_args"]]
        fwd += [f"{kw}={cfg[key]!r}" for kw, key in plan.get("forward_config", {}).items()
                if key in cfg]
        make, fcall = f"{cls}({', '.join(init)})", f"forward({', '.join(fwd)})"
        lines += ["", "layer = " + make]
        if seed_line:
            lines.append(seed_line)
        lines.append(f"out = layer.{fcall}")
        bg = plan.get("backward_grads", [])
        lhs = ", ".join(f"d{b.show(g)}" for g in bg)
        lines.append(f"{lhs} = layer.backward("
                     f"{'1' if plan.get('loss') else 'dout'})")
        grads = [(g, f"d{b.show(g)}") for g in bg]
        grads += [(g, f"layer.{attr}") for g, attr in plan.get("attr_grads", {}).items()]
        body = f"layer2.{fcall}" if plan.get("loss") else f"np.sum(layer2.{fcall} * dout)"
        lines += ["", "def L():", f"    layer2 = {make}",
                  *(["    " + seed_line] if seed_line else []), f"    return {body}"]
    lines += ["", "def numerical_gradient(f, a, h=1e-6):",
              "    g = np.zeros_like(a)",
              "    for i in np.ndindex(a.shape):",
              "        old = a[i]",
              "        a[i] = old + h; fp = f()",
              "        a[i] = old - h; fm = f()",
              "        a[i] = old",
              "        g[i] = (fp - fm) / (2 * h)",
              "    return g", ""]
    for g, expr in grads:
        if g in arrays and arrays[g].dtype.kind == "f":
            lines.append(f"print({('d' + b.show(g))!r}, 'max |analytic - numerical| =', "
                         f"np.max(np.abs({expr} - numerical_gradient(L, {b.show(g)}))))")
    return "\n".join(lines) + "\n"


def search_for(checker: Any, report: Any, **kw: Any) -> dict[str, Any] | None:
    """Search from a LayerChecker's own context (what _core calls after ``run()``)."""
    return search(checker.spec, checker.profile, checker.student, checker.reference,
                  checker.found, checker.settings, checker.index, report, **kw)


SearchFn = Callable[..., "dict[str, Any] | None"]
