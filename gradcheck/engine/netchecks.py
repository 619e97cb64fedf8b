"""Network-level checks of the two-layer net: initialisation, symmetry, whole-net gradients,
parameters shared with the layers.

:class:`NetChecker` drives the ``two_layer_net`` catalogue entry. Its cases select what is
checked through their ``role``:

- ``"init"``: construct the net under several seeds and look at ``params`` (no zero, constant
  or duplicated hidden units; the empirical spread of the weights against the requested scale,
  with a chi-square tolerance that follows the sample size; zero biases; seeds matter).
- ``"state"`` (dlfs): an in-place update of ``net.params[k]`` must reach the layers.
- ``"full"``: scores and loss against the reference with the same explicit parameters, and the
  gradient of the loss with respect to every parameter against numerical derivatives of the
  student's own loss (directional probes, see ``_numeric``).
- ``"symmetry"``: with all hidden units equal (non-zero) every hidden unit must receive the same
  gradient; with all parameters zero, what happens is reported as information.

Like :class:`~gradcheck._checks.LayerChecker`, it reaches submitted code only through the
executor (the runner's ``model`` style) and computes every verdict here.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..catalogue import Case
from ..isolation.protocol import CallResult
from ..report import LayerReport
from .checker import (
    LayerChecker,
    _AbortLayer,
    _fmt,
    _shape,
    _Stop,
    _where,
    worst_details,
    worst_sentence,
)
from .diagnose import constant_ratio
from .numeric import compare_arrays, directional_check, localise

#: the parameters of the net and their shapes in terms of the config's dimensions
SHAPES = {"W1": ("D", "H"), "b1": ("H",), "W2": ("H", "C"), "b2": ("C",)}
WEIGHTS = ("W1", "W2")
BIASES = ("b1", "b2")
#: statistical bounds are this many standard deviations wide (false alarm < 1e-6 per test)
Z = 5.0


def _same(a: np.ndarray, b: np.ndarray, rtol: float = 1e-9) -> bool:
    """Equal up to rounding, relative to the larger magnitude of the two."""
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return bool(np.all(np.abs(a - b) <= rtol * scale + 1e-300))


class NetChecker(LayerChecker):
    """Runs the network-level checks of ``two_layer_net`` in one profile."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.params: list[str] = list(self.b.plan["params"])
        self.unshared: list[str] = []

    # ------------------------------------------------------------------ naming
    def P(self, k: str) -> str:
        return f"net.params[{k!r}]"

    def G(self, k: str) -> str:
        return f"{self.b.show('grads')}[{k!r}]"

    @property
    def cls(self) -> str:
        return self.b.plan["class"]

    @property
    def scale_name(self) -> str:
        return self.b.show("scale")

    def _ops_text(self, op: str, target: str | None = None) -> str:
        steps = [s for s in self.b.plan["ops"][op] if s.get("put")
                 and (target is None or target in ([s["put"]] if isinstance(s["put"], str)
                                                   else s["put"]))]
        return " and ".join(f"net.{s['call']}({', '.join(self.b.show(a) for a in s['args'])})"
                            for s in steps)

    # ------------------------------------------------------------------ calls
    @staticmethod
    def _dims(arrays: dict[str, np.ndarray]) -> dict[str, int]:
        w1, w2 = arrays["W1"], arrays["W2"]
        return {"D": int(w1.shape[0]), "H": int(w1.shape[1]), "C": int(w2.shape[1])}

    def _cfg(self, case: Case, op: str, dims: dict[str, int]) -> dict[str, Any]:
        return {**self.b.config(case.config), **dims, "op": op}

    def _call(self, kind: str, case: Case, cfg: dict[str, Any], seed: int,
              arrays: dict[str, np.ndarray], backward: bool) -> CallResult:
        """A student call; a failure becomes an ``error`` check and ends the case."""
        res = self._student(self.job(cfg, seed, backward), arrays)
        if res.error:
            self.add(kind, f"{kind}:call", "error",
                     f"{self._ops_text(cfg['op']) if cfg['op'] in self.b.plan['ops'] else self.cls + '(...)'} "
                     f"failed: {_where(res.error)}", case,
                     details={"traceback": res.error.get("traceback", "")})
            raise _Stop
        return res

    def _ref(self, cfg: dict[str, Any], seed: int, arrays: dict[str, np.ndarray],
             backward: bool) -> CallResult:
        res = self.reference.call(self.job(cfg, seed, backward), arrays)
        if res.error:
            raise RuntimeError(f"reference {self.cls} failed: {res.error}")
        return res

    # ---------------------------------------------------------------- the battery
    def run(self) -> LayerReport:
        t0 = time.perf_counter()
        if self.cls not in self.found:
            return LayerReport(layer=self.spec.id, status="skip",
                               message=f"not implemented ({self.cls} not found)",
                               names=list(self.b.names))
        roles = {"init": self.run_init, "state": self.run_shared, "full": self.run_gradients,
                 "symmetry": self.run_symmetry}
        if self.check_signature():
            try:
                for i, case in enumerate(self.spec.cases_for(self.profile)):
                    self._current = case
                    try:
                        roles[case.role](i, case)
                    except _Stop:
                        continue
            except _AbortLayer as abort:
                err = abort.error
                self.add("gradient" if err.get("phase") == "backward" else "forward",
                         "call", "error", err.get("message") or _where(err), self._current,
                         details={"type": err.get("type"), "where": err.get("where"),
                                  "traceback": err.get("traceback", "")})
        failing = [c for c in self.checks if c.status in ("fail", "error")]
        kinds = sorted({c.kind for c in failing})
        message = (f"{len(failing)} check(s) failed ({', '.join(kinds)})" if failing
                   else "all checks passed")
        return LayerReport(layer=self.spec.id, status=LayerReport.status_of(self.checks),
                           message=message, names=list(self.b.names),
                           module=self.found[self.cls]["module"], checks=self.checks,
                           duration=time.perf_counter() - t0, calls=self.calls)

    def check_signature(self) -> bool:
        info = self.found[self.cls]
        if info["kind"] != "class":
            self.add("signature", "signature", "fail",
                     f"{self.cls} should be a class (it is a {info['kind']}): the network "
                     f"keeps its parameters in net.params between calls.")
            return False
        plan = self.b.plan
        problems = self._arity_problems(self.cls, info["params"], len(plan["init_args"]),
                                        list(plan.get("init_config", {})))
        methods = info.get("methods") or {}
        blocking = False
        for meth in sorted({s["call"] for steps in plan["ops"].values() for s in steps}):
            if meth not in methods:
                problems.append(f"{self.cls} has no {meth}() method")
                blocking = True
                continue
            counts = [len(s["args"]) for steps in plan["ops"].values() for s in steps
                      if s["call"] == meth]
            problems += self._arity_problems(f"{self.cls}.{meth}", methods[meth],
                                             max(counts), [])
            required = [q for q in methods[meth] or []
                        if q[1] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD") and not q[2]]
            if len(required) > min(counts):
                problems.append(f"{self.cls}.{meth} requires {len(required)} arguments but is "
                                f"also called with {min(counts)} (the labels must default to "
                                f"None: {meth}(X) returns the scores)")
        if problems:
            self.add("signature", "signature", "fail", "; ".join(problems) + ". Expected "
                     f"{self.cls}({', '.join(self.b.show(a) for a in plan['init_args'])}, "
                     f"{', '.join(plan.get('init_config', {}))}) as in the catalogue.")
        else:
            self.add("signature", "signature", "pass",
                     f"{self.cls} found with the expected constructor and methods.")
        return not blocking

    # ------------------------------------------------------------------ init
    def run_init(self, i: int, case: Case) -> None:
        dims = {k: int(case.params[k]) for k in ("D", "H", "C")}
        scale = float(case.config["scale"])
        k_seeds = int(case.params.get("seeds", 4))
        base = self._call_seed(i) % (2**31)
        seeds = [base + j for j in range(k_seeds)] + [base]
        cfg = {**self.b.config(case.config), **dims, "op": "init"}
        results = self._student_many([(self.job(cfg, s, False), {}) for s in seeds])
        for r in results:
            if r.error:
                self.add("init", "init:call", "error",
                         f"{self.cls}({', '.join(str(dims[a]) for a in ('D', 'H', 'C'))}, "
                         f"{self.scale_name}={scale}) failed: {_where(r.error)}", case,
                         details={"traceback": r.error.get("traceback", "")})
                raise _Stop
        ctor = (f"{self.cls}({dims['D']}, {dims['H']}, {dims['C']}, "
                f"{self.scale_name}={scale})")
        bad = []
        for k in self.params:
            want = tuple(dims[a] for a in SHAPES[k])
            got = results[0].arrays.get("param." + k)
            if got is None:
                desc = results[0].value("param." + k)
                what = ("missing" if desc.get("type") == "missing"
                        else f"a {desc.get('type')}" + (f" of dtype {desc['dtype']}"
                                                        if "dtype" in desc else ""))
                bad.append(f"{self.P(k)} is {what}, expected a float64 array of shape "
                           f"{_shape(want)}")
            elif got.shape != want:
                bad.append(f"{self.P(k)} has shape {_shape(got.shape)}, expected "
                           f"{_shape(want)} ({' x '.join(self.b.show(a) for a in SHAPES[k])})")
        if bad:
            self.add("init", "init:shapes", "fail", f"after {ctor}: " + "; ".join(bad) + ".",
                     case)
            raise _Stop
        draws = [{k: r.arrays["param." + k].astype(np.float64) for k in self.params}
                 for r in results]
        for k in WEIGHTS:
            self._check_weight(case, k, [d[k] for d in draws[:k_seeds]], scale, ctor, dims)
        self._check_biases(case, draws[:k_seeds], ctor)
        self._check_seeds(case, draws, k_seeds)

    def _check_weight(self, case: Case, k: str, mats: list[np.ndarray], scale: float,
                      ctor: str, dims: dict[str, int]) -> None:
        shape = ", ".join(self.b.show(a) for a in SHAPES[k])
        draw = f"{self.scale_name} * np.random.randn({shape})"
        lesson = ("every hidden unit then computes the same function of the input and receives "
                  "the same gradient, so gradient descent keeps the units identical forever "
                  "(the symmetry is never broken) and the hidden layer is as good as one unit")
        name = f"init:{k}"
        if any(not np.any(m) for m in mats):
            self.add("init", name, "fail", f"{self.P(k)} is all zeros after {ctor}: {lesson}. "
                     f"Draw the weights at random: {self.P(k)} = {draw}.", case)
            return
        for m in mats:
            if np.all(m == m.flat[0]):
                self.add("init", name, "fail",
                         f"every entry of {self.P(k)} equals {_fmt(float(m.flat[0]))} after "
                         f"{ctor}: {lesson}. A constant is no better than zero; draw each "
                         f"weight independently: {self.P(k)} = {draw}.", case)
                return
        axis_text = ("incoming weights (columns of W1)" if k == "W1"
                     else "outgoing weights (rows of W2)")
        for m in mats:
            units = m.T if k == "W1" else m
            dup = self._duplicate(units)
            if dup is not None:
                a, b = dup
                idx = (f"[:, {a}] and [:, {b}]" if k == "W1" else f"[{a}] and [{b}]")
                self.add("init", name, "fail",
                         f"hidden units {a} and {b} have identical {axis_text} after {ctor} "
                         f"({self.P(k)}{idx} are equal). Two units with the same weights "
                         f"compute the same thing and receive the same gradient, so they stay "
                         f"copies of each other: one of them is wasted. Draw every entry "
                         f"independently ({self.P(k)} = {draw}), not one column or row "
                         f"repeated or tiled.", case, details={"units": [a, b]})
                return
        v = np.concatenate([m.ravel() for m in mats])
        n = v.size
        # sum(w**2) / scale**2 ~ chi-square(n) for w ~ N(0, scale**2): mean n, sd sqrt(2n)
        ratio = float(np.mean(v * v)) / scale**2
        var_tol = Z * np.sqrt(2.0 / n)
        mean, mean_tol = float(np.mean(v)), Z * scale / np.sqrt(n)
        std = float(np.std(v))
        lo, hi = scale * np.sqrt(max(1 - var_tol, 0.0)), scale * np.sqrt(1 + var_tol)
        details = {"std": std, "mean": mean, "scale": scale, "samples": n, "seeds": len(mats),
                   "std_bounds": [lo, hi], "mean_bound": mean_tol}
        if abs(ratio - 1) <= var_tol and abs(mean) <= mean_tol:
            self.add("init", name, "pass",
                     f"{self.P(k)} is random with standard deviation {_fmt(std)} for "
                     f"{self.scale_name} = {scale} (accepted {_fmt(lo)}..{_fmt(hi)} for {n} "
                     f"weights over {len(mats)} seeds) and mean {_fmt(mean)}; no two hidden "
                     f"units alike.", case, error=abs(ratio - 1), tolerance=var_tol,
                     details=details)
            return
        cause = self._scale_cause(std, mean, scale)
        self.add("init", name, "fail",
                 f"{self.P(k)} has standard deviation {_fmt(std)} and mean {_fmt(mean)} over {n} "
                 f"weights ({len(mats)} seeds) after {ctor}; expected standard deviation "
                 f"{self.scale_name} = {scale} and mean 0 (accepted: {_fmt(lo)}..{_fmt(hi)} and "
                 f"|mean| <= {_fmt(mean_tol)}, {Z:g}-sigma bounds that shrink as the sample "
                 f"grows). {cause} Draw the weights as {draw}: {self.scale_name} is the "
                 f"standard deviation, and the scale of the initial weights decides how large "
                 f"the first activations and gradients are.", case, error=abs(ratio - 1),
                 tolerance=var_tol, details=details)

    @staticmethod
    def _duplicate(units: np.ndarray) -> tuple[int, int] | None:
        """The first pair of (numerically) identical rows of ``units``, or None."""
        scale = float(np.max(np.abs(units))) or 1.0
        for a in range(len(units)):
            diff = np.max(np.abs(units[a + 1:] - units[a]), axis=1, initial=0.0)
            same = np.nonzero(diff <= 1e-12 * scale)[0]
            if same.size:
                return a, a + 1 + int(same[0])
        return None

    def _scale_cause(self, std: float, mean: float, scale: float) -> str:
        if mean > 0 and abs(mean) > std:
            return ("The weights are all positive: np.random.rand draws uniformly from [0, 1); "
                    "use np.random.randn (standard normal, mean 0).")
        near = lambda a, b: abs(a - b) <= 0.15 * abs(b)  # noqa: E731
        if near(std, 1.0):
            return (f"The weights have unit spread: they are not multiplied by "
                    f"{self.scale_name}.")
        for const in (1e-3, 1e-2, 1e-1):
            if near(std, const) and not near(scale, const):
                return (f"The spread matches the constant {const:g}, not the {self.scale_name} "
                        f"passed in: the argument is ignored (a hard-coded value or a default "
                        f"is used).")
        if near(std, scale**2):
            return f"The spread is {self.scale_name} squared: the scale is applied twice."
        if near(std, np.sqrt(scale)):
            return (f"The spread is the square root of {self.scale_name}: it is the standard "
                    f"deviation, not the variance.")
        return ""

    def _check_biases(self, case: Case, draws: list[dict[str, np.ndarray]], ctor: str) -> None:
        bad = []
        for k in BIASES:
            for d in draws:
                if np.any(d[k]):
                    nz = int(np.count_nonzero(d[k]))
                    bad.append(f"{self.P(k)} has {nz} non-zero entries (e.g. "
                               f"{_fmt(float(d[k][np.nonzero(d[k])][0]))})")
                    break
        if bad:
            self.add("init", "init:biases", "fail",
                     f"after {ctor}, " + "; ".join(bad) + ". Biases start at zero "
                     "(np.zeros(...)): the random weights already make the hidden units "
                     "different, and the catalogue's initialisation leaves the biases at 0.",
                     case)
        else:
            self.add("init", "init:biases", "pass", "b1 and b2 start at zero.", case)

    def _check_seeds(self, case: Case, draws: list[dict[str, np.ndarray]], k: int) -> None:
        if k > 1 and all(np.array_equal(draws[0][w], draws[1][w]) for w in WEIGHTS):
            self.add("init", "init:seeds", "fail",
                     "two different NumPy seeds gave exactly the same weights: the net "
                     "re-seeds the generator itself (np.random.seed(...) in __init__) or does "
                     "not draw at random. Draw from NumPy's global generator "
                     "(np.random.randn) and leave seeding to the caller, so that different "
                     "runs (and an ensemble of nets) start from different weights.", case)
        elif not all(np.array_equal(draws[0][w], draws[-1][w]) for w in WEIGHTS):
            self.add("init", "init:seeds", "fail",
                     "the same NumPy seed gave different weights: the initialisation does not "
                     "draw from NumPy's global generator (e.g. it uses np.random.default_rng() "
                     "or the random module). Use np.random.randn so that np.random.seed(...) "
                     "makes an experiment repeatable.", case)
        else:
            self.add("init", "init:seeds", "pass",
                     "different seeds give different weights; the same seed gives the same "
                     "weights.", case)

    # ------------------------------------------------------------ shared params
    def run_shared(self, i: int, case: Case) -> None:
        arrays = self.spec.generate(self._rng(i), case.params)
        other = self.spec.generate(self._rng(i, 1), case.params)
        dims = self._dims(arrays)
        cfg = self._cfg(case, "scores", dims)
        seed = self._call_seed(i)
        base = {"x": arrays["x"], **{k: arrays[k] for k in self.params}}
        variants = [base] + [dict(base, **{k: other[k]}) for k in self.params]
        res = [self._call("state", case, cfg, seed, a, False) for a in variants]
        ref = [self._ref(cfg, seed, a, False) for a in variants]
        outs = [r.arrays.get("out") for r in res]
        if any(o is None for o in outs):
            return  # reported by the forward check of the full cases
        unshared = []
        for j, k in enumerate(self.params, start=1):
            if _same(ref[j].arrays["out"], ref[0].arrays["out"], 1e-6):
                continue  # this change does not move the output at all: no evidence
            if outs[j].shape == outs[0].shape and np.array_equal(outs[j], outs[0]):
                unshared.append(k)
        if unshared:
            self.unshared = unshared
            which = ", ".join(self.P(k) for k in unshared)
            self.add("state", "state:shared-params", "fail",
                     f"an in-place update of {which} (net.params[k][...] = new values, as the "
                     f"book's numerical_gradient and every optimiser step do) does not change "
                     f"what net.predict(x) computes: the layers work on a copy of the "
                     f"parameters. Build the layers on the very same arrays, e.g. "
                     f"Affine(self.params['W1'], self.params['b1']) without .copy() or "
                     f"np.array(...), so that training through net.params reaches the layers. "
                     f"(Checks that set the parameters are skipped until this is fixed.)",
                     case, details={"unshared": unshared})
        else:
            self.add("state", "state:shared-params", "pass",
                     "net.params and the layers share their arrays: an in-place update of any "
                     "parameter reaches net.predict.", case)

    def _skip_unshared(self, kind: str, case: Case) -> bool:
        if not self.unshared:
            return False
        self.add(kind, f"{kind}:skipped", "skip",
                 f"not checked: the net does not see parameters set through net.params (see "
                 f"the state check of {', '.join(self.P(k) for k in self.unshared)}).", case)
        return True

    # ------------------------------------------------------------------ gradients
    def run_gradients(self, i: int, case: Case) -> None:
        if self._skip_unshared("gradient", case):
            return
        arrays = self.spec.generate(self._rng(i), case.params)
        params = {k: arrays[k] for k in self.params}
        dims = self._dims(arrays)
        seed = self._call_seed(i)
        scores_in = {"x": arrays["x"], **params}
        cfg = self._cfg(case, "scores", dims)
        ref_s = self._ref(cfg, seed, scores_in, False)
        res_s = self._call("forward", case, cfg, seed, scores_in, False)
        self._check_value(case, "scores", res_s, ref_s)
        data = {"x": arrays["x"], "y": arrays["y"], **params}
        cfg_loss = self._cfg(case, "loss", dims)
        ref = self._ref(cfg_loss, seed, data, True)
        res = self._call("gradient", case, self._cfg(case, "loss_warm", dims), seed,
                         dict(data, x_prev=arrays["x_prev"], y_prev=arrays["y_prev"]), True)
        self._check_value(case, "loss", res, ref, params)
        for k in self.params:
            self.check_net_gradient(i, case, cfg_loss, seed, arrays, data, k, res, ref)

    def _check_value(self, case: Case, what: str, res: CallResult, ref: CallResult,
                     params: dict[str, np.ndarray] | None = None) -> None:
        want = ref.arrays["out"]
        got = res.arrays.get("out")
        call = self._ops_text(what, "out")
        verb = "matches" if what == "loss" else "match"
        if what == "loss" and got is not None and got.size == 1:
            got, want = got.reshape(()), want.reshape(())
        if got is None or got.shape != want.shape:
            desc = res.value("out")
            shown = (_shape(got.shape) if got is not None
                     else f"{desc.get('type')}{' ' + str(desc.get('shape')) if 'shape' in desc else ''}")
            self.add("forward", f"forward:{what}", "fail",
                     f"{call} gave {what} of shape {shown}; expected "
                     f"{'a scalar' if what == 'loss' else _shape(want.shape)}.", case)
            return
        rtol = self.spec.rtol(self.profile, "forward")
        ok, rel, bad = compare_arrays(got.astype(np.float64), want, rtol)
        if ok:
            self.add("forward", f"forward:{what}", "pass",
                     f"{what} from {call} {verb} the reference with the same parameters "
                     f"(relative error {_fmt(rel)}).", case, error=rel, tolerance=rtol)
            return
        msg = (f"{what} from {call} {'differs' if what == 'loss' else 'differ'} from the reference with the same parameters "
               f"(relative error {_fmt(rel)}, tolerance {_fmt(rtol)}).")
        if what == "loss":
            msg += f" Got {_fmt(float(got))}, expected {_fmt(float(want))}."
            reg = float(case.config.get("reg", 0.0))
            if params is not None and reg > 0:
                reg_loss = 0.5 * reg * sum(float(np.sum(params[w] ** 2)) for w in WEIGHTS)
                c = (float(got) - float(want)) / reg_loss
                if abs(c + 1) < 1e-3:
                    msg += (" The difference is exactly the regularisation term: add "
                            "0.5 * reg * (np.sum(W1**2) + np.sum(W2**2)) to the loss.")
                elif abs(round(c) - c) < 1e-3 or abs(c + 0.5) < 1e-3:
                    msg += (f" The regularisation term is {_fmt(c + 1)} times what it should "
                            f"be: it is 0.5 * reg * (np.sum(W1**2) + np.sum(W2**2)), and its "
                            f"gradient is reg * W.")
        else:
            msg += self._mismatch_examples(got, want, bad)
            msg += (" The scores are affine(relu(affine(X, W1, b1)), W2, b2): check each layer "
                    "and that the first layer uses W1, b1 and the second W2, b2.")
        self.add("forward", f"forward:{what}", "fail", msg, case, error=rel, tolerance=rtol)

    def check_net_gradient(self, i: int, case: Case, cfg: dict[str, Any], seed: int,
                           arrays: dict[str, np.ndarray], data: dict[str, np.ndarray], k: str,
                           res: CallResult, ref: CallResult) -> None:
        gname = self.G(k)
        want_shape = data[k].shape
        g = res.arrays.get("grad." + k)
        name = f"gradient:{k}"
        if g is None or g.shape != want_shape or g.dtype != np.float64:
            if g is None:
                desc = res.value("grad." + k)
                msg = (f"{gname} is {'missing' if desc.get('type') == 'missing' else 'a ' + desc.get('type', '?')}"
                       f"; expected a float64 array of shape {_shape(want_shape)} (the shape of "
                       f"{k}).")
            elif g.shape != want_shape:
                msg = (self._shape_message(gname, tuple(g.shape), tuple(want_shape))
                       + f" (the shape of {k}).")
                for j in self.params:
                    rj = ref.arrays.get("grad." + j)
                    if j != k and rj is not None and _same(g.astype(np.float64), rj, 1e-6):
                        msg += (f" It is the gradient of {j}: {gname} is taken from the wrong "
                                f"layer.")
                        break
            else:
                msg = f"{gname} has dtype {g.dtype}, expected float64."
            self.add("gradient", name, "fail", msg, case, input=gname)
            return
        if not np.all(np.isfinite(g)):
            self.add("gradient", name, "fail", f"{gname} contains NaN or inf values.", case,
                     input=gname)
            return

        def objective(points: list[np.ndarray]) -> list[tuple[float, float] | None]:
            jobs = [(self.job(cfg, seed, False), dict(data, **{k: p})) for p in points]
            values: list[tuple[float, float] | None] = []
            for r in self._student_many(jobs):
                out = r.arrays.get("out")
                if r.error or out is None or out.size != 1 or not np.isfinite(out).all():
                    values.append(None)
                    continue
                v = float(out.reshape(-1)[0])
                values.append((v, abs(v)))
            return values

        rng = self._rng(i, 100 + self.params.index(k))
        rtol = self.spec.rtol(self.profile, "grad") * self.settings.grad_rtol_scale
        result = directional_check(objective, data[k], g, rng,
                                   directions=self.settings.directions, rtol=rtol)
        details: dict[str, Any] = result.details(self.settings.seed)
        if not result.probes:
            self.add("gradient", name, "error",
                     f"could not evaluate numerical derivatives of the loss with respect to "
                     f"{k}: the loss call failed or was not finite/smooth "
                     f"({result.failed_calls} failed, {result.redraws} non-smooth).", case,
                     input=gname, details=details)
            return
        rel, reltol = result.relative_error, result.relative_tolerance
        if result.passed:
            self.add("gradient", name, "pass",
                     f"{gname} agrees with numerical derivatives of the loss along "
                     f"{len(result.probes)} random directions (relative error {_fmt(rel)}, "
                     f"tolerance {_fmt(reltol)}).", case, input=gname, error=rel,
                     tolerance=reltol, details=details)
            return
        loc = localise(objective, data[k], g, rng)
        details["calls"] += loc.calls
        details["worst"] = worst_details(loc)
        msg = (f"{gname} is wrong: it disagrees with numerical derivatives of the loss "
               f"(relative error {_fmt(rel)}, tolerance {_fmt(reltol)})."
               + worst_sentence(gname, loc))
        why, hint_id = self._why(case, cfg, seed, arrays, data, k, g, ref)
        if why:
            msg += " Likely cause: " + why
            details["hints"] = [{"id": hint_id, "message": why, "numbers": {}}]
        self.add("gradient", name, "fail", msg, case, input=gname, error=rel,
                 tolerance=reltol, details=details)

    def _why(self, case: Case, cfg: dict[str, Any], seed: int, arrays: dict[str, np.ndarray],
             data: dict[str, np.ndarray], k: str, g: np.ndarray, ref: CallResult
             ) -> tuple[str, str]:
        """Name the bug behind a wrong gradient, using the reference's exact gradients."""
        gname = self.G(k)
        r = ref.arrays["grad." + k]
        scale = float(np.max(np.abs(r))) or 1.0
        if _same(g, r, 1e-6):
            return (f"{gname} is the gradient of the catalogue's loss, but your loss value is "
                    f"a different function (see the forward check of the loss): the loss and "
                    f"its gradient must describe the same function.", "loss-mismatch")
        for j in self.params:
            rj = ref.arrays.get("grad." + j)
            if j != k and rj is not None and rj.shape == g.shape and _same(g, rj, 1e-6):
                return (f"{gname} equals the gradient of {j}: it is taken from the wrong layer "
                        f"(or the wrong key).", "wrong-layer")
        reg = float(case.config.get("reg", 0.0))
        if reg > 0:
            term = reg * data[k]
            diff = g - r
            c = float(np.sum(diff * term) / np.sum(term * term))
            if np.allclose(diff, c * term, rtol=0, atol=1e-6 * scale):
                if k in BIASES:
                    return (f"{gname} includes reg * {k}: biases are not regularised (the "
                            f"penalty is 0.5 * reg * sum(W**2) over the weights only).",
                            "reg-bias")
                if abs(c + 1) < 1e-3:
                    return (f"the regularisation term is missing from {gname}: the loss "
                            f"includes 0.5 * reg * np.sum({k}**2), whose gradient reg * {k} "
                            f"must be added to {gname}.", "reg-missing")
                return (f"{gname} contains {_fmt(c + 1)} * reg * {k} instead of reg * {k}: the "
                        f"derivative of 0.5 * reg * np.sum({k}**2) is reg * {k} (the 0.5 "
                        f"cancels the 2 of the square).", "reg-factor")
        # state kept between calls: compare with a fresh net on this batch and the previous one
        fresh = self._student(self.job(cfg, seed, True), data)
        prev = self._student(self.job(cfg, seed, True),
                             dict(data, x=arrays["x_prev"], y=arrays["y_prev"]))
        gf, gp = fresh.arrays.get("grad." + k), prev.arrays.get("grad." + k)
        if gf is not None and gf.shape == r.shape and _same(gf, r, 1e-6):
            if gp is not None and gp.shape == g.shape and _same(g, gp, 1e-9):
                return (f"{gname} is stale: after a previous call it still holds the gradient "
                        f"of that previous batch (it is right on a fresh net). Recompute every "
                        f"gradient, including the biases', on every call.", "stale")
            if gp is not None and gp.shape == g.shape and _same(g, gp + r, 1e-6):
                return (f"{gname} accumulates over calls (+=): it is right on a fresh net, but "
                        f"the second call adds to the first. Assign the gradient (=), do not "
                        f"accumulate it.", "accumulates")
            return (f"{gname} is right on a fresh net but wrong after a previous call: the net "
                    f"or its layers keep state between calls.", "state-between-calls")
        if not np.any(g) and np.any(r):
            return (f"{gname} is all zeros: it is never assigned (or a layer's stored gradient "
                    f"is never updated by backward).", "zero-gradient")
        c = constant_ratio(g, r)
        n = int(data["x"].shape[0])
        if c is not None:
            if abs(c - n) < 1e-3 * n:
                return (f"{gname} is N={n} times too large: the loss averages over the batch, "
                        f"so its gradient must be divided by N too.", "ratio-N")
            if abs(c + 1) < 1e-3:
                return f"{gname} has the wrong sign.", "sign"
            return f"{gname} is the true gradient times {_fmt(c)}.", "ratio"
        if k in ("W1", "b1", "W2"):
            units = {"W1": (g.T, r.T), "b1": (g[:, None], r[:, None]), "W2": (g, r)}[k]
            wrong = [u for u in range(len(units[0]))
                     if not _same(units[0][u], units[1][u], 1e-6)]
            if 0 < len(wrong) < len(units[0]):
                return (f"{gname} is right for some hidden units and wrong for hidden "
                        f"unit{'s' if len(wrong) > 1 else ''} {', '.join(map(str, wrong[:5]))}: "
                        f"an indexing bug (a slice, loop bound or axis that misses or mixes "
                        f"units).", "some-units")
        return ("the chain rule through the layers: dscores -> (dW2, db2, dhidden) -> the ReLU "
                "mask -> (dW1, db1); check each layer (affine, relu, softmax_loss) on its own "
                "first.", "chain")

    # ------------------------------------------------------------------ symmetry
    def run_symmetry(self, i: int, case: Case) -> None:
        if self._skip_unshared("symmetry", case):
            return
        arrays = self.spec.generate(self._rng(i), case.params)
        dims = self._dims(arrays)
        h = dims["H"]
        x = arrays["x"].reshape(len(arrays["x"]), -1)
        pre = x @ arrays["W1"] + arrays["b1"]
        j = int(np.argmax((pre > 0).sum(axis=0)))  # the unit active on most examples
        w2 = arrays["W2"][j] / np.sqrt(h)
        sym = {"W1": np.repeat(arrays["W1"][:, [j]], h, axis=1),
               "b1": np.full(h, arrays["b1"][j]),
               "W2": np.tile(w2, (h, 1)), "b2": arrays["b2"]}
        cfg = self._cfg(case, "loss", dims)
        seed = self._call_seed(i)
        data = {"x": arrays["x"], "y": arrays["y"]}
        res = self._call("symmetry", case, cfg, seed, dict(data, **sym), True)
        grads = {k: res.arrays.get("grad." + k) for k in ("W1", "b1", "W2")}
        shapes_ok = all(grads[k] is not None and grads[k].shape == sym[k].shape for k in grads)
        if not shapes_ok:
            self.add("symmetry", "symmetry:equal-units", "skip",
                     "not checked: the gradients are missing or have the wrong shape (see the "
                     "gradient checks).", case)
        else:
            units = {"W1": grads["W1"].T, "b1": grads["b1"][:, None], "W2": grads["W2"]}
            broken = []
            for k, u in units.items():
                scale = float(np.max(np.abs(u))) or 1.0
                spread = np.max(np.abs(u - u[0]), axis=1)
                bad = np.nonzero(spread > 1e-9 * scale)[0]
                if bad.size:
                    broken.append((k, int(bad[0]), float(spread.max() / scale)))
            if broken:
                parts = [f"{self.G(k)} differs between hidden units 0 and {b} (relative "
                         f"difference {_fmt(s)})" for k, b, s in broken]
                self.add("symmetry", "symmetry:equal-units", "fail",
                         "with a symmetric initialisation (every hidden unit has the same "
                         "incoming weights, bias and outgoing weights), every hidden unit "
                         "computes the same activation, so a correct backward pass gives every "
                         "hidden unit exactly the same gradient. Yet " + "; ".join(parts)
                         + ": the backward pass treats hidden units differently. Look for an "
                         "indexing bug: a wrong axis in a sum, a transposed product, a slice or "
                         "loop bound that misses some units.", case,
                         details={"broken": [{"param": k, "unit": b, "relative": s}
                                             for k, b, s in broken]})
            else:
                self.add("symmetry", "symmetry:equal-units", "pass",
                         "with a symmetric initialisation (all hidden units equal, non-zero), "
                         "every hidden unit receives the same gradient (equal columns of dW1, "
                         "entries of db1, rows of dW2), so a gradient step keeps them equal: "
                         "only a random initialisation can make the units differ.", case)
        zero = {k: np.zeros_like(arrays[k]) for k in self.params}
        res0 = self._call("symmetry", case, cfg, seed, dict(data, **zero), True)
        self._report_zero_init(case, res0, zero)

    def _report_zero_init(self, case: Case, res: CallResult,
                          zero: dict[str, np.ndarray]) -> None:
        grads = {k: res.arrays.get("grad." + k) for k in self.params}
        if any(grads[k] is None or grads[k].shape != zero[k].shape for k in self.params):
            self.add("symmetry", "symmetry:zero-init", "skip",
                     "not shown: the gradients are missing or have the wrong shape (see the "
                     "gradient checks).", case)
            return
        norms = {k: float(np.max(np.abs(grads[k]))) for k in self.params}
        lesson = ("With every parameter zero the hidden activations are relu(0) = 0 and W2 is "
                  "zero, so no signal flows back into the hidden layer: the gradients of W1, b1 "
                  "and W2 are exactly zero and only b2 moves (it learns the class "
                  "frequencies). Gradient descent therefore never changes W1 or W2 and the net "
                  "stays a constant classifier. Starting all weights at one common non-zero "
                  "value is no better (see the symmetric-initialisation check): the hidden "
                  "units stay identical. This is why weights start random "
                  "(scale * np.random.randn) while biases may start at zero.")
        expected = (all(norms[k] == 0 for k in ("W1", "b1", "W2")) and norms["b2"] > 0)
        numbers = {f"max|{self.G(k)}|": norms[k] for k in self.params}
        if expected:
            self.add("symmetry", "symmetry:zero-init", "pass",
                     "(for information) " + lesson, case, details=numbers)
        else:
            got = ", ".join(f"max|{self.G(k)}| = {_fmt(v)}" for k, v in norms.items())
            self.add("symmetry", "symmetry:zero-init", "warn",
                     f"(for information) with every parameter zero your gradients are {got}; "
                     f"a correct net gives exactly zero for W1, b1 and W2 and a non-zero "
                     f"gradient only for b2. {lesson}", case, details=numbers)
