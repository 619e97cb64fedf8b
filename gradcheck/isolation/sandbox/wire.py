"""The parent side of the wire format: framed messages from the child, ``.npy`` payloads
parsed by hand with every cap checked before allocation, and each message type validated
field by field. Nothing from the child is unpickled or called."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ..protocol import MAX_ELEMENTS, CallResult, LoadResult, sanitize
from ..untrusted import child as wire


JSON_CAP = 4 << 20                     # one message's JSON part
ARRAY_CAP = MAX_ELEMENTS * 8 + 65536   # one .npy payload
REPLY_CAP = 64 << 20                   # all payloads of one reply together (default)
MESSAGE_CAP = REPLY_CAP                # (old name)
MAX_ARRAYS = 256                       # arrays in one message


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


