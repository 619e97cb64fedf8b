"""The checks of one layer: signature, shape, dtype, forward, gradient, state, purity,
stability, determinism.

A :class:`LayerChecker` drives one catalogue entry through its configuration battery. It talks
to submitted code only through an executor (arrays in, arrays out) and compares with the
reference layers run through the same call plans. All numbers and verdicts are computed here,
on the trusted side.

This module holds the per-layer context (spec, profile, executors, settings, the results list,
``add``, ``job``, rng/seed and student-call helpers) and the driver (``run``, ``run_case``).
The checks themselves live in one module per kind (``signature``, ``forward``, ``state``,
``purity``, ``gradient``, ``stability``) as functions taking this context first; they are
bound here as methods so that the driver and subclasses (``NetChecker``) reach them by name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..catalogue import Binding, Case, LayerSpec
from ..isolation.protocol import CallResult, Executor
from ..report import CheckResult, LayerReport
from . import diagnose as _diagnose
from . import forward, gradient, purity, signature, stability, state
from ._common import (  # noqa: F401  (re-exported)
    FLOAT64, _AbortLayer, _fmt, _shape, _Stop, _where, worst_details, worst_sentence)


@dataclass(frozen=True)
class Settings:
    """Knobs of a run (recorded in the report's ``settings``)."""

    seed: int = 0
    directions: int = 3
    grad_rtol_scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "directions": self.directions,
                "grad_rtol_scale": self.grad_rtol_scale}


class LayerChecker:
    """Runs every check of one layer in one profile."""

    def __init__(self, spec: LayerSpec, profile: str, student: Executor, reference: Executor,
                 found: dict[str, Any], settings: Settings, index: int = 0) -> None:
        self.spec = spec
        self.profile = profile
        self.b: Binding = spec.bindings[profile]
        self.student = student
        self.reference = reference
        self.found = found
        self.settings = settings
        self.index = index
        self.checks: list[CheckResult] = []
        self.calls = 0
        self._current: Case | None = None

    def add(self, kind: str, name: str, status: str, message: str, case: Case | None = None,
            **kw: Any) -> CheckResult:
        c = CheckResult(kind=kind, name=name, status=status, message=message,
                        config=case.label if case is not None else "default", **kw)
        self.checks.append(c)
        return c

    def _rng(self, case_index: int, salt: int = 0) -> np.random.Generator:
        ss = np.random.SeedSequence([self.settings.seed, self.index, case_index, salt])
        return np.random.default_rng(ss)

    def _call_seed(self, case_index: int) -> int:
        ss = np.random.SeedSequence([self.settings.seed, self.index, case_index, 7])
        return int(ss.generate_state(1)[0])

    def job(self, config: dict[str, Any], seed: int, backward: bool | int,
            options: dict[str, Any] | None = None) -> dict[str, Any]:
        job = {"plan": self.b.plan, "config": config, "seed": seed, "backward": backward}
        if options:
            job["options"] = options
        return job

    def _student(self, job: dict[str, Any], arrays: dict[str, np.ndarray]) -> CallResult:
        self.calls += 1
        return self._fatal_check(self.student.call(job, arrays))

    def _student_many(self, jobs: list[tuple[dict[str, Any], dict[str, np.ndarray]]]
                      ) -> list[CallResult]:
        self.calls += len(jobs)
        results = self.student.call_many(jobs)
        for r in results:
            self._fatal_check(r)
        return results

    @staticmethod
    def _fatal_check(res: CallResult) -> CallResult:
        """A fatal error (timeout, crash, memory, exit) ends the whole layer."""
        if res.error and res.error.get("fatal"):
            raise _AbortLayer(res.error)
        return res

    def run(self) -> LayerReport:
        t0 = time.perf_counter()
        names = [n for n in self.b.names if n in self.found]
        module = self.found[names[0]]["module"] if names else None
        if not names:
            return LayerReport(layer=self.spec.id, status="skip",
                               message=f"not implemented ({', '.join(self.b.names)} not found)",
                               names=list(self.b.names))
        callable_ = self.check_signature()
        if callable_:
            try:
                for i, case in enumerate(self.spec.cases_for(self.profile)):
                    try:
                        self.run_case(i, case)
                    except _Stop:
                        continue
            except _AbortLayer as abort:
                err = abort.error
                kind = "gradient" if err.get("phase") == "backward" else "forward"
                self.add(kind, f"{kind}:call", "error",
                         err.get("message") or _where(err), self._current,
                         details={"type": err.get("type"), "where": err.get("where"),
                                  "traceback": err.get("traceback", "")})
        status = LayerReport.status_of(self.checks)
        failing = [c for c in self.checks if c.status in ("fail", "error")]
        layer_hints = _diagnose.layer_hints(self.spec.id, self.profile, self.checks,
                                            self.spec.cases_for(self.profile))
        message = (f"{len(failing)} check(s) failed" if failing else "all checks passed")
        if layer_hints:
            message += ". " + " ".join(h["message"] for h in layer_hints)
        return LayerReport(layer=self.spec.id, status=status, message=message,
                           names=list(self.b.names), module=module, checks=self.checks,
                           duration=time.perf_counter() - t0, calls=self.calls,
                           hints=layer_hints)

    def run_case(self, i: int, case: Case) -> None:
        self._current = case
        rng = self._rng(i)
        arrays = self.spec.generate(rng, case.params)
        config = self.b.config(case.config)
        seed = self._call_seed(i)
        if "seed" in (self.b.plan.get("param") or {}).get("config", []):
            # a parameter dict that may carry a seed (cs231n dropout) gets one, as the
            # assignment's own checks do: code that reseeds from it stays repeatable
            config.setdefault("seed", seed % (2**31))
        # the reference first: the output's shape decides dout
        ref_fwd = self.reference.call(self.job(config, seed, False), arrays)
        if ref_fwd.error or "out" not in ref_fwd.arrays:
            raise RuntimeError(f"reference {self.spec.id} failed on {case.label}: {ref_fwd.error}")
        ref_out = ref_fwd.arrays["out"]
        dout = None
        call_arrays = dict(arrays)
        if not self.spec.loss:
            dout = self._rng(i, 1).standard_normal(ref_out.shape)
            call_arrays["dout"] = dout
        backward: bool | int = case.role in ("full", "stability")
        ref = self.reference.call(self.job(config, seed, backward), call_arrays)
        if i == 0 and case.role == "full":
            backward = 2  # also run backward a second time on the same cache (purity)
            if dout is not None:
                call_arrays = dict(call_arrays, dout2=dout.copy())
        options = None
        if case.role == "statistics":
            # forward a second time on the same object / a fresh param dict, the random state
            # advanced: a fresh mask must be drawn (a cs231n seed key changes with it)
            options = {"repeat_forward": ({"seed": (config["seed"] + 1) % (2**31)}
                                          if "seed" in config else {})}
        res = self._student(self.job(config, seed, backward, options), call_arrays)
        call_arrays.pop("dout2", None)
        if res.error:
            phase = res.error.get("phase")
            kind = "gradient" if phase == "backward" else "forward"
            if case.role == "stability":
                kind = "stability"
            self.add(kind, f"{kind}:call", "error", _where(res.error), case,
                     details={"traceback": res.error.get("traceback", "")})
            raise _Stop
        if not self.check_output(case, res, ref_out):
            raise _Stop
        if case.role == "statistics":
            self.check_statistics(case, arrays, res, config, seed)
            return
        if case.role == "stability":
            self.check_stability(case, arrays, config, res, ref, dout)
            return
        if self.spec.reference and (not self.spec.stochastic or case.role == "state"):
            self.check_forward(case, arrays, config, res, ref)
        if self.b.state:
            self.check_state(case, arrays, res, ref)
        self.check_purity(case, call_arrays, res)
        if case.role != "full":
            return
        grads_ok = self.check_grad_shapes(case, arrays, res)
        for name in self.spec.diff:
            if name in grads_ok:
                self.check_gradient(i, case, arrays, config, seed, dout, name,
                                    res.arrays["grad." + name])
        if i == 0:
            if not self.spec.loss and grads_ok:
                self.check_linearity(case, config, seed, call_arrays, res, grads_ok)
            self.check_determinism(case, config, seed, call_arrays, res)
            if (self.b.plan["style"] == "class" and self.b.plan.get("init_args")
                    and self.spec.reference):
                self.check_shared_params(i, case, config, seed, arrays)

    # ------------------------------------------------ the per-kind checks (one module each)
    check_signature = signature.check_signature
    _keywords = signature._keywords
    _arity_problems = staticmethod(signature._arity_problems)
    _value_problem = forward._value_problem
    _shape_message = staticmethod(forward._shape_message)
    check_output = forward.check_output
    _out = forward._out
    check_forward = forward.check_forward
    _mismatch_examples = staticmethod(forward._mismatch_examples)
    check_state = state.check_state
    _running_var_hint = staticmethod(state._running_var_hint)
    check_shared_params = state.check_shared_params
    _mask_problems = state._mask_problems
    check_statistics = state.check_statistics
    check_purity = purity.check_purity
    check_grad_shapes = gradient.check_grad_shapes
    _objective = gradient._objective
    check_gradient = gradient.check_gradient
    _count_wrong = staticmethod(gradient._count_wrong)
    check_linearity = gradient.check_linearity
    check_stability = stability.check_stability
    check_determinism = stability.check_determinism
