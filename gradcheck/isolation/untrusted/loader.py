"""Loading a submission: find its modules and packages, import them (import errors recorded
with file and line), and describe the names a profile looks for.

Standard library and NumPy only: nothing of the checker (see ``__init__``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import sys
import traceback
import types
from typing import Any, Callable

_RELATIVE_RE = re.compile(r"^[ \t]*from[ \t]+\.", re.M)
_DEF_RE = re.compile(r"^[ \t]*(?:def|class)[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_SKIP_DIRS = {"__pycache__", "tests", "test", "venv", ".venv", "site-packages", "node_modules"}
_SKIP_FILES = {"setup.py", "conftest.py"}


class Loader:
    """The modules of one submission (a folder or a single ``.py`` file).

    ``capture()`` gives the context that captures the submission's output while it is
    imported; ``notify(phase, where)`` is called before submitted code runs.
    """

    def __init__(self, root: str, capture: Callable[[], Any],
                 notify: Callable[[str, str], None]) -> None:
        self.root = os.path.abspath(root)
        self.modules: list[Any] = []
        self.errors: list[dict[str, Any]] = []
        self._capture = capture
        self._notify = notify

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
        except BaseException as exc:  # noqa: BLE001 - sys.exit(), KeyboardInterrupt, pytest.skip()
            # at import time: a failure of this module only, never of the whole load
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
            except BaseException as exc:  # noqa: BLE001 - contained to this package
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
