"""The checks: numeric probes and the tolerance model, the per-layer checker driven by the
catalogue entry, the network checks, diagnosis (hints) and counterexample search.

Nothing here imports a submission: every call goes through an executor
(:mod:`gradcheck.isolation`), and every verdict is written into the report model.
"""

from __future__ import annotations

from typing import Any

from ..catalogue import LayerSpec
from .checker import LayerChecker, Settings
from .netchecks import NetChecker

#: the checker of each kind a catalogue entry may name in ``LayerSpec.checker``
CHECKERS: dict[str | None, type[LayerChecker]] = {None: LayerChecker, "network": NetChecker}


def checker_for(spec: LayerSpec) -> Any:
    """The checker class of a catalogue entry (``spec.checker`` names its kind)."""
    return CHECKERS[spec.checker]


__all__ = ["CHECKERS", "LayerChecker", "NetChecker", "Settings", "checker_for"]
