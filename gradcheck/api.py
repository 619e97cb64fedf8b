"""The core API: check a submission (or one layer) and get a :class:`Report`.

Data flows one way: submission -> executor (loader + calls) -> checks -> report. Front ends
(CLI, pytest plugin, grader) call :func:`check_submission` and render the report.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
import traceback
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import catalogue as cat
from .engine import Settings, checker_for
from .engine import numeric as num
from .errors import SandboxError, UsageError
from .isolation import (
    DEFAULT_ISOLATION,
    CountingExecutor,
    Executor,
    InProcessExecutor,
    executor_for,
)
from .report import CheckResult, LayerReport, Report

ExecutorFactory = Callable[[str], Executor]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("gradcheck")
    except Exception:  # pragma: no cover - running from a source tree
        return "0+unknown"


_REFERENCE_CACHE: dict[str, list[Any]] = {}


def reference_modules(profile: str) -> list[Any]:
    """The imported modules of the reference implementation of a profile."""
    if profile not in _REFERENCE_CACHE:
        pkg = importlib.import_module(f"gradcheck.reference.{profile}")
        mods = [pkg]
        for info in pkgutil.iter_modules(pkg.__path__):
            mods.append(importlib.import_module(f"{pkg.__name__}.{info.name}"))
        _REFERENCE_CACHE[profile] = mods
    return _REFERENCE_CACHE[profile]


def reference_path(profile: str) -> str:
    """The folder of the reference implementation of a profile (itself a valid submission)."""
    pkg = importlib.import_module(f"gradcheck.reference.{profile}")
    return os.path.dirname(pkg.__file__ or "")


def _resolve_profile(requested: str, found: dict[str, Any]) -> str | None:
    if requested in cat.PROFILES:
        return requested
    if requested != "auto":
        raise UsageError(f"unknown profile {requested!r}: choose auto, "
                         f"{', '.join(cat.PROFILES)}")
    counts = _layers_found(found)
    best = max(cat.PROFILES, key=lambda p: counts[p])
    if list(counts.values()).count(counts[best]) > 1:
        # a tie (e.g. only TwoLayerNet, spelled alike in both): the catalogue's argument names
        # of what was found decide (input_dim: cs231n, input_size: dlfs)
        params = {p[0] for info in found.values() for p in (info.get("params") or [])}
        votes = {p: len(params & cat.ARGUMENT_NAMES[p]) for p in cat.PROFILES}
        best = max(cat.PROFILES, key=lambda p: (counts[p], votes[p]))
    return best if counts[best] else None


def _layers_found(found: dict[str, Any]) -> dict[str, int]:
    """How many catalogue layers (not names: cs231n spells a layer with two) each profile
    has in what was found."""
    return {p: sum(1 for spec in cat.LAYERS if p in spec.bindings
                   and any(n in found for n in spec.bindings[p].names)) for p in cat.PROFILES}


def _other_profile_note(chosen: str, found: dict[str, Any]) -> dict[str, Any] | None:
    """A warning when layers of the other profile were found too (and so not checked)."""
    for other in cat.PROFILES:
        if other == chosen:
            continue
        own = {n for spec in cat.LAYERS if chosen in spec.bindings
               for n in spec.bindings[chosen].names}
        names = [n for spec in cat.LAYERS if other in spec.bindings
                 for n in spec.bindings[other].names if n in found and n not in own]
        if names:
            return {"kind": "profile", "type": "OtherProfile", "severity": "warning",
                    "message": f"also found {other} layers ({', '.join(names)}), which were not "
                    f"checked: this run checked the {chosen} profile; run with --profile "
                    f"{other} to check those"}
    return None


def _check_layers_arg(layers: Iterable[str] | None) -> list[str] | None:
    if layers is None:
        return None
    wanted = list(layers)
    unknown = [x for x in wanted if x not in cat.BY_ID]
    if unknown:
        raise UsageError(f"unknown layer id(s) {', '.join(unknown)}: the catalogue has "
                         f"{', '.join(cat.layer_ids())}")
    return wanted


def check_submission(path: str | os.PathLike[str], *, profile: str = "auto", seed: int = 0,
                     layers: Iterable[str] | None = None, isolation: str = DEFAULT_ISOLATION,
                     directions: int = 3, limits: dict[str, Any] | None = None,
                     executor: Executor | None = None,
                     counterexample: bool | float = True) -> Report:
    """Check every catalogue layer found in a submission.

    Inputs:
    - path: a submission folder or a single ``.py`` file
    - profile: ``"auto"`` (pick the profile whose names are found), ``"cs231n"`` or ``"dlfs"``
    - seed: makes inputs, directions and random masks repeatable
    - layers: restrict to these catalogue ids (default: all)
    - isolation: ``"process"`` (sandboxed child process) or ``"none"`` (in-process; trusted)
    - directions: random probe directions per checked array
    - counterexample: search a minimal failing configuration for each failing layer (True:
      default time budget; a number: the budget in seconds per layer; False: off)
    Returns a Report. Raises UsageError for bad arguments (missing path, unknown ids).
    """
    t0 = time.perf_counter()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UsageError(f"no such file or folder: {path}")
    if os.path.isfile(path) and not path.endswith(".py"):
        raise UsageError(f"a submission is a folder or a .py file, not {path}")
    wanted = _check_layers_arg(layers)
    if profile not in ("auto",) + cat.PROFILES:
        raise UsageError(f"unknown profile {profile!r}: choose auto, {', '.join(cat.PROFILES)}")
    settings = Settings(seed=seed, directions=directions)
    inner = executor if executor is not None else executor_for(path, isolation, limits)
    student = CountingExecutor(inner)
    report = Report(submission=path, profile=None, settings={}, tool_version=_version())
    try:
        names = sorted({n for p in cat.PROFILES for n in cat.names_for(p)})
        loaded = student.load(names)
        # names that modules which failed to import would have defined
        unloaded = {n: e for e in loaded.errors for n in (e.get("defines") or [])
                    if n in names and n not in loaded.found}
        chosen = _resolve_profile(profile, {**unloaded, **loaded.found})
        report.profile = chosen
        report.errors = [_load_error(e, chosen, loaded.found) for e in loaded.errors]
        note = _other_profile_note(chosen, loaded.found) if chosen else None
        if note is not None:
            report.errors.append(note)
        if chosen is None:
            if not report.errors:
                report.errors.append({"kind": "load", "type": "NoLayersFound",
                                      "severity": "error",
                                      "message": "no layer of the catalogue was found "
                                      "(looked for: " + ", ".join(names) + ")"})
        else:
            report.layers = _check_profile(chosen, student, loaded.found, settings, wanted,
                                           counterexample, unloaded=unloaded)
    finally:
        report.output = student.output()
        student.close()
    report.settings = {**settings.to_dict(), "profile": profile, "resolved_profile":
                       report.profile, "isolation": isolation if executor is None else "custom",
                       "layers": wanted, "tolerances": tolerances(report.profile)}
    report.duration = time.perf_counter() - t0
    return report


def _load_error(err: dict[str, Any], profile: str | None, found: dict[str, Any]
                ) -> dict[str, Any]:
    """An import failure, with ``severity`` error when it hides catalogue layers."""
    hidden = [n for n in err.get("defines") or []
              if profile is not None and n in cat.names_for(profile) and n not in found]
    out = {k: v for k, v in err.items() if k != "defines"}
    out["kind"] = err.get("kind", "import")
    out["layers"] = hidden
    out["severity"] = "error" if hidden or not found else "warning"
    return out


def _not_loaded(spec: cat.LayerSpec, profile: str, unloaded: dict[str, Any]
                ) -> LayerReport | None:
    """A layer whose definition is in a module that failed to import is an error, not a skip."""
    names = spec.bindings[profile].names
    hit = [n for n in names if n in unloaded]
    if not hit:
        return None
    e = unloaded[hit[0]]
    where = f"{e.get('file')}" + (f", line {e.get('line')}" if e.get("line") else "")
    msg = (f"{', '.join(hit)} is defined in {e.get('file')}, which failed to import "
           f"({e.get('type')} at {where}: {e.get('message')}). Fix the import error first.")
    check = CheckResult(kind="signature", name="signature:import", status="error", message=msg)
    return LayerReport(layer=spec.id, status="error", message=msg, names=list(names),
                       module=e.get("module"), checks=[check], loaded=False)


def _check_profile(profile: str, student: Executor, found: dict[str, Any], settings: Settings,
                   wanted: list[str] | None, counterexample: bool | float = False,
                   unloaded: dict[str, Any] | None = None) -> list[LayerReport]:
    reference = InProcessExecutor(reference_path(profile), modules=reference_modules(profile))
    reference.load([])
    out = []
    for index, spec in enumerate(cat.LAYERS):
        if profile not in spec.bindings or (wanted is not None and spec.id not in wanted):
            continue
        if not any(n in found for n in spec.bindings[profile].names):
            failed = _not_loaded(spec, profile, unloaded or {})
            if failed is not None:
                out.append(failed)
                continue
        cls = checker_for(spec)
        checker = cls(spec, profile, student, reference, found, settings, index)
        try:
            out.append(checker.run())
        except SandboxError:
            raise  # the machinery itself failed: not a verdict on this layer
        except Exception as exc:  # noqa: BLE001 - a report must always be written
            out.append(_internal_error(spec, profile, exc))
            continue
        if counterexample and out[-1].status == "fail":
            from .engine.counterexample import DEFAULT_BUDGET, search_for  # noqa: PLC0415

            budget = DEFAULT_BUDGET if counterexample is True else float(counterexample)
            try:
                out[-1].counterexample = search_for(checker, out[-1], budget=budget)
            except SandboxError:
                raise
            except Exception:  # noqa: BLE001 - the verdict stands without a counterexample
                out[-1].counterexample = None
    return out


def _internal_error(spec: cat.LayerSpec, profile: str, exc: Exception) -> LayerReport:
    """A bug in gradcheck itself while checking a layer: an error that says so."""
    msg = (f"gradcheck could not finish checking this layer: an internal error "
           f"({type(exc).__name__}: {str(exc)[:300]}). This is not a verdict on your code; "
           f"please report it with the submission.")
    check = CheckResult(kind="signature", name="internal", status="error", message=msg,
                        details={"traceback": traceback.format_exc()[-4000:]})
    return LayerReport(layer=spec.id, status="error", message=msg,
                       names=list(spec.bindings[profile].names), checks=[check])


def tolerances(profile: str | None) -> dict[str, Any]:
    """The tolerances in force, per layer (recorded in the report's settings)."""
    per_layer = {}
    for spec in cat.LAYERS:
        if profile is None or profile in spec.bindings:
            p = profile or "cs231n"
            per_layer[spec.id] = {"gradient_rtol": spec.rtol(p, "grad"),
                                  "forward_rtol": spec.rtol(p, "forward")}
    return {"step": num.STEP, "rounding_factor": num.C_ROUND,
            "smoothness_limit": num.SMOOTH_LIMIT, "layers": per_layer}


def check_layer(forward: Any, backward: Any, inputs: Sequence[Any] | Mapping[str, Any], *,
                style: str = "cs231n", params: Mapping[str, str] | None = None, seed: int = 0,
                rtol: float | None = None, directions: int = 3, name: str | None = None
                ) -> LayerReport:
    """Check a layer of one's own with the engine that checks catalogue layers.

    Styles:
    - ``"cs231n"``: ``forward(*inputs) -> (out, cache)``, ``backward(dout, cache)`` -> the
      gradient of each float input, in order (one array when there is one)
    - ``"function"``: ``forward(*inputs) -> out``, ``backward(dout, *inputs)`` -> the same
    - ``"dlfs"``: ``forward`` is an object with ``.forward(*inputs)`` and ``.backward(dout)``
      (-> the gradients of the float inputs), ``backward`` is None, and ``params`` maps its
      parameter attributes to their gradient attributes (``{"W": "dW", "b": "db"}``)

    Inputs:
    - inputs: a sequence, or a dict name -> value (the names appear in the report). Float
      arrays of any shape (N, ...) are differentiated; other values (a ``conv_param`` dict,
      integer labels) are passed through unchanged, a fresh copy per call
    - seed: makes ``dout``, probe directions and NumPy's global random state repeatable
    - rtol: gradient tolerance relative to the scale of the projected gradient (1e-6)
    - directions: random probe directions per checked array
    - name: the layer's name in the report (default: the forward's or class's name)

    Returns a :class:`LayerReport` (``status``, ``checks`` with kind, message, input, error
    and tolerance). Runs in this process: for trusted code (your own layers).
    """
    from .engine.custom import custom_layer  # noqa: PLC0415 - only for check_layer

    if not isinstance(directions, int) or directions < 1:
        raise UsageError(f"directions must be a positive integer, not {directions!r}")
    if rtol is not None and not rtol > 0:
        raise UsageError(f"rtol must be positive, not {rtol!r}")
    spec, profile, module = custom_layer(forward, backward, inputs, style=style, params=params,
                                         rtol=rtol, name=name)
    settings = Settings(seed=seed, directions=directions)
    student = InProcessExecutor("<check_layer>", modules=[module])
    reference = InProcessExecutor("<check_layer>", modules=[module])
    loaded = student.load(list(spec.bindings[profile].names))
    reference.load(list(spec.bindings[profile].names))
    checker = checker_for(spec)(spec, profile, student, reference, loaded.found, settings, 0)
    try:
        return checker.run()
    finally:
        student.close()
        reference.close()


def assert_gradients(forward: Any, backward: Any, inputs: Sequence[Any] | Mapping[str, Any],
                     **kwargs: Any) -> LayerReport:
    """:func:`check_layer`, raising ``AssertionError`` when any check fails or errors.

    The message reads like numpy.testing's: the tolerances, for each failing gradient how
    many elements mismatch out of how many, the worst absolute and relative difference and
    where, both values there, and the likely cause. Returns the report when all pass.
    """
    report = check_layer(forward, backward, inputs, **kwargs)
    failing = [c for c in report.checks if c.status in ("fail", "error")]
    if failing:
        from .report.text import assertion_message  # noqa: PLC0415

        raise AssertionError(assertion_message(report, failing, kwargs))
    return report
