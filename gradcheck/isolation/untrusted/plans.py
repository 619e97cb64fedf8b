"""The call-plan interpreter: run one JSON call plan against the loaded submission.

A plan's ``style`` picks the convention: ``functions`` (cs231n ``X_forward``/``X_backward``),
``loss_function`` (cs231n losses), ``class`` (dlfs layer objects), ``model`` (whole networks).
Standard library and NumPy only: nothing of the checker (see ``__init__``).
"""

from __future__ import annotations

import os
import random
import time
import traceback
from typing import Any, Callable

import numpy as np

from .values import as_plain_array, describe_value


class CallFailed(Exception):
    """Raised inside ``call`` to stop a plan with a described failure."""

    def __init__(self, phase: str, where: str, exc: BaseException | None, message: str = ""):
        super().__init__(message)
        self.phase, self.where, self.exc, self.message = phase, where, exc, message


class Plans:
    """Executes call plans; ``lookup(name)`` finds a submitted object, ``capture()`` and
    ``notify(phase, where)`` wrap every call of submitted code, ``base_dir()`` is the
    submission's folder (for short tracebacks)."""

    def __init__(self, lookup: Callable[[str], Any], capture: Callable[[], Any],
                 notify: Callable[[str, str], None], base_dir: Callable[[], str]) -> None:
        self.lookup = lookup
        self._capture = capture
        self._notify = notify
        self._base_dir = base_dir
        self._options: dict[str, Any] = {}

    def _get(self, name: str, phase: str) -> Any:
        obj = self.lookup(name)
        if obj is None:
            raise CallFailed(phase, name, None, f"{name} is not defined")
        return obj

    def _invoke(self, phase: str, where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._notify(phase, where)
        try:
            with self._capture():
                return fn(*args, **kwargs)
        except CallFailed:
            raise
        except BaseException as exc:  # noqa: BLE001 - sys.exit(), pytest.skip(), KeyboardInterrupt
            # raised by submitted code are that call's failure: a layer can't skip or end its
            # own checks
            raise CallFailed(phase, where, exc) from None

    def call(self, job: dict[str, Any], arrays: dict[str, np.ndarray]
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Execute one call plan: construct/forward, then optionally backward."""
        plan = job["plan"]
        config = dict(job.get("config") or {})
        seed = int(job.get("seed", 0))
        np.random.seed(seed % (2**32))
        random.seed(seed)
        meta: dict[str, Any] = {"values": {}, "error": None}
        out: dict[str, np.ndarray] = {}
        t0 = time.perf_counter()
        self._options = dict(job.get("options") or {})
        try:
            handler = getattr(self, "_style_" + plan["style"])
            handler(plan, config, arrays, job.get("backward", False), meta, out)
        except CallFailed as failure:
            exc = failure.exc
            meta["error"] = {
                "phase": failure.phase,
                "where": failure.where,
                "type": type(exc).__name__ if exc is not None else "CallFailed",
                "message": (failure.message or (str(exc) if exc is not None else ""))[:2000],
                "traceback": self._short_tb(exc),
            }
        for name, arr in arrays.items():
            out["after." + name] = arr
        meta["duration"] = time.perf_counter() - t0
        return meta, out

    def _short_tb(self, exc: BaseException | None) -> str:
        if exc is None:
            return ""
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename.startswith(self._base_dir())]
        lines = [f"{os.path.relpath(f.filename, self._base_dir())}:{f.lineno} in {f.name}: "
                 f"{(f.line or '').strip()}" for f in frames[-4:]]
        return "\n".join(lines)[:4000]

    def _put(self, meta: dict, out: dict, key: str, value: Any) -> None:
        meta["values"][key] = describe_value(value)
        arr = as_plain_array(value)
        if arr is not None:
            out[key] = arr

    def _put_grads(self, meta: dict, out: dict, names: list[str], result: Any, where: str) -> None:
        meta["values"]["backward"] = describe_value(result)
        if len(names) == 1 and not isinstance(result, (tuple, list)):
            result = (result,)
        if not isinstance(result, (tuple, list)):
            raise CallFailed("backward", where, None,
                             f"{where} returned {type(result).__name__}, expected a tuple of "
                             f"{len(names)} gradients ({', '.join('d' + n for n in names)})")
        if len(result) != len(names):
            raise CallFailed("backward", where, None,
                             f"{where} returned {len(result)} values, expected {len(names)} "
                             f"({', '.join('d' + n for n in names)})")
        for name, value in zip(names, result):
            self._put(meta, out, "grad." + name, value)

    def _param_dict(self, spec: dict | None, config: dict, arrays: dict) -> dict | None:
        if not spec:
            return None
        d: dict[str, Any] = {k: config[k] for k in spec.get("config", []) if k in config}
        for k in spec.get("arrays", []):
            if k in arrays:
                d[k] = arrays[k]
        return d

    def _style_functions(self, plan: dict, config: dict, arrays: dict, backward: bool,
                         meta: dict, out: dict) -> None:
        """cs231n: ``out, cache = F(*args[, param]); grads = G(dout, cache)``."""
        fwd = self._get(plan["forward"], "forward")
        args = [arrays[a] for a in plan["args"]]
        pdict = self._param_dict(plan.get("param"), config, arrays)
        if pdict is not None:
            args.append(pdict)
        result = self._invoke("forward", plan["forward"], fwd, *args)
        meta["values"]["forward"] = describe_value(result)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CallFailed("forward", plan["forward"], None,
                             f"{plan['forward']} returned {describe_value(result)['type']}"
                             f"{' of length ' + str(len(result)) if isinstance(result, (tuple, list)) else ''}"
                             ", expected a pair (out, cache)")
        value, cache = result
        self._put(meta, out, "out", value)
        if pdict is not None:
            for k in plan.get("state", []):
                if k in pdict:
                    self._put(meta, out, "state." + k, pdict[k])
        again = self._options.get("repeat_forward")
        if again is not None:  # a second call, the random state advanced (not reseeded)
            args2 = [arrays[a] for a in plan["args"]]
            if pdict is not None:
                args2.append(self._param_dict(plan.get("param"), {**config, **again}, arrays))
            second = self._invoke("forward", plan["forward"], fwd, *args2)
            if isinstance(second, (tuple, list)) and len(second) == 2:
                self._put(meta, out, "out.second", second[0])
        if backward:
            bwd = self._get(plan["backward"], "backward")
            grads = self._invoke("backward", plan["backward"], bwd, arrays["dout"], cache)
            self._put_grads(meta, out, plan["grads"], grads, plan["backward"])
            self._put(meta, out, "out.after", value)
            if backward == 2:  # once more on the same cache: is backward repeatable?
                again = self._invoke("backward", plan["backward"], bwd, arrays["dout2"], cache)
                self._put_grads(meta, out, ["again." + g for g in plan["grads"]], again,
                                plan["backward"])

    def _style_loss_function(self, plan: dict, config: dict, arrays: dict, backward: bool,
                             meta: dict, out: dict) -> None:
        """cs231n losses: ``loss, dx = F(x, y)``."""
        fn = self._get(plan["function"], "forward")
        result = self._invoke("forward", plan["function"], fn, *[arrays[a] for a in plan["args"]])
        meta["values"]["forward"] = describe_value(result)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CallFailed("forward", plan["function"], None,
                             f"{plan['function']} returned {describe_value(result)['type']}, "
                             "expected a pair (loss, dx)")
        self._put(meta, out, "out", result[0])
        self._put(meta, out, "grad." + plan["grads"][0], result[1])

    def _style_class(self, plan: dict, config: dict, arrays: dict, backward: bool,
                     meta: dict, out: dict) -> None:
        """dlfs: ``layer = C(*init); out = layer.forward(*args, **kw); dx = layer.backward(dout)``."""
        cls = self._get(plan["class"], "construct")
        init_args = [arrays[a] for a in plan.get("init_args", [])]
        init_kw = {kw: config[key] for kw, key in plan.get("init_config", {}).items() if key in config}
        for kw, key in plan.get("init_arrays", {}).items():
            if key in arrays:
                init_kw[kw] = arrays[key]
        layer = self._invoke("construct", plan["class"], cls, *init_args, **init_kw)
        fwd_args = [arrays[a] for a in plan["forward_args"]]
        fwd_kw = {kw: config[key] for kw, key in plan.get("forward_config", {}).items()
                  if key in config}
        where = plan["class"] + ".forward"
        forward = self._invoke("forward", where, getattr, layer, "forward")
        value = self._invoke("forward", where, forward, *fwd_args, **fwd_kw)
        meta["values"]["forward"] = describe_value(value)
        self._put(meta, out, "out", value)
        for k in plan.get("state", []):
            if hasattr(layer, k):
                self._put(meta, out, "state." + k, getattr(layer, k))
        if self._options.get("repeat_forward") is not None:  # same object, state advanced
            self._put(meta, out, "out.second",
                      self._invoke("forward", where, forward, *fwd_args, **fwd_kw))
        if self._options.get("update_params"):
            # an optimiser updates the parameter arrays in place (the book's params dict is
            # shared with the layers): the next forward must see the new values
            for name, arr in zip(plan.get("init_args", []), init_args):
                new = arrays.get(name + ".new")
                if new is not None and isinstance(arr, np.ndarray) and arr.shape == new.shape:
                    arr[...] = new
            self._put(meta, out, "out.updated",
                      self._invoke("forward", where, forward, *fwd_args, **fwd_kw))
        if backward:
            where = plan["class"] + ".backward"
            bwd = self._invoke("backward", where, getattr, layer, "backward")
            for prefix, key in (("", "dout"), ("again.", "dout2"))[:2 if backward == 2 else 1]:
                dout = 1 if plan.get("loss") else arrays[key]
                grads = self._invoke("backward", where, bwd, dout)
                self._put_grads(meta, out, [prefix + g for g in plan.get("backward_grads", [])],
                                grads, where)
                for name, attr in plan.get("attr_grads", {}).items():
                    if not hasattr(layer, attr):
                        raise CallFailed("backward", where, None,
                                         f"{plan['class']} has no attribute {attr!r} after "
                                         f"backward: the gradient of {name} must be stored as "
                                         f"self.{attr}")
                    self._put(meta, out, "grad." + prefix + name, getattr(layer, attr))
                if not prefix:
                    self._put(meta, out, "out.after", value)

    def _style_model(self, plan: dict, config: dict, arrays: dict, backward: bool,
                     meta: dict, out: dict) -> None:
        """Whole models: ``net = C(*dims, **kw)``, optionally set ``net.params``, run an op.

        The op (``config["op"]``) names a list of steps in ``plan["ops"]``; each step calls a
        method with arrays and puts what it returns: ``"out"`` (a value), ``"grads"`` (a dict
        keyed like ``plan["params"]``) or a list of those for a returned tuple. Steps marked
        ``"backward"`` run only in backward jobs. Every op first sets the parameters found in
        ``arrays`` (``"inplace"``: ``net.params[k][...] = v``; else ``net.params[k] = v``).
        """
        cls = self._get(plan["class"], "construct")
        args = [config[k] for k in plan.get("init_args", [])]
        kw = {k: config[c] for k, c in plan.get("init_config", {}).items() if c in config}
        net = self._invoke("construct", plan["class"], cls, *args, **kw)
        where = plan["class"] + ".params"
        params = self._invoke("construct", where, getattr, net, "params")
        if not isinstance(params, dict):
            raise CallFailed("construct", where, None, f"{where} is "
                             f"{type(params).__name__}, expected a dict of parameter arrays")
        inplace = plan.get("set_params") == "inplace"
        for k in plan["params"]:
            if k not in arrays:
                continue
            if k not in params:
                raise CallFailed("construct", where, None, f"{where} has no key {k!r}")
            if inplace:
                def assign(key: str = k) -> None:
                    params[key][...] = arrays[key]
                self._invoke("construct", f"{where}[{k!r}][...] = ...", assign)
            else:
                params[k] = arrays[k]
        op = config.get("op", "init")
        if op == "init":
            for k in plan["params"]:
                if k in params:
                    self._put(meta, out, "param." + k, params[k])
        for step in plan.get("ops", {}).get(op, []):
            if step.get("backward") and not backward:
                continue
            where = f"{plan['class']}.{step['call']}"
            phase = "backward" if step.get("backward") else "forward"
            method = self._invoke(phase, where, getattr, net, step["call"])
            value = self._invoke(phase, where, method, *[arrays[a] for a in step["args"]])
            put = step.get("put")
            if put is None:
                continue
            meta["values"][step["call"]] = describe_value(value)
            targets = [put] if isinstance(put, str) else list(put)
            values = [value] if isinstance(put, str) else value
            if not isinstance(values, (tuple, list)) or len(values) != len(targets):
                raise CallFailed(phase, where, None, f"{where} returned "
                                 f"{describe_value(value)['type']}, expected "
                                 f"({', '.join(targets)})")
            for target, v in zip(targets, values):
                if target != "grads":
                    self._put(meta, out, target, v)
                elif backward:
                    if not isinstance(v, dict):
                        raise CallFailed(phase, where, None, f"{where} returned gradients as "
                                         f"{type(v).__name__}, expected a dict keyed like params")
                    for k in plan["params"]:
                        if k in v:
                            self._put(meta, out, "grad." + k, v[k])
