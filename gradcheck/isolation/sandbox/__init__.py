"""Process isolation: submitted code runs only in a separate, limited child process.

``ProcessExecutor`` implements the :class:`~gradcheck._executor.Executor` protocol. The
parent (this module) owns every check, comparison and report; the child
(``_sandbox_child.py``, started with ``python -I``) only imports and calls submitted code and
sends back plain arrays as ``.npy`` bytes and JSON, which are validated here before use:
framing, declared lengths against caps before anything is allocated, the ``.npy`` header
(dtype, shape, exact byte count) parsed by hand, exact ``numpy.ndarray`` of a numeric dtype,
then :func:`~gradcheck._executor.sanitize`. Nothing from the child is unpickled or called.

Limits (all keyword arguments of ``ProcessExecutor``): wall time per call, per import and per
submission (enforced here with ``select`` deadlines), address space, CPU time, file size and
processes (``setrlimit`` in the child), captured output. Faults (timeouts, exits, crashes,
memory) become ``fatal`` call errors; the child is killed with its whole process tree and a
fresh one serves the remaining calls. See ``docs/sandbox.md``.
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
import weakref
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ...errors import SandboxError
from ..protocol import MAX_ELEMENTS, CallResult, LoadResult, sanitize
from ..untrusted import child as wire
from ..untrusted.runner import __file__ as _RUNNER_PATH

CHILD_PATH = wire.__file__
JSON_CAP = 4 << 20                     # one message's JSON part
ARRAY_CAP = MAX_ELEMENTS * 8 + 65536   # one .npy payload
REPLY_CAP = 64 << 20                   # all payloads of one reply together (default)
MESSAGE_CAP = REPLY_CAP                # (old name)
MAX_ARRAYS = 256                       # arrays in one message
BATCH = 64                             # jobs per request
COPY_CAP = 256 << 20                   # bytes of a submission copied into the scratch dir
COPY_DEPTH = 64                        # folder levels of a submission copied
COPY_FILES = 20000                     # files and folders of a submission copied
GRACE = 0.2                            # SIGTERM -> SIGKILL
_SKIP_COPY = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "node_modules",
              ".mypy_cache", ".pytest_cache", ".ipynb_checkpoints"}
_LIVE: "weakref.WeakSet[ProcessExecutor]" = weakref.WeakSet()


class ProtocolError(Exception):
    """The child broke the wire format or a cap."""


class _ChildGone(Exception):
    """The child's reply pipe closed (it exited or was killed)."""


class _Timeout(Exception):
    pass


# ------------------------------------------------------------------------ safe .npy reading
_HEADERS: dict[bytes, tuple[tuple[int, ...], bool, np.dtype]] = {}


def _npy_header(data: bytes | memoryview) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Parse (and cache) a .npy header: shape, fortran order, dtype, data offset."""
    import io

    if len(data) < 10 or bytes(data[:6]) != b"\x93NUMPY":
        raise ProtocolError("not .npy data")
    major = data[6]
    if major == 1:
        hlen, start = int.from_bytes(bytes(data[8:10]), "little"), 10
    elif major in (2, 3):
        hlen, start = int.from_bytes(bytes(data[8:12]), "little"), 12
    else:
        raise ProtocolError(f"unsupported .npy version {major}")
    if hlen > 10000 or start + hlen > len(data):
        raise ProtocolError("malformed .npy header")
    key = bytes(data[:start + hlen])
    hit = _HEADERS.get(key)
    if hit is None:
        buf = io.BytesIO(key)
        try:
            version = npy_format.read_magic(buf)
            reader = npy_format.read_array_header_1_0 if version == (1, 0) else \
                npy_format.read_array_header_2_0
            hit = reader(buf)
        except Exception as exc:  # noqa: BLE001 - any malformed header
            raise ProtocolError(f"malformed .npy header: {exc}") from None
        if len(_HEADERS) < 4096:
            _HEADERS[key] = hit
    shape, fortran, dtype = hit
    return shape, fortran, dtype, start + hlen


def decode_npy(data: bytes | memoryview) -> np.ndarray:
    """A plain ndarray from ``.npy`` bytes, refusing anything but a numeric dtype whose size
    matches the payload exactly; nothing is allocated before the header is checked."""
    shape, fortran, dtype, offset = _npy_header(data)
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None \
            or dtype.subdtype is not None:
        raise ProtocolError(f"refused array dtype {dtype}")
    if not isinstance(shape, tuple) or len(shape) > 32 or \
            not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ProtocolError("malformed array shape")
    count = 1
    for d in shape:
        count *= d
    if count > MAX_ELEMENTS:
        raise ProtocolError(f"array of {count} elements is over the cap of {MAX_ELEMENTS}")
    if len(data) - offset != count * dtype.itemsize:
        raise ProtocolError("array payload size does not match its header")
    try:
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        arr = flat.reshape(shape[::-1]).transpose() if fortran else flat.reshape(shape)
        return np.array(arr, copy=True, order="C")
    except Exception as exc:  # noqa: BLE001
        raise ProtocolError(f"malformed array ({type(exc).__name__})") from None


def encode_npy(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    npy_format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


class MessageReader:
    """Incremental parser of the child's messages. Caps are checked on the declared
    lengths, as soon as they arrive, before waiting for (or holding) the payload; each array
    payload is read into one buffer of exactly its declared size (no further copies).

    Any failure to parse or to interpret a message (malformed or deeply nested JSON, wrong
    types, caps) is a :class:`ProtocolError`; after one the reader is reset (its buffer is
    dropped), and the executor kills the child: nothing of a broken stream is ever reused.
    """

    def __init__(self, reply_cap: int | None = None) -> None:
        self.reply_cap = MESSAGE_CAP if reply_cap is None else int(reply_cap)
        self.reset()

    def reset(self) -> None:
        self.buf = bytearray()          # bytes not yet parsed (headers, lengths, payload)
        self._obj: dict | None = None   # the current message's JSON, once parsed
        self._names: list[str] = []
        self._arrays: dict[str, bytearray] = {}
        self._target: bytearray | None = None
        self._filled = 0
        self._total = 0

    def feed(self, data: bytes) -> None:
        self.buf += data

    def pending(self) -> int:
        """Bytes held that are not part of a declared array payload (for the size cap)."""
        return len(self.buf)

    def next(self) -> tuple[dict, dict[str, bytearray]] | None:
        try:
            return self._next()
        except ProtocolError:
            self.reset()
            raise
        except Exception as exc:  # noqa: BLE001 - RecursionError, MemoryError, anything
            self.reset()
            raise ProtocolError(f"malformed message ({type(exc).__name__})") from None

    def _next(self) -> tuple[dict, dict[str, bytearray]] | None:
        import json

        buf = self.buf
        if self._obj is None:
            if len(buf) < wire.HEAD.size:
                if buf and not wire.MAGIC.startswith(bytes(buf[:4])):
                    raise ProtocolError("bad message framing")
                return None
            magic, jlen = wire.HEAD.unpack_from(buf, 0)
            if magic != wire.MAGIC:
                raise ProtocolError("bad message framing")
            if jlen > JSON_CAP:
                raise ProtocolError(f"message header of {jlen} bytes is over the cap")
            pos = wire.HEAD.size
            if len(buf) < pos + jlen:
                return None
            try:
                obj = json.loads(bytes(buf[pos:pos + jlen]).decode("utf-8"))
            except RecursionError:
                raise ProtocolError("message header is nested too deeply") from None
            except (UnicodeDecodeError, ValueError):
                raise ProtocolError("message header is not JSON") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
                raise ProtocolError("message header is not an object with a type")
            names = obj.get("arrays", [])
            if not isinstance(names, list) or len(names) > MAX_ARRAYS or \
                    not all(isinstance(n, str) and len(n) < 200 for n in names):
                raise ProtocolError("malformed array list")
            if len(set(names)) != len(names):
                raise ProtocolError("duplicate array names")
            del buf[:pos + jlen]
            self._obj, self._names, self._arrays, self._total = obj, names, {}, 0
        while len(self._arrays) < len(self._names):
            name = self._names[len(self._arrays)]
            if self._target is None:
                if len(buf) < wire.ALEN.size:
                    return None
                (alen,) = wire.ALEN.unpack_from(buf, 0)
                self._total += alen
                if alen > ARRAY_CAP:
                    raise ProtocolError(f"array {name!r} of {alen} bytes is over the cap")
                if self._total > self.reply_cap:
                    raise ProtocolError(f"reply of over {self._total} bytes is over the cap "
                                        f"of {self.reply_cap} bytes per reply")
                del buf[:wire.ALEN.size]
                self._target, self._filled = bytearray(alen), 0
            target = self._target
            n = min(len(buf), len(target) - self._filled)
            if n:
                with memoryview(buf) as view:
                    target[self._filled:self._filled + n] = view[:n]
                del buf[:n]
                self._filled += n
            if self._filled < len(target):
                return None
            self._arrays[name] = target
            self._target = None
        obj, arrays = self._obj, self._arrays
        self._obj, self._names, self._arrays = None, [], {}
        return obj, arrays


# --------------------------------------------------------------------------- output capture
class _Capture:
    def __init__(self, cap: int) -> None:
        self.cap, self.data, self.dropped = cap, bytearray(), 0

    def add(self, b: bytes) -> None:
        room = self.cap - len(self.data)
        if room > 0:
            self.data += b[:room]
        self.dropped += max(0, len(b) - max(room, 0))

    def text(self) -> str:
        out = self.data.decode("utf-8", "replace")
        if self.dropped:
            out += f"\n[... {self.dropped} more bytes not kept]"
        return out


# ---------------------------------------------------------------------------- meta cleanup
def _text(v: Any, cap: int = 4000) -> str:
    return str(v)[:cap].encode("utf-8", "replace").decode("utf-8")


def _clean_value(d: Any) -> dict[str, Any]:
    if not isinstance(d, dict):
        return {"type": "unknown"}
    out: dict[str, Any] = {"type": _text(d.get("type", "unknown"), 200)}
    if isinstance(d.get("dtype"), str):
        out["dtype"] = _text(d["dtype"], 100)
    shape = d.get("shape")
    if isinstance(shape, list) and len(shape) <= 64 and \
            all(type(x) is int and x >= 0 for x in shape):
        out["shape"] = list(shape)
    if type(d.get("len")) is int:
        out["len"] = d["len"]
    return out


def clean_meta(meta: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Rebuild a child's call description field by field (never trusting its structure);
    descriptions of returned arrays are overwritten by what actually arrived."""
    if not isinstance(meta, dict):
        return {"values": {}, "error": {"phase": "call", "where": "?", "type": "ProtocolError",
                                        "message": "malformed reply from the child process"}}
    values = {}
    raw = meta.get("values")
    if isinstance(raw, dict):
        for k, v in list(raw.items())[:256]:
            values[_text(k, 200)] = _clean_value(v)
    for k, arr in arrays.items():
        if k in values and values[k].get("type") == "ndarray":
            values[k]["dtype"], values[k]["shape"] = str(arr.dtype), list(arr.shape)
    error = None
    err = meta.get("error")
    if isinstance(err, dict):
        error = {f: _text(err.get(f, ""), 4000) for f in ("phase", "where", "type", "message",
                                                          "traceback")}
    out: dict[str, Any] = {"values": values, "error": error}
    if isinstance(meta.get("duration"), (int, float)):
        out["duration"] = float(meta["duration"])
    return out


def _clean_error(e: Any) -> dict[str, Any]:
    if not isinstance(e, dict):
        return {"type": "Error", "message": _text(e, 2000)}
    out: dict[str, Any] = {"message": _text(e.get("message", ""), 2000)}
    for key in ("module", "file", "type"):
        if isinstance(e.get(key), str):
            out[key] = _text(e[key], 500)
    line = e.get("line")
    out["line"] = line if type(line) is int else None
    out.setdefault("file", None)
    defines = e.get("defines")
    if isinstance(defines, list):  # names the failed module would have defined
        out["defines"] = [_text(n, 100) for n in defines[:500] if isinstance(n, str)]
    return out


def _clean_found(found: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(found, dict):
        return out

    def params(p: Any) -> list[list[Any]] | None:
        if not isinstance(p, list):
            return None
        good = []
        for item in p[:64]:
            if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) \
                    and isinstance(item[1], str) and isinstance(item[2], bool):
                good.append([_text(item[0], 100), _text(item[1], 40), item[2]])
        return good

    for name, info in list(found.items())[:256]:
        if not isinstance(name, str) or not isinstance(info, dict):
            continue
        kind = info.get("kind")
        d: dict[str, Any] = {"module": _text(info.get("module", "?"), 200),
                             "kind": kind if kind in ("function", "class", "other") else "other",
                             "params": params(info.get("params"))}
        if isinstance(info.get("methods"), dict):
            d["methods"] = {_text(m, 100): params(p)
                            for m, p in list(info["methods"].items())[:32]}
        if isinstance(info.get("also_in"), list):
            d["also_in"] = [_text(m, 200) for m in info["also_in"][:16] if isinstance(m, str)]
        if isinstance(info.get("type"), str):
            d["type"] = _text(info["type"], 200)
        out[name] = d
    return out


def _check_pid_message(obj: dict[str, Any]) -> tuple[int, str, list[str]]:
    """The keeper's first message: the worker's pid, the mode in force, set-up notes."""
    pid, mode, notes = obj.get("pid"), obj.get("mode"), obj.get("notes", [])
    if type(pid) is not int or not 0 < pid < 1 << 31:
        raise ProtocolError("expected the worker's pid")
    if mode not in ("pidns", "userns", "session"):
        raise ProtocolError("unknown sandbox mode")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise ProtocolError("malformed set-up notes")
    return pid, mode, [_text(n, 300) for n in notes[:20]]


def _check_loaded_message(obj: dict[str, Any]) -> LoadResult:
    """The worker's load result, checked field by field (any other shape is a ProtocolError)."""
    modules, errors, found = obj.get("modules"), obj.get("errors"), obj.get("found")
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise ProtocolError("malformed module list in the load result")
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        raise ProtocolError("malformed error list in the load result")
    if not isinstance(found, dict):
        raise ProtocolError("malformed list of found names in the load result")
    try:
        return LoadResult(modules=[_text(m, 200) for m in modules[:10000]],
                          errors=[_clean_error(e) for e in errors[:100]],
                          found=_clean_found(found))
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError in str() of nested values
        raise ProtocolError(f"malformed load result ({type(exc).__name__})") from None


def _check_result(obj: dict[str, Any], k: int, raw: dict[str, bytearray]) -> CallResult:
    """One call's reply: the message, its arrays decoded (each buffer dropped once decoded)
    and its description rebuilt; any malformation is a ProtocolError."""
    if obj.get("t") != "result" or type(obj.get("i")) is not int or obj["i"] != k:
        raise ProtocolError("unexpected message")
    if not isinstance(obj.get("meta"), dict):
        raise ProtocolError("malformed call description")
    arrays: dict[str, np.ndarray] = {}
    for key in list(raw):
        arrays[key] = decode_npy(raw.pop(key))
    try:
        return sanitize(clean_meta(obj["meta"], arrays), arrays)
    except Exception as exc:  # noqa: BLE001
        raise ProtocolError(f"malformed call description ({type(exc).__name__})") from None


def _fmt_s(t: float) -> str:
    return f"{t:g}"


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


@atexit.register
def _close_all() -> None:
    for ex in list(_LIVE):
        try:
            ex.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
