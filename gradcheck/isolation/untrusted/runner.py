"""The untrusted side: import a submission and call its layers by plan.

This module is deliberately small and self-contained. It imports only the standard library
and NumPy, never anything else of gradcheck's, so that it can run as a plain script in a
sandboxed child process (see ``_sandbox``) as well as in-process (``--isolation none``).
It knows nothing of checks or verdicts: it receives *call plans* (plain JSON data describing
which names to call and how to arrange the arrays) and returns plain arrays plus a small
JSON description of what came back. The parent validates everything it returns.

Request/response shapes (all JSON except the arrays):

``load()`` -> ``{"modules": [name, ...], "errors": [{"file", "line", "type", "message"}]}``

``describe(names)`` -> ``{name: {"module", "kind": "function"|"class"|"other",
"params": [[pname, pkind, has_default], ...] | None, "methods": {meth: params}}}``

``call(job, arrays)`` -> ``(meta, out_arrays)`` where ``job`` is
``{"plan": {...}, "seed": int, "config": {...}, "backward": bool}`` and ``arrays`` maps
the plan's array names (and ``"dout"``) to ``numpy.ndarray``. ``out_arrays`` holds
``"out"``, ``"grad.<name>"``, ``"state.<name>"`` and ``"after.<name>"`` (every input
array as it is after the call, for purity checks); ``meta`` describes every returned value
(``{"type", "dtype", "shape"}``), the captured output and any exception.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import os
import pkgutil
import random
import re
import sys
import time
import traceback
import types
import warnings
from typing import Any

import numpy as np

OUTPUT_CAP = 64 * 1024
_RELATIVE_RE = re.compile(r"^[ \t]*from[ \t]+\.", re.M)
_DEF_RE = re.compile(r"^[ \t]*(?:def|class)[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
#: arrays larger than this (elements) are never copied out of a call (see _executor)
MAX_ELEMENTS = 20_000_000
_SKIP_DIRS = {"__pycache__", "tests", "test", "venv", ".venv", "site-packages", "node_modules"}
_SKIP_FILES = {"setup.py", "conftest.py"}


class _CappedBuffer(io.TextIOBase):
    """A text sink that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int = OUTPUT_CAP) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:  # type: ignore[override]
        s = str(s)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters not kept]"
        return out


def describe_value(v: Any) -> dict[str, Any]:
    """Plain description of a returned value: type name, dtype and shape where it has them."""
    d: dict[str, Any] = {"type": type(v).__name__}
    if isinstance(v, np.ndarray):
        d["type"] = "ndarray" if type(v) is np.ndarray else f"ndarray subclass {type(v).__name__}"
        d["dtype"] = str(np.ndarray.__getattribute__(v, "dtype"))
        d["shape"] = list(np.ndarray.__getattribute__(v, "shape"))
    elif isinstance(v, (tuple, list)):
        d["len"] = len(v)
    elif isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, bool):
        d["dtype"] = str(np.asarray(v).dtype) if isinstance(v, np.generic) else type(v).__name__
        d["shape"] = []
    return d


def as_plain_array(v: Any) -> np.ndarray | None:
    """A base-class ndarray copy of ``v`` if it is an array or a real scalar, else None.

    Subclass methods are never called: the data is viewed through ``np.ndarray`` itself.
    """
    if isinstance(v, np.ndarray):
        base = np.ndarray.view(v, np.ndarray)
        if base.size > MAX_ELEMENTS:  # refused before copying (the parent would drop it)
            return None
        return np.array(base, copy=True)
    if isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, bool):
        return np.array(v)
    return None


class CallFailed(Exception):
    """Raised inside ``call`` to stop a plan with a described failure."""

    def __init__(self, phase: str, where: str, exc: BaseException | None, message: str = ""):
        super().__init__(message)
        self.phase, self.where, self.exc, self.message = phase, where, exc, message


class Runner:
    """Loads one submission and executes call plans against it.

    Parameters
    ----------
    root : path of a submission folder or a single ``.py`` file.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.modules: list[Any] = []
        self.errors: list[dict[str, Any]] = []
        self.stdout = _CappedBuffer()
        self.stderr = _CappedBuffer()
        self._options: dict[str, Any] = {}
        #: optional hook ``(phase, where) -> None`` called before submitted code runs
        #: (the sandbox uses it to say which function a timeout interrupted)
        self.on_invoke: Any = None

    def _notify(self, phase: str, where: str) -> None:
        if self.on_invoke is not None:
            self.on_invoke(phase, where)

    # ------------------------------------------------------------------ loading
    def _capture(self) -> contextlib.ExitStack:
        """Route the submission's prints and warnings into the capped buffers."""
        stack = contextlib.ExitStack()
        stack.enter_context(contextlib.redirect_stdout(self.stdout))
        stack.enter_context(contextlib.redirect_stderr(self.stderr))
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("always")
        sink = self.stderr

        def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
            sink.write(warnings.formatwarning(message, category, filename, lineno, line))

        warnings.showwarning = show
        return stack

    def _record_import_error(self, name: str, path: str, exc: BaseException) -> None:
        line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
        file = getattr(exc, "filename", None) if isinstance(exc, SyntaxError) else None
        if line is None:
            for frame in reversed(traceback.extract_tb(exc.__traceback__)):
                if frame.filename.startswith(self._base_dir()):
                    line, file = frame.lineno, frame.filename
                    break
        file = file or path
        try:
            file = os.path.relpath(file, self._base_dir())
        except ValueError:
            pass
        self.errors.append({
            "module": name,
            "file": file,
            "line": line,
            "type": type(exc).__name__,
            "message": str(exc)[:2000],
            "defines": self._defined_names(path),
        })

    @staticmethod
    def _defined_names(path: str) -> list[str]:
        """Names a module that failed to import would have defined (read from its text)."""
        src = path if path.endswith(".py") else os.path.join(path, "__init__.py")
        try:
            with open(src, "rb") as fh:
                text = fh.read(1_000_000).decode("utf-8", "replace")
        except OSError:
            return []
        return sorted(set(_DEF_RE.findall(text)))[:500]

    def _base_dir(self) -> str:
        return self.root if os.path.isdir(self.root) else os.path.dirname(self.root)

    def _import(self, name: str, path: str) -> Any:
        self._notify("import", name)
        try:
            with self._capture():
                mod = importlib.import_module(name)
        except SystemExit as exc:  # sys.exit() at import time is an import failure
            self._record_import_error(name, path, exc)
            return None
        except Exception as exc:
            self._record_import_error(name, path, exc)
            return None
        self.modules.append(mod)
        return mod

    def load(self) -> dict[str, Any]:
        """Import every top-level module and package of the submission."""
        base = self._base_dir()
        if base not in sys.path:
            sys.path.insert(0, base)
        if os.path.isfile(self.root):
            name = os.path.splitext(os.path.basename(self.root))[0]
            self._import(name, self.root)
        elif os.path.isfile(os.path.join(self.root, "__init__.py")) or \
                self._uses_relative_imports():
            # The folder is itself a package (or its modules import each other relatively, as
            # the contents of cs231n/ uploaded without the folder do): import it under its own
            # name, so that both its relative imports and `from cs231n.layers import ...`
            # work, unless that name is taken by an installed module; then every module in it.
            pkg_name = os.path.basename(self.root)
            if not pkg_name.isidentifier() or pkg_name in sys.modules or \
                    importlib.util.find_spec(pkg_name) is not None:
                pkg_name = "submission"
            init = os.path.join(self.root, "__init__.py")
            if os.path.isfile(init):
                spec = importlib.util.spec_from_file_location(
                    pkg_name, init, submodule_search_locations=[self.root])
                assert spec is not None and spec.loader is not None
                pkg = importlib.util.module_from_spec(spec)
            else:
                spec, pkg = None, types.ModuleType(pkg_name)
                pkg.__path__ = [self.root]
                pkg.__package__ = pkg_name
            sys.modules[pkg_name] = pkg
            self._notify("import", pkg_name)
            try:
                if spec is not None:
                    with self._capture():
                        spec.loader.exec_module(pkg)
                self.modules.append(pkg)
                self._walk_package(pkg_name, [self.root])
            except (Exception, SystemExit) as exc:
                self._record_import_error(pkg_name, init, exc)
        else:
            for entry in sorted(os.listdir(self.root)):
                full = os.path.join(self.root, entry)
                if entry.startswith((".", "_")) and entry != "__init__.py":
                    continue
                if os.path.isfile(full) and entry.endswith(".py") and entry not in _SKIP_FILES \
                        and not entry.startswith("test_"):
                    self._import(entry[:-3], full)
                elif os.path.isdir(full) and entry not in _SKIP_DIRS and entry.isidentifier() \
                        and self._is_package_dir(entry, full):
                    if self._import(entry, full) is not None:
                        self._walk_package(entry, [full])
        return {"modules": [m.__name__ for m in self.modules], "errors": self.errors}

    @staticmethod
    def _is_package_dir(name: str, full: str) -> bool:
        """A package: with an __init__.py, or a folder of modules without one (Python 3 imports
        it as a namespace package: an unzipped upload ``hw/layers.py``), unless an installed
        module of that name would be imported instead."""
        if os.path.isfile(os.path.join(full, "__init__.py")):
            return True
        try:
            has_py = any(e.endswith(".py") for e in os.listdir(full))
        except OSError:
            return False
        if not has_py or name in sys.modules:
            return False
        spec = importlib.util.find_spec(name)
        return spec is not None and spec.origin is None and any(
            os.path.abspath(p) == os.path.abspath(full)
            for p in (spec.submodule_search_locations or []))

    def _uses_relative_imports(self) -> bool:
        """Whether a top-level module of the folder imports a sibling relatively."""
        for entry in sorted(os.listdir(self.root))[:500]:
            if entry.endswith(".py"):
                try:
                    with open(os.path.join(self.root, entry), "rb") as fh:
                        text = fh.read(1_000_000).decode("utf-8", "replace")
                except OSError:
                    continue
                if _RELATIVE_RE.search(text):
                    return True
        return False

    def _walk_package(self, pkg_name: str, path: list[str]) -> None:
        for info in pkgutil.iter_modules(path):
            if info.name.startswith(("_", "test_")) or info.name in {"tests", "setup", "conftest"}:
                continue
            sub = f"{pkg_name}.{info.name}"
            full = os.path.join(path[0], info.name)
            mod = self._import(sub, full if info.ispkg else full + ".py")
            if mod is not None and info.ispkg:
                self._walk_package(sub, [full])

    # ---------------------------------------------------------------- discovery
    def lookup(self, name: str) -> Any:
        for mod in self.modules:
            obj = mod.__dict__.get(name)
            if obj is not None:
                return obj
        return None

    def _relfile(self, mod: Any) -> str:
        """A module's file relative to the submission (its name if it has no file)."""
        f = getattr(mod, "__file__", None)
        if not isinstance(f, str):
            return mod.__name__
        try:
            return os.path.relpath(f, self._base_dir())
        except ValueError:
            return os.path.basename(f)

    @staticmethod
    def _params(obj: Any) -> list[list[Any]] | None:
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return None
        return [[p.name, p.kind.name, p.default is not inspect.Parameter.empty]
                for p in sig.parameters.values()]

    def describe(self, names: list[str]) -> dict[str, Any]:
        """Where each requested name was found and what it looks like.

        The module reported is the one that defines the object (``from layers import *`` in
        another module re-exports it; the student's code is where it was written).
        """
        found: dict[str, Any] = {}
        loaded = {m.__name__ for m in self.modules}
        for name in names:
            for mod in self.modules:
                obj = mod.__dict__.get(name)
                if obj is None:
                    continue
                home = getattr(obj, "__module__", None)
                if isinstance(home, str) and home in loaded and home != mod.__name__:
                    mod = sys.modules.get(home, mod)
                # other modules defining a DIFFERENT object under the same name (an old
                # experiment beside the real file): the report says which one was checked
                others = sorted({self._relfile(m) for m in self.modules
                                 if m.__dict__.get(name) is not None
                                 and m.__dict__.get(name) is not obj
                                 and getattr(m.__dict__.get(name), "__module__", m.__name__)
                                 != home})
                if inspect.isclass(obj):
                    methods = {}
                    for meth in ("forward", "backward", "loss", "gradient", "numerical_gradient",
                                 "predict"):
                        m = inspect.getattr_static(obj, meth, None)
                        if m is not None and callable(getattr(obj, meth, None)):
                            params = self._params(getattr(obj, meth))
                            methods[meth] = params[1:] if params else params  # drop self
                    found[name] = {"module": mod.__name__, "kind": "class",
                                   "params": self._params(obj), "methods": methods,
                                   "also_in": others}
                elif callable(obj):
                    found[name] = {"module": mod.__name__, "kind": "function",
                                   "params": self._params(obj), "also_in": others}
                else:
                    found[name] = {"module": mod.__name__, "kind": "other",
                                   "params": None, "type": type(obj).__name__}
                break
        return found

    # -------------------------------------------------------------------- calls
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
        except (Exception, SystemExit) as exc:
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
