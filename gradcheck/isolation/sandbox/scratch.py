"""The scratch copy of a submission: copied without recursion under depth, entry and size
caps (symlinks out of the folder refused), and removed without recursion."""

from __future__ import annotations

import os
import shutil
import stat
from typing import Any




COPY_CAP = 256 << 20                   # bytes of a submission copied into the scratch dir
COPY_DEPTH = 64                        # folder levels of a submission copied
COPY_FILES = 20000                     # files and folders of a submission copied
_SKIP_COPY = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "node_modules",
              ".mypy_cache", ".pytest_cache", ".ipynb_checkpoints"}


def _copy_tree(src: str, dst: str) -> dict[str, Any] | None:
    """Copy a submission folder, without recursion (an explicit stack), at most
    ``COPY_DEPTH`` levels deep, ``COPY_FILES`` entries and ``COPY_CAP`` bytes. Symlinks are
    re-created (relative) when they point inside the folder and refused when they point
    outside it. Returns a load error, or None."""
    total = entries = 0

    def err(kind: str, rel: str | None, message: str) -> dict[str, Any]:
        return {"kind": "load", "type": kind, "file": rel, "line": None, "message": message}

    stack: list[tuple[str, int]] = [(".", 0)]
    while stack:
        rel_dir, depth = stack.pop()
        dirpath = os.path.normpath(os.path.join(src, rel_dir))
        out_dir = os.path.normpath(os.path.join(dst, rel_dir))
        try:
            with os.scandir(dirpath) as it:
                listing = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in it)
        except OSError as exc:
            return err("CopyError", rel_dir, f"could not read the folder {rel_dir!r}: "
                       f"{exc.strerror or exc}")
        subdirs = []
        for name, is_dir in listing:
            if is_dir and name in _SKIP_COPY:
                continue
            entries += 1
            if entries > COPY_FILES:
                return err("TooLarge", None, f"the submission has more than {COPY_FILES} "
                                             f"files and folders")
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            target_out = os.path.join(out_dir, name)
            try:
                if os.path.islink(full):
                    real = os.path.realpath(full)
                    if not (real == src or real.startswith(src + os.sep)) or \
                            not os.path.exists(real):
                        return err("UnsafeSymlink", rel,
                                   f"{rel} is a symbolic link to {os.readlink(full)!r}, which "
                                   f"is outside the submission folder (or missing): symlinks "
                                   f"out of a submission are refused. Replace it with the file "
                                   f"itself.")
                    link = os.path.relpath(os.path.join(dst, os.path.relpath(real, src)),
                                           out_dir)
                    os.symlink(link, target_out)
                    continue  # a linked folder's content is copied where it really lives
                st = os.lstat(full)
                if stat.S_ISDIR(st.st_mode):
                    if depth + 1 > COPY_DEPTH:
                        return err("TooDeep", rel, f"the submission has a folder nested deeper "
                                                   f"than {COPY_DEPTH} levels ({rel[:200]}...)")
                    os.mkdir(target_out, 0o755)
                    subdirs.append((rel, depth + 1))
                elif stat.S_ISREG(st.st_mode):
                    total += st.st_size
                    if total > COPY_CAP:
                        return err("TooLarge", rel, f"the submission is larger than "
                                                    f"{COPY_CAP >> 20} MiB")
                    shutil.copyfile(full, target_out)
                    os.chmod(target_out, 0o644)
            except OSError as exc:
                return err("CopyError", rel, f"could not copy {rel!r}: {exc.strerror or exc}")
        stack.extend(reversed(subdirs))
    return None


def _iter_tree(top: str) -> Any:
    """Every path under ``top`` (not following symlinks), without recursion."""
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    yield e.path
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
        except OSError:
            continue


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _rmtree(path: str, budget: int = 5_000_000) -> None:
    """Remove a directory tree of any depth: no recursion, one open directory at a time (it
    walks down by name and back up by ``..``, relative to file descriptors, so no path grows
    long). Never raises; what cannot be removed is left (and skipped, so it terminates)."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        return
    names: list[str] = []          # the way down from ``path`` to the current directory
    stuck: set[tuple[int, int]] = set()
    try:
        while budget > 0:
            budget -= 1
            try:
                os.fchmod(fd, 0o700)
            except OSError:
                pass
            sub = None
            try:
                with os.scandir(fd) as it:
                    listing = [(e.name, e.is_dir(follow_symlinks=False),
                                e.inode()) for e in it]
            except OSError:
                listing = []
            for name, is_dir, ino in listing:
                budget -= 1
                if is_dir:
                    try:
                        key = (os.stat(name, dir_fd=fd, follow_symlinks=False).st_dev, ino)
                    except OSError:
                        continue
                    if key not in stuck:
                        sub = (name, key)
                        break
                else:
                    try:
                        os.unlink(name, dir_fd=fd)
                    except OSError:
                        pass
            if sub is not None:
                try:
                    nfd = os.open(sub[0], _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    stuck.add(sub[1])
                    continue
                os.close(fd)
                fd = nfd
                names.append(sub[0])
                continue
            if not names:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            me = os.fstat(fd)
            os.close(fd)
            fd = parent
            name = names.pop()
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                stuck.add((me.st_dev, me.st_ino))
    except OSError:
        pass
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.rmdir(path)
    except OSError:
        pass


