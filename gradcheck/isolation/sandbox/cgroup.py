"""One cgroup (v2 memory+pids, or v1 memory and pids) for all of a submission's processes:
memory and process caps together, and the way to kill stragglers."""

from __future__ import annotations

import os
import signal
import time
from typing import Any






# ------------------------------------------------------------------------------ cgroups
_CG = "/sys/fs/cgroup"


def _own_cgroups() -> dict[str, str]:
    """controller (or "" for cgroup v2) -> this process's cgroup path."""
    out: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) == 3:
                    for c in parts[1].split(",") if parts[1] else [""]:
                        out[c] = parts[2]
    except OSError:
        pass
    return out


def _cg_write(path: str, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


class _Cgroup:
    """A fresh cgroup (v2 with memory+pids, else the v1 memory and pids controllers) below
    this process's own, holding the keeper and everything it starts: ``memory_mb`` and the
    process count then bind the submission's processes *together*. ``create`` returns None
    where cgroups are not usable (no permission, no controller): per-process limits only."""

    def __init__(self, dirs: list[str], version: str) -> None:
        self.dirs, self.version = dirs, version

    @classmethod
    def create(cls, memory: int | None, pids: int | None) -> "_Cgroup | None":
        name = f"gradcheck-sandbox-{os.getpid()}-{os.urandom(4).hex()}"
        own = _own_cgroups()
        made: list[str] = []
        try:
            if os.path.isfile(os.path.join(_CG, "cgroup.controllers")):      # v2
                base = os.path.join(_CG, own.get("", "/").lstrip("/"))
                if not os.path.isdir(base):
                    return None
                try:
                    _cg_write(os.path.join(base, "cgroup.subtree_control"), "+memory +pids")
                except OSError:
                    pass
                d = os.path.join(base, name)
                os.mkdir(d)
                made.append(d)
                if memory is not None:
                    _cg_write(os.path.join(d, "memory.max"), str(memory))
                    try:
                        _cg_write(os.path.join(d, "memory.swap.max"), "0")
                    except OSError:
                        pass
                if pids is not None:
                    _cg_write(os.path.join(d, "pids.max"), str(pids))
                return cls(made, "v2")
            mem_root = os.path.join(_CG, "memory")
            if not os.path.isfile(os.path.join(mem_root, "memory.limit_in_bytes")):
                return None
            for ctrl, root in (("memory", mem_root), ("pids", os.path.join(_CG, "pids"))):
                if ctrl == "pids" and not os.path.isfile(os.path.join(root, "cgroup.procs")):
                    continue
                base = os.path.join(root, own.get(ctrl, "/").lstrip("/"))
                d = os.path.join(base if os.path.isdir(base) else root, name)
                os.mkdir(d)
                made.append(d)
                if ctrl == "memory":
                    try:  # the keeper's memory moves with it (the limit counts it too)
                        _cg_write(os.path.join(d, "memory.move_charge_at_immigrate"), "3")
                    except OSError:
                        pass
                if ctrl == "memory" and memory is not None:
                    _cg_write(os.path.join(d, "memory.limit_in_bytes"), str(memory))
                    if os.path.exists(os.path.join(d, "memory.memsw.limit_in_bytes")):
                        try:
                            _cg_write(os.path.join(d, "memory.memsw.limit_in_bytes"),
                                      str(memory))
                        except OSError:
                            pass
                if ctrl == "pids" and pids is not None:
                    _cg_write(os.path.join(d, "pids.max"), str(pids))
            return cls(made, "v1")
        except OSError:
            for d in reversed(made):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            return None

    def joiner(self) -> Any:
        """A pre-exec function that moves the new child into the cgroup before it runs
        Python at all (so that all of its memory is charged here). Only raw writes to paths
        prepared now; failures are ignored (the parent then adds it by pid)."""
        paths = [os.path.join(d, "cgroup.procs").encode() for d in self.dirs]

        def join() -> None:
            for p in paths:
                try:
                    fd = os.open(p, os.O_WRONLY)
                    try:
                        os.write(fd, b"0")
                    finally:
                        os.close(fd)
                except OSError:
                    pass
        return join

    def add(self, pid: int) -> None:
        for d in self.dirs:
            _cg_write(os.path.join(d, "cgroup.procs"), str(pid))

    def pids(self) -> set[int]:
        out: set[int] = set()
        for d in self.dirs:
            try:
                with open(os.path.join(d, "cgroup.procs")) as fh:
                    out |= {int(x) for x in fh.read().split()}
            except (OSError, ValueError):
                pass
        out.discard(os.getpid())
        return out

    def kill(self, rounds: int = 100) -> None:
        """SIGKILL everything in the cgroup, until it is empty."""
        for _ in range(rounds):
            live = self.pids()
            if not live:
                return
            for pid in live:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill()
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        self.dirs = []


