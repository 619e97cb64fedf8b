"""Process isolation (the parent side): submitted code runs only in a separate, limited child process.

``ProcessExecutor`` implements the :class:`~gradcheck.isolation.protocol.Executor` protocol. The
parent (this module) owns every check, comparison and report; the child
(``isolation/untrusted/child.py``, started with ``python -I``) only imports and calls submitted code and
sends back plain arrays as ``.npy`` bytes and JSON, which are validated here before use:
framing, declared lengths against caps before anything is allocated, the ``.npy`` header
(dtype, shape, exact byte count) parsed by hand, exact ``numpy.ndarray`` of a numeric dtype,
then :func:`~gradcheck.isolation.protocol.sanitize`. Nothing from the child is unpickled or called.

Limits (all keyword arguments of ``ProcessExecutor``): wall time per call, per import and per
submission (enforced here with ``select`` deadlines), address space, CPU time, file size and
processes (``setrlimit`` in the child), captured output. Faults (timeouts, exits, crashes,
memory) become ``fatal`` call errors; the child is killed with its whole process tree and a
fresh one serves the remaining calls. See ``docs/sandbox.md``.



The pieces, one job each: ``wire`` (framing, ``.npy`` parsing, message validation),
``paths`` (what the child may see), ``cgroup`` (one cgroup for all of a submission's
processes), ``scratch`` (the bounded copy and its removal), ``process`` (the child's lifecycle
and the request loop: ``ProcessExecutor``).
"""

from __future__ import annotations

from .cgroup import _Cgroup
from .paths import _checkout_root, _hidden_dirs, _needed_paths, _world_writable_dirs
from .process import BATCH, CHILD_PATH, GRACE, ProcessExecutor
from .scratch import COPY_CAP, COPY_DEPTH, COPY_FILES, _copy_tree, _rmtree
from .wire import (ARRAY_CAP, JSON_CAP, MAX_ARRAYS, MESSAGE_CAP, REPLY_CAP, MessageReader,
                   ProtocolError, _check_loaded_message, _check_pid_message, _check_result,
                   clean_meta, decode_npy, encode_npy)

__all__ = ["ARRAY_CAP", "BATCH", "CHILD_PATH", "COPY_CAP", "COPY_DEPTH", "COPY_FILES", "GRACE",
           "JSON_CAP", "MAX_ARRAYS", "MESSAGE_CAP", "REPLY_CAP", "MessageReader",
           "ProcessExecutor", "ProtocolError", "_Cgroup", "_check_loaded_message",
           "_check_pid_message", "_check_result", "_checkout_root", "_copy_tree",
           "_hidden_dirs", "_needed_paths", "_rmtree", "_world_writable_dirs", "clean_meta",
           "decode_npy", "encode_npy"]
