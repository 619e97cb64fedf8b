"""The report model: what every front end (CLI, pytest plugin, grader) reads.

``Report.to_dict()`` is the JSON document described by ``report/report.schema.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

SCHEMA_VERSION = "1.0"
CHECK_STATUSES = ("pass", "fail", "error", "skip", "warn")
LAYER_STATUSES = ("pass", "fail", "error", "skip")


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, non-finite floats to strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass
class CheckResult:
    """One check of one layer in one configuration.

    ``input`` names the compared input or parameter (gradient checks); ``error`` and
    ``tolerance`` are relative to the scale of what was compared.
    """

    kind: str
    name: str
    status: str
    message: str
    config: str = "default"
    input: str | None = None
    error: float | None = None
    tolerance: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "name": self.name, "status": self.status,
                             "message": self.message, "config": self.config}
        if self.input is not None:
            d["input"] = self.input
        if self.error is not None:
            d["error"] = _plain(float(self.error))
        if self.tolerance is not None:
            d["tolerance"] = _plain(float(self.tolerance))
        d["details"] = _plain(self.details)
        return d


@dataclass
class LayerReport:
    layer: str
    status: str
    message: str = ""
    names: list[str] = field(default_factory=list)
    module: str | None = None
    checks: list[CheckResult] = field(default_factory=list)
    duration: float = 0.0
    calls: int = 0
    hints: list[dict[str, Any]] = field(default_factory=list)
    counterexample: dict[str, Any] | None = None
    #: False when the layer's module failed to import (nothing of it could be run)
    loaded: bool = True

    @staticmethod
    def status_of(checks: list[CheckResult]) -> str:
        statuses = {c.status for c in checks}
        if "error" in statuses:
            return "error"
        if "fail" in statuses:
            return "fail"
        if statuses & {"pass", "warn"}:
            return "pass"
        return "skip"

    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status in ("fail", "error")]

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "status": self.status, "message": self.message,
                "names": list(self.names), "module": self.module,
                "duration": round(self.duration, 4), "calls": self.calls,
                "hints": _plain(self.hints), "counterexample": _plain(self.counterexample),
                "checks": [c.to_dict() for c in self.checks]}


@dataclass
class Report:
    submission: str
    profile: str | None
    settings: dict[str, Any]
    layers: list[LayerReport] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    output: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    tool_version: str = "0"

    def layer(self, layer_id: str) -> LayerReport | None:
        """The LayerReport of a catalogue id, or None."""
        for lr in self.layers:
            if lr.layer == layer_id:
                return lr
        return None

    @property
    def checked(self) -> bool:
        """Whether any layer was found and checked."""
        return any(lr.status != "skip" and lr.loaded for lr in self.layers)

    @property
    def status(self) -> str:
        """``error``: nothing could be loaded or checked at all (exit 2); ``fail``: some check
        failed or errored, or a module defining catalogue layers failed to import (exit 1);
        ``pass`` otherwise (exit 0).

        A helper module that needs an unavailable package (a compiled extension, matplotlib)
        and defines no layer is listed with severity ``warning`` and changes nothing.
        """
        if not self.checked:
            return "error"
        if any(lr.status in ("fail", "error") for lr in self.layers) or any(
                e.get("severity", "error") == "error" for e in self.errors):
            return "fail"
        return "pass"

    @property
    def exit_code(self) -> int:
        """0 all passed; 1 a check failed or errored; 2 nothing could be loaded or checked."""
        return {"pass": 0, "fail": 1, "error": 2}[self.status]

    def summary(self) -> dict[str, Any]:
        checks = {s: 0 for s in CHECK_STATUSES}
        layers = {s: 0 for s in LAYER_STATUSES}
        for lr in self.layers:
            layers[lr.status] += 1
            for c in lr.checks:
                checks[c.status] += 1
        return {"checks": checks, "layers": layers, "total_checks": sum(checks.values())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "gradcheck", "version": self.tool_version},
            "submission": self.submission,
            "profile": self.profile,
            "settings": _plain(self.settings),
            "status": self.status,
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "layers": [lr.to_dict() for lr in self.layers],
            "errors": _plain(self.errors),
            "output": dict(self.output),
            "duration": round(self.duration, 4),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def schema() -> dict[str, Any]:
    """The JSON Schema every report validates against (shipped as package data)."""
    text = resources.files("gradcheck").joinpath("report/report.schema.json").read_text("utf-8")
    return json.loads(text)


def validate(document: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``document`` is not a valid report."""
    import jsonschema

    jsonschema.validate(document, schema(), cls=jsonschema.Draft202012Validator)
