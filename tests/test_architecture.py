"""The house rules, kept by tools: ruff passes, imports run one way, the untrusted side stays
stdlib + numpy, and ``gradcheck/__init__`` only re-exports. See docs/architecture.md."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gradcheck

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "gradcheck"

FRONT_ENDS = ("gradcheck.cli", "gradcheck.pytest_plugin", "_gradcheck_pytestplugin",
              "gradcheck.testing", "gradcheck.grading", "gradcheck.service")

# Who may import whom. "x" allows x and everything under it; "=x" allows the module x itself
# (its public names), not its submodules. Every module is governed by the longest matching
# key; a module under gradcheck/ that matches no key fails, so a new folder is placed explicitly.
# Imports within a module's own key are always allowed.
BELOW_ENGINE = ("gradcheck.catalogue", "gradcheck.isolation.protocol", "gradcheck.report",
                "gradcheck.errors")
ALLOWED: dict[str, tuple[str, ...]] = {
    "gradcheck.errors": (),
    "gradcheck._source_tree": (),
    "gradcheck.catalogue": ("gradcheck.errors",),
    "gradcheck.report": ("gradcheck.errors",),
    "gradcheck.isolation": ("gradcheck.errors",),
    "gradcheck.isolation.untrusted": (),
    # the engine may also use the reference layers (diagnose.py draws a reference convolution)
    "gradcheck.engine": (*BELOW_ENGINE, "gradcheck.reference"),
    # the core wires the engine to an executor (it picks one through the isolation package)
    "gradcheck.api": ("gradcheck.engine", "gradcheck.isolation", *BELOW_ENGINE,
                      "gradcheck.reference"),
    "gradcheck.__init__": ("gradcheck._source_tree", "gradcheck.api", "gradcheck.catalogue",
                           "gradcheck.errors", "gradcheck.report"),
}
# front ends sit over the api: the public package, the api, the catalogue's names, the report
# model and renderers, the errors, the isolation package's public names (the --isolation
# choices) and each other; never the engine or the isolation internals
for _fe in FRONT_ENDS:
    ALLOWED[_fe] = ("=gradcheck", "gradcheck.api", "gradcheck.catalogue", "gradcheck.report",
                    "gradcheck.errors", "=gradcheck.isolation", *FRONT_ENDS)

# Tolerated exceptions, each justified: (importer prefix, imported module exactly).
EXCEPTIONS: dict[tuple[str, str], str] = {
    # the parent side of the sandbox imports the packages only to find their folders
    # (``__file__``) and hide them from the child; it calls nothing in them
    ("gradcheck.isolation.sandbox", "gradcheck"): "locates the package folder to hide it",
    ("gradcheck.isolation.sandbox", "gradcheck.reference"): "locates the reference to hide it",
}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and parts != ["gradcheck", "__init__"]:
        parts.pop()
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every absolute module name the file imports, anywhere in it (inside functions too).

    Relative imports are resolved against the file's package; ``from m import n`` counts as
    importing ``m.n`` when ``n`` is a submodule in the tree, else as importing ``m``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path, root)
    if name == "gradcheck.__init__":
        package = "gradcheck"
    elif path.name == "__init__.py":
        package = name
    else:
        package = name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                if node.level - 1 > len(base):
                    raise AssertionError(f"{path}:{node.lineno}: relative import above the root")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for a in node.names:
                sub = f"{mod}.{a.name}"
                found.append((node.lineno, sub if _is_module(sub, root) else mod))
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _permits(allowed: tuple[str, ...], imported: str) -> bool:
    return any(imported == a[1:] if a.startswith("=") else _within(imported, a) for a in allowed)


def _rule_for(module: str) -> str | None:
    keys = [k for k in ALLOWED if _within(module, k)]
    return max(keys, key=len) if keys else None


def _project_files(root: Path) -> list[Path]:
    files = sorted((root / "gradcheck").rglob("*.py"))
    plugin = root / "_gradcheck_pytestplugin.py"
    return files + ([plugin] if plugin.is_file() else [])


def layering_violations(root: Path = ROOT) -> list[str]:
    problems = []
    for path in _project_files(root):
        module = _module_name(path, root)
        key = _rule_for(module)
        if key is None:
            problems.append(f"{path.relative_to(root)}: {module} is not placed in the "
                            "layering rules (tests/test_architecture.py, docs/architecture.md)")
            continue
        for lineno, imported in imports_of(path, root):
            if not _within(imported, "gradcheck"):
                continue
            if key != "gradcheck.__init__" and _within(imported, key):
                continue  # inside its own folder
            if _permits(ALLOWED[key], imported):
                continue
            if any(_within(module, k) and imported == m for k, m in EXCEPTIONS):
                continue
            problems.append(f"{path.relative_to(root)}:{lineno}: {module} imports {imported}")
    return problems


def test_ruff_passes():
    exe = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if exe is None:
        try:
            from ruff.__main__ import find_ruff_bin
            exe = find_ruff_bin()
        except ImportError:
            pytest.fail("ruff is not installed: pip install '.[test]'")
    proc = subprocess.run([exe, "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"ruff check failed:\n{proc.stdout}{proc.stderr}"


def test_imports_run_one_way():
    problems = layering_violations()
    assert not problems, "imports against docs/architecture.md:\n" + "\n".join(problems)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return tmp_path


@pytest.mark.parametrize("files, expected", [
    # a relative import inside a function, upward from report into the engine
    ({"gradcheck/report/bad.py": "def f():\n    from ..engine import checker\n",
      "gradcheck/engine/checker.py": ""}, "gradcheck.engine.checker"),
    # the catalogue must not know the engine, even by absolute name
    ({"gradcheck/catalogue/bad.py": "import gradcheck.engine\n"}, "gradcheck.engine"),
    # the engine reaches into the sandbox instead of the protocol
    ({"gradcheck/engine/bad.py": "from ..isolation.sandbox import ProcessExecutor\n",
      "gradcheck/isolation/sandbox/__init__.py": ""}, "gradcheck.isolation.sandbox"),
    # a front end reaching past the api into the engine
    ({"gradcheck/cli.py": "from .engine.checker import LayerChecker\n",
      "gradcheck/engine/checker.py": ""}, "gradcheck.engine.checker"),
    # a new top-level module nobody placed
    ({"gradcheck/newthing.py": ""}, "not placed"),
])
def test_layering_check_catches(tmp_path, files, expected):
    problems = layering_violations(_tree(tmp_path, files))
    assert any(expected in p for p in problems), problems


def test_layering_check_allows_the_data_path(tmp_path):
    root = _tree(tmp_path, {
        "gradcheck/engine/checker.py": "from ..isolation.protocol import Executor\n"
                                       "from ..catalogue import LAYERS\nfrom .. import errors\n",
        "gradcheck/api.py": "from .engine import checker\nfrom .isolation import make\n",
        "gradcheck/cli.py": "from .api import check_submission\n",
        "gradcheck/isolation/protocol.py": "", "gradcheck/errors.py": "",
    })
    assert layering_violations(root) == []


def untrusted_violations(root: Path = ROOT) -> list[str]:
    bad = []
    for path in sorted((root / "gradcheck" / "isolation" / "untrusted").rglob("*.py")):
        for lineno, imported in imports_of(path, root):
            top = imported.split(".")[0]
            if _within(imported, "gradcheck.isolation.untrusted"):
                continue  # its own relative imports
            if top in sys.stdlib_module_names or top == "numpy":
                continue
            bad.append(f"{path.relative_to(root)}:{lineno}: {imported}")
    return bad


@pytest.mark.parametrize("text", ["import scipy.special\n", "from ...errors import LoadError\n",
                                  "def f():\n    import gradcheck.report\n"])
def test_untrusted_check_catches(tmp_path, text):
    root = _tree(tmp_path, {"gradcheck/isolation/untrusted/bad.py": text,
                            "gradcheck/isolation/untrusted/ok.py": "import json, numpy\n"
                                                                   "from . import bad\n"})
    bad = untrusted_violations(root)
    assert len(bad) == 1 and "bad.py" in bad[0], bad


def test_untrusted_side_is_stdlib_and_numpy_only():
    bad = untrusted_violations()
    assert not bad, "the untrusted side may import only stdlib + numpy:\n" + "\n".join(bad)


REQUIRED = {"LAYERS", "PROFILES", "CheckResult", "GradcheckError", "LayerReport", "LoadError",
            "Report", "SandboxError", "UsageError", "check_submission", "layer_ids",
            "reference_path", "schema", "validate"}


def test_public_names():
    assert REQUIRED <= set(gradcheck.__all__), REQUIRED - set(gradcheck.__all__)
    assert len(set(gradcheck.__all__)) == len(gradcheck.__all__), "duplicates in __all__"
    for name in gradcheck.__all__:
        obj = getattr(gradcheck, name)  # importable
        owner = getattr(obj, "__module__", None)
        assert owner != "gradcheck", f"{name} is defined in gradcheck/__init__.py"


def init_problems(path: Path, all_names: list[str]) -> list[str]:
    """What gradcheck/__init__.py does besides re-exporting (and its source-tree bootstrap)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", "") == "_install_source_tree_reference"):
            continue  # the source-tree bootstrap (gradcheck/_source_tree.py)
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] \
                == ["__all__"]:
            continue
        problems.append(f"line {node.lineno}: defines something ({type(node).__name__}); "
                        "define it in a submodule and re-export it")
    imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom)
                for a in n.names}
    public = {n for n in imported if not n.startswith("_")}
    if public != set(all_names):
        problems.append(f"public re-exports and __all__ differ: {sorted(public ^ set(all_names))}")
    return problems


def test_init_only_reexports():
    problems = init_problems(PKG / "__init__.py", gradcheck.__all__)
    assert not problems, "gradcheck/__init__.py:\n" + "\n".join(problems)


@pytest.mark.parametrize("extra", ["def helper():\n    return 1\n", "VERSION = '1'\n",
                                   "from .api import _version as version\n"])
def test_init_check_catches(tmp_path, extra):
    bad = tmp_path / "__init__.py"
    bad.write_text((PKG / "__init__.py").read_text(encoding="utf-8") + extra)
    assert init_problems(bad, gradcheck.__all__)
