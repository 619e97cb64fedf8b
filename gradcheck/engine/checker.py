"""The checks of one layer: signature, shape, dtype, forward, gradient, state, purity,
stability, determinism.

A :class:`LayerChecker` drives one catalogue entry through its configuration battery. It talks
to submitted code only through an executor (arrays in, arrays out) and compares with the
reference layers run through the same call plans. All numbers and verdicts are computed here,
on the trusted side.
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
from .numeric import Localisation, compare_arrays, directional_check, localise

FLOAT64 = np.dtype(np.float64)


@dataclass(frozen=True)
class Settings:
    """Knobs of a run (recorded in the report's ``settings``)."""

    seed: int = 0
    directions: int = 3
    grad_rtol_scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "directions": self.directions,
                "grad_rtol_scale": self.grad_rtol_scale}


def _fmt(x: float) -> str:
    return f"{x:.3g}" if np.isfinite(x) else str(x)


def worst_details(loc: Localisation, k: int = 5) -> list[dict[str, Any]]:
    """The report's record of the worst elements of a localised gradient."""
    return [{"index": list(e.index), "analytic": e.analytic, "numeric": e.numeric}
            for e in loc.worst(k)]


def worst_sentence(name: str, loc: Localisation, k: int = 3) -> str:
    """' Worst: dW[1, 0] = 0.5, numerical 1; ...' (empty when nothing was localised)."""
    worst = loc.worst(k)
    if not worst:
        return ""
    return " Worst: " + "; ".join(
        f"{name}[{', '.join(map(str, e.index))}] = {_fmt(e.analytic)}, numerical "
        f"{_fmt(e.numeric)}" for e in worst) + "."


def _shape(t: Any) -> str:
    return "(" + ", ".join(str(int(s)) for s in t) + ("," if len(t) == 1 else "") + ")"


def _where(err: dict[str, Any]) -> str:
    tb = err.get("traceback") or ""
    last = tb.strip().splitlines()[-1] if tb.strip() else ""
    loc = f" at {last.split(' in ')[0]}" if last else ""
    msg = err.get("message") or ""
    return f"{err.get('where', '?')} raised {err.get('type', 'an error')}{loc}: {msg}".rstrip(": ")


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

    # ------------------------------------------------------------------ helpers
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

    # ---------------------------------------------------------------- signature
    def check_signature(self) -> bool:
        """Names present, of the right kind, accepting the catalogue's arguments.

        Returns False when the layer cannot be called at all (the rest is then skipped).
        """
        missing = [n for n in self.b.names if n not in self.found]
        if len(missing) == len(self.b.names):
            return False
        if missing:
            have = [n for n in self.b.names if n in self.found]
            self.add("signature", "signature", "fail",
                     f"{', '.join(missing)} not found, although {', '.join(have)} was "
                     f"(in {self.found[have[0]]['module']}): implement "
                     f"{'it' if len(missing) == 1 else 'them'} with exactly this name.")
            return True
        problems: list[str] = []
        blocking = False
        want_class = self.b.plan["style"] == "class"
        for name in self.b.names:
            info = self.found[name]
            if want_class and info["kind"] != "class":
                problems.append(f"{name} should be a class (dlfs profile), found a {info['kind']}")
                blocking = True
                continue
            if not want_class and info["kind"] != "function":
                problems.append(f"{name} should be a function (cs231n profile), found a "
                                f"{info['kind']}")
                blocking = True
                continue
            problems += self._arity_problems(name, info["params"], self.b.arity.get(name, 0),
                                             self._keywords(name))
            if want_class:
                for meth in ("forward", "backward"):
                    if meth not in (info.get("methods") or {}):
                        problems.append(f"{name} has no {meth}() method")
                        blocking = True
                fwd = (info.get("methods") or {}).get("forward")
                if fwd is not None:
                    problems += self._arity_problems(
                        f"{name}.forward", fwd, len(self.b.plan["forward_args"]),
                        list(self.b.plan.get("forward_config", {})))
                bwd = (info.get("methods") or {}).get("backward")
                if bwd is not None and not self.b.plan.get("loss"):
                    problems += self._arity_problems(f"{name}.backward", bwd, 1, [])
        if problems:
            self.add("signature", "signature", "fail",
                     "; ".join(problems) + ". See the catalogue for the expected signature.")
        else:
            self.add("signature", "signature", "pass",
                     f"{', '.join(self.b.names)} found with the expected signature.")
        for name in self.b.names:
            others = self.found[name].get("also_in") or []
            if others:
                self.add("signature", f"signature:duplicate:{name}", "warn",
                         f"{name} is defined differently in {', '.join(others)} as well; the "
                         f"one in module {self.found[name]['module']} was checked (modules "
                         f"are searched in alphabetical order). Remove or rename the other "
                         f"so that the code you mean is the code that is graded.")
        return not blocking

    def _keywords(self, name: str) -> list[str]:
        if self.b.plan["style"] == "class" and name == self.b.plan["class"]:
            return list(self.b.plan.get("init_config", {})) + list(
                self.b.plan.get("init_arrays", {}))
        return []

    @staticmethod
    def _arity_problems(name: str, params: list[list[Any]] | None, n_positional: int,
                        keywords: list[str]) -> list[str]:
        if params is None:
            return []
        positional = [p for p in params if p[1] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
        varargs = any(p[1] == "VAR_POSITIONAL" for p in params)
        varkw = any(p[1] == "VAR_KEYWORD" for p in params)
        required = [p for p in positional if not p[2] and p[0] not in keywords]
        out = []
        if len(required) > n_positional:
            out.append(f"{name} requires {len(required)} positional arguments "
                       f"({', '.join(p[0] for p in required)}) but is called with {n_positional}")
        elif len(positional) < n_positional and not varargs:
            out.append(f"{name} accepts {len(positional)} positional arguments but is called "
                       f"with {n_positional}")
        names = {p[0] for p in params if p[1] != "POSITIONAL_ONLY"}
        for kw in keywords:
            if kw not in names and not varkw:
                out.append(f"{name} does not accept the keyword argument {kw!r}")
        return out

    # ---------------------------------------------------------------- the battery
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
        if not self.spec.stochastic or case.role == "state":
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
            if self.b.plan["style"] == "class" and self.b.plan.get("init_args"):
                self.check_shared_params(i, case, config, seed, arrays)

    # ------------------------------------------------------------ output checks
    def _value_problem(self, res: CallResult, key: str, what: str, expected_shape: tuple,
                       scalar_ok: bool = False) -> tuple[str, str] | None:
        """(kind, message) if a returned value is not a float64 array of the expected shape."""
        desc = res.value(key)
        arr = res.arrays.get(key)
        if arr is None:
            t = desc.get("type", "missing")
            if t.startswith("ndarray"):
                return ("dtype", f"{what} is an array of dtype {desc.get('dtype')} with shape "
                        f"{desc.get('shape')}; expected a plain float64 numpy array of shape "
                        f"{_shape(expected_shape)}")
            return ("shape", f"{what} is {t if t != 'NoneType' else 'None'}; expected a float64 "
                    f"numpy array of shape {_shape(expected_shape)}"
                    + (" (did you forget a return statement?)" if t == "NoneType" else ""))
        shape = tuple(arr.shape)
        if scalar_ok and arr.size == 1:
            shape = ()
        if shape != tuple(expected_shape):
            return ("shape", self._shape_message(what, shape, tuple(expected_shape)))
        if arr.dtype != FLOAT64:
            return ("dtype", f"{what} has dtype {arr.dtype}, expected float64 (all arrays stay "
                    f"float64: look for an astype, np.float32 or an integer array)")
        return None

    @staticmethod
    def _shape_message(what: str, got: tuple, want: tuple) -> str:
        return _diagnose.shape_message(what, got, want)

    def check_output(self, case: Case, res: CallResult, ref_out: np.ndarray) -> bool:
        problem = self._value_problem(res, "out", "the forward output",
                                      ref_out.shape, scalar_ok=self.spec.loss)
        if problem:
            self.add(problem[0], f"{problem[0]}:out", "fail", problem[1] + ".", case)
            return False
        if case.label == "default":
            self.add("shape", "shape:out", "pass",
                     f"forward output has shape {_shape(ref_out.shape)} and dtype float64.", case)
        return True

    def _out(self, res: CallResult) -> np.ndarray:
        out = res.arrays["out"]
        return out.reshape(()) if self.spec.loss else out

    def check_forward(self, case: Case, arrays: dict[str, np.ndarray], config: dict[str, Any],
                      res: CallResult, ref: CallResult) -> None:
        kind = "state" if case.role == "state" else "forward"
        out, want = self._out(res), ref.arrays["out"].reshape(self._out(res).shape)
        rtol = self.spec.rtol(self.profile, "forward")
        ok, rel, bad = compare_arrays(out, want, rtol)
        alt = self.spec.alternatives.get(self.profile)
        if not ok and alt is not None:
            alt_want = np.asarray(alt(arrays, config)).reshape(out.shape)
            ok2, rel2, bad2 = compare_arrays(out, alt_want, rtol)
            if ok2:
                ok, rel, bad = ok2, rel2, bad2
        name = f"{kind}:out"
        if ok:
            self.add(kind, name, "pass", f"forward output matches the reference "
                     f"(relative error {_fmt(rel)}).", case, error=rel, tolerance=rtol)
            return
        what = "in test mode " if case.role == "state" else ""
        msg = (f"forward output {what}differs from the reference in {int(bad.sum())} of "
               f"{bad.size} elements (max relative error {_fmt(rel)}, tolerance {_fmt(rtol)}).")
        msg += self._mismatch_examples(out, want, bad)
        if not np.all(np.isfinite(out)):
            msg += " The output contains NaN or inf."
        if case.role == "state":
            msg += (" In test mode the layer must use its running statistics / the test-time "
                    "rule of its profile, not the batch.")
        hints = _diagnose.forward_hints(_diagnose.ForwardContext(
            layer=self.spec.id, profile=self.profile, case=case, arrays=arrays, config=config,
            out=out, expected=want))
        if hints:
            msg += " Likely cause: " + hints[0]["message"]
        self.add(kind, name, "fail", msg, case, error=rel, tolerance=rtol,
                 details={"mismatched": int(bad.sum()), "total": int(bad.size), "hints": hints})

    @staticmethod
    def _mismatch_examples(actual: np.ndarray, expected: np.ndarray, bad: np.ndarray,
                           k: int = 3) -> str:
        if actual.ndim == 0:
            return f" Got {_fmt(float(actual))}, expected {_fmt(float(expected))}."
        idx = np.argwhere(bad)[:k]
        parts = [f"out[{', '.join(str(int(j)) for j in ix)}] = {_fmt(float(actual[tuple(ix)]))} "
                 f"(expected {_fmt(float(expected[tuple(ix)]))})" for ix in idx]
        return " For example " + "; ".join(parts) + "."

    def check_state(self, case: Case, arrays: dict[str, np.ndarray], res: CallResult,
                    ref: CallResult) -> None:
        for key in self.b.state:
            k = "state." + key
            want = ref.arrays.get(k)
            if want is None:
                continue
            got = res.arrays.get(k)
            train = case.role == "full"
            where = ("in bn_param" if self.b.plan["style"] == "functions"
                     else "on the layer object")
            if got is None or got.shape != want.shape:
                desc = res.value(k)
                self.add("state", f"state:{key}", "fail",
                         f"{key} {where} after a {'training' if train else 'test'}-mode forward "
                         f"is {desc.get('type', 'missing')}"
                         f"{' of shape ' + str(desc.get('shape')) if 'shape' in desc else ''}; "
                         f"expected an array of shape {_shape(want.shape)}.", case)
                continue
            ok, rel, bad = compare_arrays(got, want, 1e-6)
            if ok:
                self.add("state", f"state:{key}", "pass", f"{key} updated correctly.", case,
                         error=rel, tolerance=1e-6)
                continue
            given = arrays.get(key)
            if train:
                hint = ("expected running = momentum * running + (1 - momentum) * batch "
                        "statistic (biased variance for the batch)")
                if given is not None and np.allclose(got, given):
                    hint = "it was not updated at all: " + hint
                elif key == "running_var":
                    hint = self._running_var_hint(arrays, case, got) or hint
            else:
                hint = "test mode must not change the running statistics"
            self.add("state", f"state:{key}", "fail",
                     f"{key} {where} is wrong after a {'training' if train else 'test'}-mode "
                     f"forward (max relative error {_fmt(rel)}): {hint}.", case,
                     error=rel, tolerance=1e-6)

    @staticmethod
    def _running_var_hint(arrays: dict[str, np.ndarray], case: Case,
                          got: np.ndarray) -> str | None:
        """Recognise a running variance updated with the standard deviation."""
        x, prev = arrays.get("x"), arrays.get("running_var")
        if x is None or x.ndim != 2 or prev is None:
            return None
        m = float(case.config.get("momentum", 0.9))
        var = x.var(axis=0)
        for std in (np.sqrt(var), np.sqrt(var + float(case.config.get("eps", 1e-5)))):
            if np.allclose(got, m * prev + (1 - m) * std, rtol=1e-6):
                return ("it was updated with the batch standard deviation; the running "
                        "variance averages the batch VARIANCE (no square root)")
        return None

    def check_purity(self, case: Case, sent: dict[str, np.ndarray], res: CallResult) -> None:
        changed = []
        for name, arr in sent.items():
            if name in self.b.state:
                continue  # running statistics are state: updating them in place is the point
            after = res.arrays.get("after." + name)
            if after is None or after.shape != arr.shape or not np.array_equal(
                    after, arr, equal_nan=True):
                changed.append(name)
        inputs = [n for n in changed if n not in ("dout", "dout2")]
        out, out_after = res.arrays.get("out"), res.arrays.get("out.after")
        if out is not None and out_after is not None and not np.array_equal(
                out, out_after, equal_nan=True):
            self.add("purity", "purity:output", "fail",
                     "backward modifies the output array that forward returned (e.g. an "
                     "in-place operation on a cached array that is the returned output). That "
                     "array is the next layer's input and may be cached there: compute new "
                     "arrays in backward instead of modifying the cache.", case)
            return
        again = [n for n in self.spec.diff if "grad.again." + n in res.arrays
                 and "grad." + n in res.arrays
                 and not np.array_equal(res.arrays["grad.again." + n], res.arrays["grad." + n],
                                        equal_nan=True)]
        stored = [n for n in again if n in self.b.plan.get("attr_grads", {})]
        if stored:
            first, second = res.arrays["grad." + stored[0]], res.arrays["grad.again." + stored[0]]
            ratio = _diagnose.constant_ratio(second.ravel(), first.ravel())
            how = (f" (the second is {ratio:.3g} times the first: it accumulates with +=)"
                   if ratio is not None and abs(ratio - 2) < 1e-6 else "")
            shown = ", ".join(self.b.grad_name(n) for n in stored)
            self.add("state", "state:parameter-gradients", "fail",
                     f"{shown} changes when backward is called again after the same "
                     f"forward{how}. Each backward must assign a fresh gradient "
                     f"(self.dW = ...), not add to the previous one: an optimiser reads "
                     f"{shown} after every backward.", case)
            again = [n for n in again if n not in stored]
        if again:
            shown = ", ".join(self.b.grad_name(n) for n in again)
            self.add("purity", "purity:cache", "warn",
                     f"a second backward pass on the same forward gives a different {shown}: "
                     "backward modifies what forward cached (e.g. dx = self.y; dx[...] -= 1 "
                     "without a copy). One pass is right, but code that calls backward twice "
                     "(a gradient check, a second loss) gets wrong gradients.", case)
        if inputs:
            shown = ", ".join(self.b.show(n) for n in inputs)
            self.add("purity", "purity:inputs", "fail",
                     f"the layer modifies its input{'s' if len(inputs) > 1 else ''} {shown} in "
                     f"place. The caller's arrays (data, parameters, or the previous layer's "
                     f"cached activations) get corrupted: work on a copy "
                     f"(e.g. out = x.copy() or np.maximum(x, 0)).", case)
        elif "dout" in changed:
            self.add("purity", "purity:dout", "warn",
                     "backward writes into dout in place. Harmless in a plain sequential "
                     "network (the book's ReLU does it), but it corrupts the upstream gradient "
                     "if anything else reads it; prefer dx = dout * mask.", case)
        elif case.label == "default":
            self.add("purity", "purity", "pass", "inputs are not modified.", case)

    def check_grad_shapes(self, case: Case, arrays: dict[str, np.ndarray],
                          res: CallResult) -> list[str]:
        ok = []
        for name in self.spec.diff:
            gname = self.b.grad_name(name)
            problem = self._value_problem(res, "grad." + name, gname, arrays[name].shape)
            if problem:
                self.add(problem[0], f"{problem[0]}:{gname}", "fail",
                         problem[1] + f" ({gname} must have the shape of {self.b.show(name)}).",
                         case, input=gname)
            else:
                ok.append(name)
        if case.label == "default" and len(ok) == len(self.spec.diff):
            self.add("shape", "shape:gradients", "pass",
                     "every gradient has its input's shape and dtype float64.", case)
        return ok

    # ---------------------------------------------------------------- gradients
    def _objective(self, config: dict[str, Any], seed: int, arrays: dict[str, np.ndarray],
                   dout: np.ndarray | None, name: str):
        def objective(points):
            jobs = []
            for p in points:
                a = dict(arrays)
                a[name] = p
                jobs.append((self.job(config, seed, False), a))
            values = []
            for r in self._student_many(jobs):
                out = r.arrays.get("out")
                if r.error or out is None:
                    values.append(None)
                    continue
                out = np.asarray(out, dtype=np.float64)
                if self.spec.loss:
                    terms = out.reshape(-1)[:1]
                else:
                    if out.shape != dout.shape:
                        values.append(None)
                        continue
                    terms = dout * out
                if not np.all(np.isfinite(terms)):
                    values.append(None)
                    continue
                values.append((float(np.sum(terms)), float(np.sum(np.abs(terms)))))
            return values
        return objective

    def check_gradient(self, i: int, case: Case, arrays: dict[str, np.ndarray],
                       config: dict[str, Any], seed: int, dout: np.ndarray | None, name: str,
                       analytic: np.ndarray) -> None:
        gname = self.b.grad_name(name)
        rng = self._rng(i, 100 + self.spec.diff.index(name))
        rtol = self.spec.rtol(self.profile, "grad") * self.settings.grad_rtol_scale
        objective = self._objective(config, seed, arrays, dout, name)
        t0 = time.perf_counter()
        if not np.all(np.isfinite(analytic)):
            bad = int(np.sum(~np.isfinite(analytic)))
            self.add("gradient", f"gradient:{gname}", "fail",
                     f"{gname} contains {bad} NaN/inf values.", case, input=gname)
            return
        result = directional_check(objective, arrays[name], analytic, rng,
                                   directions=self.settings.directions, rtol=rtol)
        details: dict[str, Any] = result.details(self.settings.seed)
        if not result.probes:
            self.add("gradient", f"gradient:{gname}", "error",
                     f"could not evaluate the numerical derivative of the forward pass with "
                     f"respect to {self.b.show(name)}: the forward failed, returned non-finite "
                     f"values, or was not smooth at any probe ({result.failed_calls} failed, "
                     f"{result.redraws} non-smooth).", case, input=gname, details=details)
            return
        rel, reltol = result.relative_error, result.relative_tolerance
        if result.passed:
            details["duration"] = time.perf_counter() - t0
            self.add("gradient", f"gradient:{gname}", "pass",
                     f"{gname} agrees with the numerical gradient along {len(result.probes)} "
                     f"random directions (relative error {_fmt(rel)}, tolerance {_fmt(reltol)}).",
                     case, input=gname, error=rel, tolerance=reltol, details=details)
            return
        loc = localise(objective, arrays[name], analytic, rng)
        details["calls"] += loc.calls
        details["duration"] = time.perf_counter() - t0
        details["worst"] = worst_details(loc)
        details["elements_checked"] = len(loc.elements)
        details["elements_total"] = loc.total
        details["elements_wrong"] = self._count_wrong(loc)
        numeric = loc.numeric_array(arrays[name].shape)
        if numeric is not None:
            details["numeric_gradient"] = numeric.tolist()
            details["analytic_gradient"] = analytic.tolist()
        hints = _diagnose.gradient_hints(_diagnose.GradientContext(
            layer=self.spec.id, profile=self.profile, name=name, display=gname, case=case,
            theta=arrays[name], analytic=analytic, numeric=numeric, localisation=loc,
            arrays=arrays, dout=dout))
        details["hints"] = hints
        msg = (f"{gname} is wrong: the analytic gradient disagrees with the numerical one "
               f"(relative error {_fmt(rel)}, tolerance {_fmt(reltol)}).")
        wrong = details["elements_wrong"]
        msg += (f" {wrong} of {len(loc.elements)} {'sampled ' if loc.sampled else ''}elements "
                f"differ.")
        msg += worst_sentence(gname, loc)
        if hints:
            msg += " Likely cause: " + hints[0]["message"]
        self.add("gradient", f"gradient:{gname}", "fail", msg, case, input=gname,
                 error=rel, tolerance=reltol, details=details)

    @staticmethod
    def _count_wrong(loc: Localisation) -> int:
        if not loc.elements:
            return 0
        scale = max(max(abs(e.numeric) for e in loc.elements), 1e-12)
        return sum(1 for e in loc.elements if e.abs_error > 1e-5 * (abs(e.numeric) + scale))

    def check_linearity(self, case: Case, config: dict[str, Any], seed: int,
                        call_arrays: dict[str, np.ndarray], res: CallResult,
                        names: list[str]) -> None:
        """backward(c * dout) == c * backward(dout), backward(0) == 0."""
        scaled = dict(call_arrays, dout=call_arrays["dout"] * -2.5)
        zero = dict(call_arrays, dout=np.zeros_like(call_arrays["dout"]))
        r_scaled, r_zero = self._student_many([(self.job(config, seed, True), scaled),
                                               (self.job(config, seed, True), zero)])
        problems = []
        for name in names:
            g = res.arrays["grad." + name]
            gs = r_scaled.arrays.get("grad." + name)
            gz = r_zero.arrays.get("grad." + name)
            scale = float(np.max(np.abs(g))) or 1.0
            gname = self.b.grad_name(name)
            if gs is None or gs.shape != g.shape or not np.allclose(gs, -2.5 * g, rtol=1e-7,
                                                                     atol=1e-9 * scale):
                problems.append(f"{gname} does not scale with dout (doubling dout must double "
                                f"{gname}): is dout used in its formula?")
            elif gz is None or gz.shape != g.shape or not np.allclose(gz, 0, atol=1e-9 * scale):
                problems.append(f"{gname} is not zero when dout is zero: a term does not "
                                f"depend on dout")
        if problems:
            self.add("gradient", "gradient:linearity", "fail",
                     "backward must be linear in dout. " + " ".join(problems), case,
                     details={"hints": _diagnose.linearity_hints([p.split()[0] for p in problems])})
        else:
            self.add("gradient", "gradient:linearity", "pass",
                     "backward is linear in dout (scaled and zero upstream gradients).", case)

    def check_determinism(self, case: Case, config: dict[str, Any], seed: int,
                          call_arrays: dict[str, np.ndarray], res: CallResult) -> None:
        again = self._student(self.job(config, seed, True), call_arrays)
        diffs = []
        for key in ["out"] + ["grad." + n for n in self.spec.diff]:
            arr = res.arrays.get(key)
            if arr is None:
                continue
            other = again.arrays.get(key)
            scale = float(np.max(np.abs(arr))) if arr.size and np.isfinite(arr).all() else 0.0
            if other is None or other.shape != arr.shape or not np.allclose(
                    other, arr, rtol=1e-12, atol=1e-12 * scale, equal_nan=True):
                diffs.append(key.replace("grad.", "d").replace("out", "output"))
        if diffs:
            msg = (f"the same call twice (same inputs, same NumPy random state) gave different "
                   f"{', '.join(diffs)}.")
            if self.spec.stochastic:
                msg += (" Random masks must be drawn from NumPy's global generator "
                        "(np.random.rand / np.random.binomial), not a fresh unseeded Generator.")
            else:
                msg += " The layer must not keep state between calls or use randomness."
            self.add("determinism", "determinism", "fail", msg, case)
        else:
            self.add("determinism", "determinism", "pass",
                     "repeated calls give identical results.", case)

    def check_shared_params(self, i: int, case: Case, config: dict[str, Any], seed: int,
                            arrays: dict[str, np.ndarray]) -> None:
        """dlfs: a layer keeps references to its parameter arrays. An optimiser updates them
        in place (the book's params dict is shared with the layers); the next forward must
        see the new values."""
        names = list(self.b.plan["init_args"])
        rng = self._rng(i, 3)
        updated = {n: arrays[n] + 0.5 * rng.standard_normal(arrays[n].shape) for n in names}
        send = dict(arrays, **{n + ".new": v for n, v in updated.items()})
        res = self._student(self.job(config, seed, False, {"update_params": True}), send)
        got = res.arrays.get("out.updated")
        if res.error or got is None:
            return  # a failing forward is reported by the other checks
        want = self.reference.call(self.job(config, seed, False), dict(arrays, **updated))
        want_out = want.arrays.get("out")
        if want_out is None or got.shape != want_out.shape:
            return
        ok, rel, _ = compare_arrays(got, want_out, self.spec.rtol(self.profile, "forward"))
        shown = ", ".join(self.b.show(n) for n in names)
        if ok:
            self.add("state", "state:shared-parameters", "pass",
                     f"in-place updates of {shown} reach the layer.", case)
            return
        before = res.arrays.get("out")
        stale = before is not None and before.shape == got.shape and np.array_equal(before, got)
        self.add("state", "state:shared-parameters", "fail",
                 f"after {shown} were updated in place (as an optimiser does through the "
                 f"network's params), the next forward "
                 + ("still gives the old output: the layer copied its parameters at "
                    "construction (or precomputed something from them). Keep references "
                    "(self.W = W) and derive everything from them in forward."
                    if stale else f"is wrong (relative error {_fmt(rel)})."), case)

    # --------------------------------------------------------- special roles
    def check_stability(self, case: Case, arrays: dict[str, np.ndarray], config: dict[str, Any],
                        res: CallResult, ref: CallResult, dout: np.ndarray | None) -> None:
        out = self._out(res)
        dout_scale = float(np.max(np.abs(dout))) if dout is not None else 1.0
        problems = []
        if not np.all(np.isfinite(out)):
            problems.append("the forward output contains NaN or inf")
        for name in self.spec.diff:
            g = res.arrays.get("grad." + name)
            gname = self.b.grad_name(name)
            if g is None:
                problems.append(f"{gname} is missing")
            elif not np.all(np.isfinite(g)):
                problems.append(f"{gname} contains NaN or inf")
        if not problems:
            want = ref.arrays["out"].reshape(out.shape)
            ok, rel, _ = compare_arrays(out, want, self.spec.rtol(self.profile, "forward"))
            alt = self.spec.alternatives.get(self.profile)
            if not ok and alt is not None:
                alt_want = np.asarray(alt(arrays, config)).reshape(out.shape)
                ok, rel, _ = compare_arrays(out, alt_want, self.spec.rtol(self.profile, "forward"))
            if not ok:
                problems.append(f"the forward output is finite but wrong (relative error "
                                f"{_fmt(rel)})")
            for name in self.spec.diff:
                g = res.arrays["grad." + name]
                gw = ref.arrays["grad." + name]
                if g.shape == gw.shape:
                    # saturated gradients are tiny (1e-58 for a sigmoid at -130): compare
                    # against the scale the gradient could have, |dout| times O(1)
                    okg, relg, _ = compare_arrays(g, gw, 1e-6, atol=1e-12 * dout_scale)
                    if not okg:
                        problems.append(f"{self.b.grad_name(name)} is finite but wrong "
                                        f"(relative error {_fmt(relg)})")
        if problems:
            finite = all("NaN or inf" not in p for p in problems)
            earlier = sorted({c.config for c in self.checks if c.status == "fail"
                              and c.kind in ("forward", "gradient")})
            if finite and earlier:
                advice = (" The layer already fails in " + "; ".join(earlier) + ": this is "
                          "most likely the same defect, fix that first.")
            elif finite:
                advice = (" A formula loses precision at large magnitudes: e.g. 1 - out**2 "
                          "when out is almost ±1, or exp(x) / sum(exp(x)) without subtracting "
                          "the row maximum.")
            else:
                advice = (" Compute exp() only of non-positive numbers: subtract the row "
                          "maximum before softmax, use exp(-|x|) forms for sigmoid.")
            self.add("stability", "stability", "fail",
                     "with large-magnitude inputs " + "; ".join(problems) + "." + advice, case)
        else:
            self.add("stability", "stability", "pass",
                     "finite and correct for large-magnitude inputs.", case)

    def _mask_problems(self, case: Case, config: dict[str, Any], seed: int,
                       arrays: dict[str, np.ndarray], kept: np.ndarray, res: CallResult
                       ) -> list[str]:
        """A mask must be fresh on every call, depend on the random state, and be drawn
        per element (not one mask shared by every sample or every feature)."""
        problems = []
        second = res.arrays.get("out.second")
        if second is not None and second.shape == kept.shape and np.array_equal(
                second != 0, kept):
            problems.append("a second forward call dropped exactly the same units: draw a new "
                            "mask on every forward (do not keep the first mask, do not reseed "
                            "with a constant)")
        other_seed = (seed + 7919) % (2**32)
        cfg2 = dict(config, seed=(config["seed"] + 7919) % (2**31)) if "seed" in config \
            else config
        r2 = self._student(self.job(cfg2, other_seed, False), arrays)
        out2 = r2.arrays.get("out")
        if out2 is not None and out2.shape == kept.shape and np.array_equal(out2 != 0, kept):
            problems.append("the mask is the same under a different NumPy random state: it is "
                            "reseeded with a constant or drawn from a private generator; draw "
                            "it from np.random (np.random.rand(*x.shape))")
        if "seed" in config:
            # the same seed in the param dict, another global random state: the same mask
            r3 = self._student(self.job(config, other_seed, False), arrays)
            out3 = r3.arrays.get("out")
            if out3 is not None and out3.shape == kept.shape and not np.array_equal(
                    out3 != 0, kept):
                problems.append("the 'seed' in the parameter dict is ignored: with the same "
                                "seed the mask must be the same (call np.random.seed(seed) "
                                "before drawing it when the key is present)")
        if kept.ndim == 2 and kept.shape[0] > 1 and (kept == kept[:1]).all():
            problems.append("every sample got the same mask: draw one value per element, "
                            "np.random.rand(*x.shape), not per feature")
        elif kept.ndim == 2 and kept.shape[1] > 1 and (kept == kept[:, :1]).all():
            problems.append("every feature of a sample got the same mask: draw one value per "
                            "element, np.random.rand(*x.shape)")
        return problems

    def check_statistics(self, case: Case, arrays: dict[str, np.ndarray], res: CallResult,
                         config: dict[str, Any], seed: int) -> None:
        """Stochastic forward (dropout): keep rate and scaling of kept units, fresh masks."""
        x, out = arrays["x"], self._out(res)
        keep = float(case.config["keep"])
        scale = 1.0 / keep if self.profile == "cs231n" else 1.0
        ratio = out / x
        kept = ratio != 0
        rate = float(kept.mean())
        n = x.size
        sigma = np.sqrt(keep * (1 - keep) / n)
        problems = []
        if abs(rate - keep) > 6 * sigma:
            what = ("p is the probability of KEEPING a unit" if self.profile == "cs231n"
                    else "dropout_ratio is the probability of DROPPING a unit")
            problems.append(f"{rate:.3f} of the units were kept, expected {keep:.3f} ± "
                            f"{6 * sigma:.3f} ({what})")
        problems += self._mask_problems(case, config, seed, arrays, kept, res)
        if kept.any() and not np.allclose(ratio[kept], scale, rtol=1e-9):
            vals = np.unique(np.round(ratio[kept], 6))[:3]
            rule = ("inverted dropout scales kept units by 1/p in training"
                    if self.profile == "cs231n"
                    else "the book's dropout does not scale kept units in training")
            problems.append(f"kept units were multiplied by {', '.join(map(str, vals))}, "
                            f"expected {_fmt(scale)} ({rule})")
        if problems:
            self.add("forward", "forward:statistics", "fail",
                     "training-mode dropout is wrong: " + "; ".join(problems) + ".", case,
                     details={"keep_rate": rate, "expected_keep": keep, "elements": n})
        else:
            self.add("forward", "forward:statistics", "pass",
                     f"keep rate {rate:.3f} (expected {keep}) and scaling {_fmt(scale)} are "
                     f"right.", case, details={"keep_rate": rate, "expected_keep": keep})


class _Stop(Exception):
    """Ends the checks of one configuration after a blocking failure."""


class _AbortLayer(Exception):
    """Ends the checks of a whole layer after a fatal call error (timeout, crash)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error
