"""The executor protocol: the only way checks reach submitted code.

An executor loads one submission and runs call jobs (see ``untrusted/runner.py`` for their shape):
arrays in, plain arrays and a JSON description out. Checks never see a submission's objects.
``inprocess.InProcessExecutor`` runs the runner in this process (``--isolation none``: trusted code,
debuggable with pdb); ``sandbox.ProcessExecutor`` runs it in a limited child process.
Both return results through :func:`validate_array`, so checks can rely on what they get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

#: the largest array (in elements) accepted back from submitted code
MAX_ELEMENTS = 20_000_000


@dataclass
class CallResult:
    """What one job gave back: validated arrays and the runner's description of values."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    calls: int = 1

    @property
    def error(self) -> dict[str, Any] | None:
        return self.meta.get("error")

    def value(self, key: str) -> dict[str, Any]:
        """The description of a returned value (``type``, ``dtype``, ``shape``)."""
        return self.meta.get("values", {}).get(key, {"type": "missing"})


@dataclass
class LoadResult:
    modules: list[str]
    errors: list[dict[str, Any]]
    found: dict[str, Any] = field(default_factory=dict)


class Executor(Protocol):
    """Loads one submission and runs call jobs against it."""

    def load(self, names: list[str]) -> LoadResult: ...

    def call(self, job: dict[str, Any], arrays: dict[str, np.ndarray]) -> CallResult: ...

    def call_many(self, jobs: list[tuple[dict[str, Any], dict[str, np.ndarray]]]
                  ) -> list[CallResult]: ...

    def output(self) -> dict[str, str]: ...

    def close(self) -> None: ...


def validate_array(value: Any) -> np.ndarray | None:
    """Accept only a plain, numeric, bounded ndarray; anything else is dropped (None)."""
    if type(value) is not np.ndarray:
        return None
    if value.dtype.kind not in "biuf" or value.dtype.hasobject:
        return None
    if value.size > MAX_ELEMENTS:
        return None
    return value


def sanitize(meta: Any, arrays: Any) -> CallResult:
    """Validate a raw (meta, arrays) pair from a runner into a CallResult."""
    if not isinstance(meta, dict):
        meta = {"values": {}, "error": {"phase": "call", "where": "?", "type": "ProtocolError",
                                        "message": "malformed reply from the runner"}}
    clean: dict[str, np.ndarray] = {}
    if isinstance(arrays, dict):
        for key, value in arrays.items():
            arr = validate_array(value)
            if isinstance(key, str) and arr is not None:
                clean[key] = arr
    return CallResult(meta=meta, arrays=clean)


