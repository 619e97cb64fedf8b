"""Shared helpers of the checks: number and shape formatting, the sentence naming where a
call raised, the worst-elements record of a failed gradient, and the control-flow exceptions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .numeric import Localisation

FLOAT64 = np.dtype(np.float64)


def _fmt(x: float) -> str:
    return f"{x:.3g}" if np.isfinite(x) else str(x)


def worst_details(loc: Localisation, k: int = 5) -> list[dict[str, Any]]:
    """The report's record of the worst elements of a localised gradient."""
    return [{"index": list(e.index), "analytic": e.analytic, "numeric": e.numeric}
            for e in loc.worst(k)]


def worst_sentence(name: str, loc: Localisation, k: int = 3) -> str:
    """' Worst: dW[1, 0] = 0.5, numerical 1; ...' (empty when nothing was localised)."""
    worst = loc.worst(k)
    if not worst:
        return ""
    return " Worst: " + "; ".join(
        f"{name}[{', '.join(map(str, e.index))}] = {_fmt(e.analytic)}, numerical "
        f"{_fmt(e.numeric)}" for e in worst) + "."


def _shape(t: Any) -> str:
    return "(" + ", ".join(str(int(s)) for s in t) + ("," if len(t) == 1 else "") + ")"


def _where(err: dict[str, Any]) -> str:
    tb = err.get("traceback") or ""
    last = tb.strip().splitlines()[-1] if tb.strip() else ""
    loc = f" at {last.split(' in ')[0]}" if last else ""
    msg = err.get("message") or ""
    return f"{err.get('where', '?')} raised {err.get('type', 'an error')}{loc}: {msg}".rstrip(": ")


class _Stop(Exception):
    """Ends the checks of one configuration after a blocking failure."""


class _AbortLayer(Exception):
    """Ends the checks of a whole layer after a fatal call error (timeout, crash)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error
