"""The sandboxed executor: the child process's lifecycle (spawn, signal, kill, wait, exit
reason, output), the request/reply loop with deadlines, and the limits of a run."""

from __future__ import annotations

import atexit
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
import weakref
from typing import Any

import numpy as np

from ...errors import SandboxError
from ..protocol import CallResult, LoadResult
from ..untrusted import child as wire
from .cgroup import _Cgroup
from .paths import _checkout_root, _hidden_dirs, _needed_paths, _real, _world_writable_dirs
from .scratch import _copy_tree, _iter_tree, _rmtree
from .wire import (JSON_CAP, REPLY_CAP, MessageReader, ProtocolError, _Capture, _check_loaded_message,
                   _check_pid_message, _check_result, _ChildGone, _text, _Timeout, encode_npy)
from ..untrusted.runner import __file__ as _RUNNER_PATH


CHILD_PATH = wire.__file__
BATCH = 64                             # jobs per request
GRACE = 0.2                            # SIGTERM -> SIGKILL
_LIVE: "weakref.WeakSet[ProcessExecutor]" = weakref.WeakSet()




def _fmt_s(t: float) -> str:
    return f"{t:g}"

class ProcessExecutor:
    """Runs a submission in a sandboxed child process (see the module doc and
    ``docs/sandbox.md``).

    Parameters (seconds, MiB): ``call_timeout`` wall time per call; ``load_timeout`` wall
    time to start and import; ``total_timeout`` wall time budget of the whole submission
    (after it, calls fail at once); ``memory_mb`` address space; ``cpu_seconds`` CPU time per
    child (default: the total budget); ``file_size_mb`` largest file the child may write;
    ``max_processes`` processes/threads (enforced where the OS counts them); ``output_cap``
    bytes of stdout and of stderr kept. ``mode``: ``"auto"`` (namespaces where possible),
    ``"namespace"`` or ``"session"`` (process-group sweep only). ``uid``/``gid``: who the
    child becomes when the checker runs as root. ``reply_cap_mb``: all arrays of one reply
    together. ``cgroup``: put the submission's processes in one cgroup (memory and process
    limits for them together) where cgroups are usable.
    """

    def __init__(self, path: str, *, call_timeout: float = 10.0, load_timeout: float = 20.0,
                 total_timeout: float = 600.0, memory_mb: int | None = 2048,
                 cpu_seconds: int | None = None, file_size_mb: int | None = 16,
                 max_processes: int | None = 64, output_cap: int = 65536,
                 mode: str = "auto", uid: int = 65534, gid: int = 65534,
                 grace: float = GRACE, reply_cap_mb: int = REPLY_CAP >> 20,
                 cgroup: bool = True) -> None:
        if mode not in ("auto", "namespace", "session"):
            raise SandboxError(f"unknown sandbox mode {mode!r}")
        self.path = os.path.abspath(os.fspath(path))
        self.call_timeout = float(call_timeout)
        self.load_timeout = float(load_timeout)
        self.total_timeout = float(total_timeout)
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds if cpu_seconds is not None else \
            int(self.total_timeout) + 1
        self.file_size_mb = file_size_mb
        self.max_processes = max_processes
        self.grace = grace
        self.reply_cap = max(1, int(reply_cap_mb)) << 20
        self.mode_cgroup = bool(cgroup)
        self.requested_mode = mode
        self.root = os.geteuid() == 0
        self.uid, self.gid = (uid, gid) if self.root else (None, None)
        self.stdout, self.stderr = _Capture(output_cap), _Capture(output_cap)
        #: the isolation actually in force for the last child ("pidns", "userns", "session")
        self.mode: str | None = None
        self.notes: list[str] = []
        self.spawns = 0
        self._used = 0.0
        self._names: list[str] = []
        self._scratch: str | None = None
        self._workdir = self._root_in_copy = ""
        self._proc: Any = None
        self._closed = False
        self._lock = threading.RLock()
        self._fds: dict[str, int] = {}
        self._pidfd: int | None = None
        self._wpid: int | None = None
        self._reader = MessageReader(self.reply_cap)
        self._loaded = False
        #: the cgroup of this submission's processes (None: per-process limits only)
        self._cgroup: _Cgroup | None = None
        self._cgroup_tried = False
        _LIVE.add(self)

    # ------------------------------------------------------------------ budget
    def _left(self) -> float:
        return self.total_timeout - self._used

    def _budget_error(self, where: str) -> dict[str, Any]:
        return {"phase": "call", "where": where, "type": "Timeout", "fatal": True,
                "message": f"the submission used up its total time budget of "
                           f"{_fmt_s(self.total_timeout)} s (stopped before {where})"}

    # ------------------------------------------------------------------ scratch
    def _prepare_scratch(self) -> dict[str, Any] | None:
        """Copy the submission into a fresh scratch directory. Returns a load error for a
        symlink out of the submission (or an oversized one), else None."""
        scratch = tempfile.mkdtemp(prefix="gradcheck-sandbox-")
        self._scratch = scratch
        os.chmod(scratch, 0o711)
        sub = os.path.join(scratch, "submission")
        for d in (sub, os.path.join(scratch, "home"), os.path.join(scratch, "tmp")):
            os.mkdir(d, 0o700)
        src = os.path.realpath(self.path)
        if os.path.isfile(src):
            shutil.copyfile(src, os.path.join(sub, os.path.basename(self.path)))
            self._root_in_copy = os.path.join(sub, os.path.basename(self.path))
        else:
            # keep the folder's own name: a package folder imports itself by it
            # (``from cs231n.layers import *``)
            name = os.path.basename(os.path.normpath(self.path)) or "submission"
            dst = os.path.join(sub, name)
            os.mkdir(dst, 0o700)
            err = _copy_tree(src, dst)
            if err is not None:
                return err
            self._root_in_copy = dst
        # the submission runs in (its copy of) its own folder, as a student's code expects
        self._workdir = self._root_in_copy if os.path.isdir(self._root_in_copy) else sub
        if self.uid is not None:
            for p in _iter_tree(scratch):
                os.lchown(p, self.uid, self.gid)
        return None

    def _hide_roots(self) -> list[str]:
        """Folders hidden in the child besides the package: the source checkout (if any) and
        the original submission's parent folder (in a grading set-up, other students' work;
        the submission itself runs from its copy in the scratch dir)."""
        roots = [_checkout_root(), os.path.dirname(_real(self.path))]
        return [r for r in dict.fromkeys(roots) if r and r != "/"]

    # ------------------------------------------------------------------ child lifecycle
    def _spawn(self) -> None:
        import json
        import subprocess

        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        life_r, life_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        prog = os.memfd_create("gradcheck-progress")
        os.ftruncate(prog, wire.PROGRESS_SIZE)
        modes = {"auto": ["pidns" if self.root else "userns", "session"],
                 "namespace": ["pidns" if self.root else "userns"],
                 "session": ["session"]}[self.requested_mode]
        expose = _needed_paths()
        limits = {"as": self.memory_mb << 20 if self.memory_mb else None,
                  "cpu": self.cpu_seconds,
                  "fsize": self.file_size_mb << 20 if self.file_size_mb is not None else None,
                  "nproc": self.max_processes}
        cfg = {"req_fd": req_r, "rep_fd": rep_w, "life_fd": life_r, "modes": modes,
               "uid": self.uid, "gid": self.gid, "scratch": self._scratch,
               "workdir": self._workdir, "root": self._root_in_copy, "runner": _RUNNER_PATH,
               "limits": limits, "expose": expose, "needed": expose, "progress_fd": prog,
               "hide": _hidden_dirs(), "hide_roots": self._hide_roots(),
               "private": _world_writable_dirs()}
        # the configuration goes through a pipe, not argv: submitted code must not learn
        # the checker's paths or the fd numbers from sys.argv or /proc/self/cmdline. It is
        # written once the keeper is in its cgroup (it waits for it before doing anything)
        cfg_r, cfg_w = os.pipe()
        data = json.dumps(cfg).encode()
        if not self._cgroup_tried and self.mode_cgroup:
            self._cgroup_tried = True
            self._cgroup = _Cgroup.create(
                self.memory_mb << 20 if self.memory_mb else None,
                self.max_processes + 16 if self.max_processes is not None else None)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": os.path.join(self._scratch or "", "home"),
               "TMPDIR": os.path.join(self._scratch or "", "tmp"),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}
        join = self._cgroup.joiner() if self._cgroup is not None else None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-u", CHILD_PATH, str(cfg_r)],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, env=env,
                cwd=self._workdir, pass_fds=(req_r, rep_w, life_r, prog, cfg_r), close_fds=True,
                preexec_fn=join)
        except OSError as exc:
            for fd in (req_r, req_w, rep_r, rep_w, life_r, life_w, out_r, out_w, err_r, err_w,
                       prog, cfg_r, cfg_w):
                os.close(fd)
            raise SandboxError(f"could not start the sandbox child: {exc}") from None
        for fd in (req_r, rep_w, life_r, out_w, err_w, cfg_r):
            os.close(fd)
        if self._cgroup is not None and self._proc.pid not in self._cgroup.pids():
            try:  # the pre-exec join failed: join now (before the keeper reads its config)
                self._cgroup.add(self._proc.pid)
            except OSError:
                self._cgroup.remove()
                self._cgroup = None
        try:
            if len(data) > 60000:
                import fcntl

                fcntl.fcntl(cfg_w, 1031, min(len(data) + 4096, 1 << 20))  # F_SETPIPE_SZ
            os.set_blocking(cfg_w, False)
            view, end = memoryview(data), time.monotonic() + 5.0
            while view and time.monotonic() < end:
                try:
                    view = view[os.write(cfg_w, view):]
                except BlockingIOError:
                    select.select([], [cfg_w], [], 0.05)
        except OSError:
            pass  # the keeper died early: reported as such by the first read
        finally:
            os.close(cfg_w)
        for fd in (rep_r, out_r, err_r):
            os.set_blocking(fd, False)
        self._fds = {"req": req_w, "rep": rep_r, "life": life_w, "out": out_r, "err": err_r,
                     "progress": prog}
        self._reader = MessageReader(self.reply_cap)
        self._wpid = None
        self._pidfd = None
        self.spawns += 1

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and "rep" in self._fds

    def _signal_worker(self, sig: int) -> None:
        if self._pidfd is not None:
            try:
                signal.pidfd_send_signal(self._pidfd, sig)
            except OSError:
                pass
        elif self._wpid is not None and self._proc is not None and self._proc.poll() is None:
            try:
                os.kill(self._wpid, sig)
            except OSError:
                pass
        if self.mode == "session" and self._wpid is not None:
            try:
                os.killpg(self._wpid, sig)
            except OSError:
                pass

    def _kill(self) -> None:
        """Kill the child and everything it started; reap; close the pipes."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_worker(signal.SIGTERM)
            if not self._wait_proc(self.grace):
                self._signal_worker(signal.SIGKILL)
                if not self._wait_proc(3.0):
                    proc.kill()
                    self._wait_proc(3.0)
        if self.mode == "session" and self._wpid is not None:
            wire.sweep(None, self._wpid)  # backstop: anything still in the worker's session
        if self._cgroup is not None:
            self._cgroup.kill()  # backstop: anything still in the submission's cgroup
        self._drain_output(final=True)
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        if self._pidfd is not None:
            os.close(self._pidfd)
        self._fds, self._pidfd, self._proc, self._loaded = {}, None, None, False
        self._reader.reset()  # nothing of a dead (or lying) child's stream is reused

    def _wait_proc(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                return True
            if time.monotonic() >= end:
                return False
            self._drain_output()
            time.sleep(0.005)

    def _exit_reason(self) -> str:
        """What became of the worker, from the keeper's exit status."""
        proc = self._proc
        if proc is None or not self._wait_proc(3.0):
            return "stopped answering"
        code = proc.returncode
        if code >= 128:
            sig = code - 128
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ \
                else f"signal {sig}"
            if sig == signal.SIGXCPU:
                return f"used up its CPU time limit ({self.cpu_seconds} s)"
            if sig == signal.SIGSEGV:
                return "crashed (SIGSEGV: e.g. unbounded recursion or a native crash)"
            if sig == signal.SIGKILL:
                return "was killed (SIGKILL: e.g. out of memory)"
            return f"was killed by {name}"
        if code == 70:
            return "failed to start"
        return f"exited (exit status {code}, e.g. os._exit({code}))"

    # ------------------------------------------------------------------ I/O
    def _drain_output(self, final: bool = False) -> None:
        for key, cap in (("out", self.stdout), ("err", self.stderr)):
            fd = self._fds.get(key)
            if fd is None:
                continue
            end = time.monotonic() + (0.2 if final else 0)
            while True:
                try:
                    b = os.read(fd, 1 << 16)
                except BlockingIOError:
                    if final and time.monotonic() < end:
                        time.sleep(0.005)
                        continue
                    break
                except OSError:
                    break
                if not b:
                    break
                cap.add(b)

    def _send(self, data: bytes, deadline: float) -> None:
        fd = self._fds["req"]
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout
            _, w, _ = select.select([], [fd], [], min(left, 0.05))
            self._drain_output()
            if self._proc.poll() is not None:
                raise _ChildGone
            if w:
                try:
                    n = os.write(fd, view[:1 << 16])
                except (BrokenPipeError, OSError):
                    raise _ChildGone from None
                view = view[n:]

    def _progress(self) -> dict[str, str]:
        """Where the child last said submitted code was about to run (phase, where)."""
        import json

        fd = self._fds.get("progress")
        try:
            raw = os.pread(fd, wire.PROGRESS_SIZE, 0) if fd is not None else b""
            obj = json.loads(raw.decode("utf-8", "replace").strip() or "{}")
        except (OSError, ValueError):
            return {}
        if not isinstance(obj, dict):
            return {}
        return {k: _text(obj[k], 200) for k in ("phase", "where") if isinstance(obj.get(k), str)}

    def _recv(self, deadline: float) -> tuple[dict, dict[str, bytes]]:
        """The next message, or _Timeout / _ChildGone / ProtocolError."""
        rep = self._fds["rep"]
        watch = [rep] + [self._fds[k] for k in ("out", "err")]
        while True:
            msg = self._reader.next()
            if msg is not None:
                return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout
            ready, _, _ = select.select(watch, [], [], min(left, 0.1))
            if self._fds["out"] in ready or self._fds["err"] in ready:
                self._drain_output()
            if rep in ready:
                try:
                    b = os.read(rep, 1 << 20)
                except BlockingIOError:
                    continue
                if not b:
                    raise _ChildGone
                self._reader.feed(b)
                if self._reader.pending() > JSON_CAP + (4 << 20):
                    self._reader.reset()
                    raise ProtocolError("reply over the size cap")
            elif self._proc.poll() is not None and not ready:
                raise _ChildGone

    # ------------------------------------------------------------------ start + load
    def _start(self, names: list[str], timeout: float) -> LoadResult:
        """Spawn a child and import the submission into it."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        where: dict[str, str | None] = {"module": None}

        def importing() -> str | None:
            p = self._progress()
            if p.get("phase") == "import":
                where["module"] = p.get("where")
            return where["module"]

        def fail(kind: str, message: str) -> LoadResult:
            self._kill()
            module = where["module"]
            file = None
            if module:
                base = self._root_in_copy if os.path.isdir(self._root_in_copy) else \
                    os.path.dirname(self._root_in_copy)
                parts = module.split(".")
                for cand in (os.path.join(*parts) + ".py",
                             os.path.join(*parts, "__init__.py"), *parts[1:2]):
                    if cand and os.path.isfile(os.path.join(base, cand)):
                        file = cand
                        break
            return LoadResult(modules=[], errors=[{"kind": "load", "type": kind,
                                                   "module": module or "?", "file": file,
                                                   "line": None, "message": message}])

        self._spawn()
        try:
            obj = self._recv_kind(deadline, "pid")
            self._wpid, self.mode, self.notes = _check_pid_message(obj)
            try:
                self._pidfd = os.pidfd_open(self._wpid)
            except (AttributeError, OSError):
                self._pidfd = None
            obj = self._recv_kind(deadline, "ready", "setup_error")
            if obj["t"] == "setup_error":
                raise SandboxError("the sandbox child could not set up: "
                                   + _text(obj.get("message"), 500))
            self._send(wire.pack({"t": "load", "names": list(names)}), deadline)
            obj = self._recv_kind(deadline, "loaded")
            result = _check_loaded_message(obj)
        except _Timeout:
            what = f"while importing {importing()}" if importing() else \
                "while starting the submission's process"
            return fail("Timeout", f"timed out after {_fmt_s(timeout)} s {what}")
        except _ChildGone:
            reason = self._exit_reason()
            what = f" while importing {importing()}" if importing() else \
                " while starting"
            return fail("ProcessExited", f"the submission's process {reason}{what}")
        except ProtocolError as exc:
            return fail("ProtocolError", f"the submission's process broke the protocol "
                                         f"while loading: {exc}")
        finally:
            self._used += time.monotonic() - t0
        self._loaded = True
        return result

    def _recv_kind(self, deadline: float, *kinds: str) -> dict[str, Any]:
        """The next message, which must be of one of ``kinds`` and carry no arrays."""
        obj, raw = self._recv(deadline)
        if obj.get("t") not in kinds or raw:
            raise ProtocolError(f"expected a {' or '.join(kinds)} message")
        return obj

    def load(self, names: list[str]) -> LoadResult:
        with self._lock:
            if self._closed:
                raise SandboxError("the executor is closed")
            self._names = list(names)
            try:
                err = self._prepare_scratch()
            except OSError as exc:
                err = {"kind": "load", "type": "CopyError", "file": None, "line": None,
                       "message": f"could not copy the submission: {exc.strerror or exc}"}
            if err is not None:
                return LoadResult(modules=[], errors=[err])
            res = self._start(self._names, min(self.load_timeout, max(self._left(), 0.001)))
            return res

    # ------------------------------------------------------------------ calls
    def call(self, job: dict[str, Any], arrays: dict[str, np.ndarray]) -> CallResult:
        return self.call_many([(job, arrays)])[0]

    def call_many(self, jobs: list[tuple[dict[str, Any], dict[str, np.ndarray]]]
                  ) -> list[CallResult]:
        with self._lock:
            results: list[CallResult] = []
            i = 0
            while i < len(jobs):
                batch = jobs[i:i + BATCH]
                results += self._run_batch(batch)
                i += len(batch)
            return results

    @staticmethod
    def _where(job: dict[str, Any]) -> str:
        plan = job.get("plan") or {}
        return str(plan.get("forward") or plan.get("function") or
                   (plan.get("class", "?") + ".forward" if plan.get("class") else "?"))

    def _fatal(self, where: str, phase: str, kind: str, message: str) -> CallResult:
        return CallResult(meta={"values": {}, "error": {
            "phase": phase, "where": where, "type": kind, "message": message,
            "traceback": "", "fatal": True}}, arrays={})

    def _run_batch(self, batch: list[tuple[dict[str, Any], dict[str, np.ndarray]]]
                   ) -> list[CallResult]:
        if self._closed:
            raise SandboxError("the executor is closed")
        first = self._where(batch[0][0])
        if self._left() <= 0:
            return [CallResult(meta={"values": {}, "error": self._budget_error(self._where(j))},
                               arrays={}) for j, _ in batch]
        if not self._alive() or not self._loaded:
            self._kill()
            res = self._start(self._names, min(self.load_timeout, max(self._left(), 0.001)))
            if not self._loaded:
                msg = res.errors[0]["message"] if res.errors else "unknown failure"
                return [self._fatal(self._where(j), "call", "SandboxError",
                                    f"could not restart the submission after an earlier "
                                    f"fault: {msg}") for j, _ in batch]
        payload: list[tuple[str, bytes]] = []
        items = []
        for k, (job, arrays) in enumerate(batch):
            names = []
            for name, arr in arrays.items():
                payload.append((f"{k}:{name}", encode_npy(np.asarray(arr))))
                names.append(name)
            items.append({"job": job, "arrays": names})
        results: list[CallResult] = []
        current = {"phase": "forward", "where": first}
        restart = False
        t0 = time.monotonic()
        try:
            try:
                self._send(wire.pack({"t": "calls", "jobs": items}, payload),
                           t0 + min(self.call_timeout, max(self._left(), 0)))
            except _Timeout:
                raise _ChildGone from None
            for k, (job, _) in enumerate(batch):
                current.update(phase="forward", where=self._where(job))
                start = time.monotonic()
                limit = min(self.call_timeout, max(self._left() - (start - t0), 0))
                budget_bound = limit < self.call_timeout
                try:
                    obj, raw = self._recv(start + limit)
                except _Timeout:
                    current.update(self._progress())
                    if budget_bound:
                        results.append(CallResult(meta={"values": {}, "error": self._budget_error(
                            current["where"])}, arrays={}))
                    else:
                        results.append(self._fatal(
                            current["where"], current["phase"], "Timeout",
                            f"timed out after {_fmt_s(self.call_timeout)} s in "
                            f"{current['where']}"))
                    restart = True
                    break
                except _ChildGone:
                    current.update(self._progress())
                    self._kill_and_note()
                    results.append(self._fatal(
                        current["where"], current["phase"], "ProcessExited",
                        f"the submission's process {self._last_reason} in "
                        f"{current['where']}"))
                    break
                except ProtocolError as exc:
                    current.update(self._progress())
                    results.append(self._fatal(
                        current["where"], current["phase"], "ProtocolError",
                        f"the submission's process sent an invalid reply in "
                        f"{current['where']}: {exc}"))
                    restart = True
                    break
                try:
                    res = _check_result(obj, k, raw)
                except ProtocolError as exc:
                    results.append(self._fatal(
                        current["where"], current["phase"], "ProtocolError",
                        f"the submission's process sent an invalid reply in "
                        f"{current['where']}: {exc}"))
                    restart = True
                    break
                err = res.error
                if err and err.get("type") == "SystemExit":
                    err["fatal"] = True
                    err["message"] = (f"the submission called sys.exit"
                                      f"({err.get('message') or ''}) in {err.get('where')}")
                elif err and err.get("type") == "MemoryError":
                    err["fatal"] = True
                    limit_txt = f" (limit {self.memory_mb} MiB)" if self.memory_mb else ""
                    err["message"] = f"ran out of memory{limit_txt} in {err.get('where')}"
                    restart = True
                results.append(res)
        except _ChildGone:
            self._kill_and_note()
            results.append(self._fatal(first, "call", "ProcessExited",
                                       f"the submission's process {self._last_reason} "
                                       f"before {first}"))
        finally:
            self._used += time.monotonic() - t0
        if restart:
            self._kill()
        if len(results) < len(batch):
            cause = results[-1].error.get("message") if results and results[-1].error else ""
            for job, _ in batch[len(results):]:
                results.append(self._fatal(self._where(job), "call", "NotRun",
                                           f"not run: an earlier call of the same batch "
                                           f"failed ({cause})"))
        return results

    _last_reason = "stopped answering"

    def _kill_and_note(self) -> None:
        self._last_reason = self._exit_reason()
        self._kill()

    def _close_cgroup(self) -> None:
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None

    # ------------------------------------------------------------------ the rest
    def output(self) -> dict[str, str]:
        with self._lock:
            self._drain_output()
            return {"stdout": self.stdout.text(), "stderr": self.stderr.text()}

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # never raises: every step is attempted whatever the others did
            try:
                if self._alive():
                    try:
                        self._send(wire.pack({"t": "exit"}), time.monotonic() + 0.2)
                    except (_Timeout, _ChildGone, KeyError):
                        pass
                    self._wait_proc(0.2)
            except Exception:  # noqa: BLE001
                pass
            try:
                self._kill()
            except Exception:  # noqa: BLE001
                pass
            try:
                self._close_cgroup()
            except Exception:  # noqa: BLE001
                pass
            if self._scratch is not None:
                try:
                    _rmtree(self._scratch)
                except Exception:  # noqa: BLE001
                    pass
                self._scratch = None
            _LIVE.discard(self)

    def __enter__(self) -> "ProcessExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@atexit.register
def _close_all() -> None:
    for ex in list(_LIVE):
        try:
            ex.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
