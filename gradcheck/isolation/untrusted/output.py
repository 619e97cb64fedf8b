"""Output capture: the submission's prints and warnings, kept up to a cap.

Standard library and NumPy only: nothing of the checker (see ``__init__``).
"""

from __future__ import annotations

import contextlib
import io
import warnings

OUTPUT_CAP = 64 * 1024


class CappedBuffer(io.TextIOBase):
    """A text sink that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int = OUTPUT_CAP) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:  # type: ignore[override]
        s = str(s)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters not kept]"
        return out


def capture(stdout: CappedBuffer, stderr: CappedBuffer) -> contextlib.ExitStack:
    """Route the submission's prints and warnings into the capped buffers."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(stdout))
    stack.enter_context(contextlib.redirect_stderr(stderr))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("always")
    sink = stderr

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        sink.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show
    return stack
