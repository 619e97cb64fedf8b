"""What the child may see: the folders to hide (the checker, the reference, the source
checkout), the paths the interpreter needs, and the world-writable folders that get a private
tmpfs."""

from __future__ import annotations

import os
import stat
import sys

import numpy as np






# ----------------------------------------------------------------------------- the executor
def _hidden_dirs() -> list[str]:
    """Directories the child must not read: the checker and the reference layers.

    Importing them is blocked by a meta-path finder; hiding them under an empty tmpfs (in the
    child's own mount namespace) also stops reading them by file path, so a submission cannot
    delegate to the reference implementation.
    """
    import gradcheck
    import gradcheck.reference

    dirs = {os.path.dirname(os.path.abspath(gradcheck.__file__)),
            os.path.dirname(os.path.abspath(gradcheck.reference.__file__))}
    return sorted(dirs)


def _real(p: str) -> str:
    return os.path.realpath(p)


_NEEDED: list[str] | None = None


def _needed_paths() -> list[str]:
    """What the child's interpreter needs to see: its prefixes, its executable's folder,
    the standard library and the site-packages folder NumPy is imported from."""
    global _NEEDED
    if _NEEDED is None:
        import sysconfig

        paths = [sys.prefix, sys.base_prefix, sys.exec_prefix,
                 os.path.dirname(_real(sys.executable)), os.path.dirname(os.__file__),
                 os.path.dirname(os.path.dirname(np.__file__))]
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            try:
                paths.append(sysconfig.get_paths()[key])
            except KeyError:
                pass
        import _ctypes  # lib-dynload (an extension module's folder)

        paths.append(os.path.dirname(getattr(_ctypes, "__file__", "") or ""))
        _NEEDED = sorted({_real(p) for p in paths if p and os.path.isdir(p)})
    return list(_NEEDED)


def _checkout_root() -> str | None:
    """The source checkout gradcheck runs from (not installed in site-packages): the folder
    above the package when it holds pyproject.toml or .git. It also holds other copies of the
    reference (build/lib, git objects, tests)."""
    import gradcheck

    root = os.path.dirname(os.path.dirname(_real(gradcheck.__file__)))
    if os.path.basename(root) in ("site-packages", "dist-packages"):
        return None
    if os.path.exists(os.path.join(root, "pyproject.toml")) or \
            os.path.exists(os.path.join(root, ".git")):
        return root
    return None


_SCAN_ROOTS = ("/run", "/var", "/dev", "/tmp", "/home", "/srv", "/opt", "/mnt")
_WW: list[str] | None = None


def _world_writable_dirs(depth: int = 3, budget: int = 20000) -> list[str]:
    """World-writable directories a few levels under the usual places (bounded scan, no
    symlinks followed, /proc and /sys never entered): each gets a private tmpfs in the
    child, so that nothing written there survives the run. Cached for the process."""
    global _WW
    if _WW is not None:
        return list(_WW)
    found: list[str] = []
    stack = [(r, 0) for r in _SCAN_ROOTS]
    while stack and budget > 0:
        d, level = stack.pop()
        budget -= 1
        try:
            st = os.lstat(d)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        if st.st_mode & 0o002:
            found.append(d)
            continue  # everything below is hidden with it
        if level >= depth:
            continue
        try:
            with os.scandir(d) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False) and e.path not in ("/proc", "/sys"):
                        stack.append((e.path, level + 1))
        except OSError:
            continue
    _WW = sorted(found)
    return list(_WW)


