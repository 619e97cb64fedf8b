"""Isolated calls: how checks reach submitted code, and nothing else does.

``protocol`` defines the executor interface (load a submission, run call jobs: plain arrays
in, plain arrays and a JSON description out). ``inprocess`` runs the untrusted runner in this
process; ``sandbox`` runs it in a limited child process. ``untrusted/`` is the code that runs
next to the submission: it imports nothing of the checker.
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from .inprocess import CountingExecutor, InProcessExecutor
from .protocol import (
    MAX_ELEMENTS,
    CallResult,
    Executor,
    LoadResult,
    sanitize,
    validate_array,
)

ISOLATIONS = ("process", "none")
DEFAULT_ISOLATION = "process"


def executor_for(path: str, isolation: str, limits: dict[str, Any] | None = None) -> Executor:
    """The executor for one submission: ``"process"`` (the sandbox) or ``"none"`` (in-process)."""
    if isolation == "none":
        return InProcessExecutor(path)
    if isolation == "process":
        from .sandbox import ProcessExecutor  # noqa: PLC0415 - the sandbox loads only when used

        return ProcessExecutor(path, **(limits or {}))
    raise UsageError(f"unknown isolation {isolation!r}: choose one of {', '.join(ISOLATIONS)}")


__all__ = ["DEFAULT_ISOLATION", "ISOLATIONS", "MAX_ELEMENTS", "CallResult", "CountingExecutor",
           "Executor", "InProcessExecutor", "LoadResult", "executor_for", "sanitize",
           "validate_array"]
