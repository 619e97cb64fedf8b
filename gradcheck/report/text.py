"""Renderers: a report model in, text out. No check logic here."""

from __future__ import annotations

import click

from .model import CheckResult, LayerReport, Report

_COLOURS = {"pass": "green", "fail": "red", "error": "magenta", "skip": "bright_black",
            "warn": "yellow"}


def _badge(status: str, colour: bool) -> str:
    label = status.upper().ljust(5)
    return click.style(label, fg=_COLOURS.get(status), bold=status != "skip") if colour else label


def render_text(report: Report, colour: bool = False, verbose: bool = False) -> str:
    """A summary table per layer, then every failing check with its message."""
    lines: list[str] = []
    title = f"gradcheck {report.tool_version} — {report.submission}"
    lines.append(click.style(title, bold=True) if colour else title)
    s = report.settings
    lines.append(f"profile {report.profile or '?'} (asked: {s.get('profile')}), seed "
                 f"{s.get('seed')}, isolation {s.get('isolation')}")
    for err in report.errors:
        where = f"{err.get('file')}:{err.get('line')}" if err.get("file") else ""
        level = "warn" if err.get("severity") == "warning" else "error"
        note = (" (defines no layer of the catalogue; not counted)"
                if level == "warn" and err.get("kind", "import") == "import" else "")
        lines.append(_badge(level, colour) + f" {where} {err.get('type', '')}: "
                     f"{err.get('message', '')}{note}".rstrip())
    if report.layers:
        lines.append("")
        width = max([len("layer")] + [len(lr.layer) for lr in report.layers])
        lines.append(f"  {'layer'.ljust(width)}  status  checks  calls  time")
        for lr in report.layers:
            counts = {st: sum(1 for c in lr.checks if c.status == st) for st in
                      ("pass", "fail", "error", "warn")}
            summary = (f"{counts['pass']}/{len(lr.checks)}" if lr.checks else "-")
            extra = lr.message if lr.status == "skip" else ""
            lines.append(f"  {lr.layer.ljust(width)}  {_badge(lr.status, colour)}  "
                         f"{summary.rjust(6)}  {str(lr.calls).rjust(5)}  "
                         f"{lr.duration:5.2f}s {extra}".rstrip())
    shown = False
    for lr in report.layers:
        failures = failure_lines(lr, lr.checks, colour=colour, verbose=verbose)
        if failures and not shown:
            lines.append("")
            shown = True
        lines += failures
        lines += _layer_extras(lr)
    out = report.output or {}
    for stream in ("stdout", "stderr"):
        text = (out.get(stream) or "").strip()
        if text and verbose:
            lines.append("")
            lines.append(f"--- the submission's {stream} (captured) ---")
            lines.append(text[:4000])
    summ = report.summary()["checks"]
    lines.append("")
    final = (f"{report.status.upper()}: {summ['pass']} passed, {summ['fail']} failed, "
             f"{summ['error']} errors, {summ['warn']} warnings, {summ['skip']} skipped "
             f"in {report.duration:.2f}s")
    lines.append(click.style(final, fg=_COLOURS.get(report.status), bold=True)
                 if colour else final)
    return "\n".join(lines) + "\n"


def failure_lines(lr: LayerReport, checks: list[CheckResult], colour: bool = False,
                  verbose: bool = False) -> list[str]:
    """The lines for the failing (and shown warning) checks among ``checks`` of one layer.

    The same check failing in several configurations is shown once in full, then where else
    (each in full with ``verbose``). The CLI and the pytest plugin print these same lines.
    """
    lines: list[str] = []
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for c in checks:
        if c.status in ("fail", "error") or (c.status == "warn" and (
                verbose or c.config == "default")):
            groups.setdefault((c.name, c.status), []).append(c)
    for same in groups.values():
        for c in same if verbose else same[:1]:
            where = "" if c.config == "default" else f" [{c.config}]"
            lines.append(f"{_badge(c.status, colour)} {lr.layer} {c.kind}{where}: {c.message}")
            hints = c.details.get("hints", []) if isinstance(c.details, dict) else []
            for hint in hints[1:] if "Likely cause" in c.message else hints:
                lines.append(f"      hint: {hint.get('message', '')}")
        if len(same) > 1 and not verbose:
            verb = {"fail": "fails", "error": "errors"}.get(same[0].status, "warns")
            lines.append(f"      also {verb} in: " + "; ".join(c.config for c in same[1:]))
    return lines


def layer_extras(lr: LayerReport) -> list[str]:
    """A failing layer's hints and its minimal counterexample with the snippet."""
    return _layer_extras(lr)


def _layer_extras(lr: "object") -> list[str]:
    """A failing layer's hints and its minimal counterexample with the snippet."""
    lines = [f"      hint ({lr.layer}): {h.get('message', '')}" for h in lr.hints or []]
    ce = lr.counterexample
    if ce:
        lines.append(f"      smallest failing case ({lr.layer}): {ce.get('description', '')} "
                     f"[{ce.get('check', {}).get('name', '')}]; reproduce with:")
        lines += ["        " + ln for ln in (ce.get("snippet") or "").rstrip().splitlines()]
    return lines


def _idx(index: list[int]) -> str:
    return "(" + ", ".join(str(i) for i in index) + ("," if len(index) == 1 else "") + ")"


def assertion_message(report: LayerReport, failing: list[CheckResult],
                      settings: dict | None = None) -> str:
    """The ``AssertionError`` text of ``assert_gradients``, in numpy.testing's manner.

    Per failing gradient: the tolerance, mismatched elements out of those checked, the
    worst absolute and relative differences and where, both values there, the likely cause.
    Other failing checks (shapes, purity, determinism, ...) follow with their messages.
    """
    settings = settings or {}
    head = (f"Gradients of {report.layer} not equal to their numerical derivatives "
            f"(seed={settings.get('seed', 0)}, directions={settings.get('directions', 3)})")
    lines = [head, ""]
    for c in failing:
        d = c.details if isinstance(c.details, dict) else {}
        if c.kind != "gradient" or not d.get("worst"):
            lines.append(f"{c.kind} [{c.config}]: {c.message}" if c.config != "default"
                         else f"{c.kind}: {c.message}")
            continue
        name = c.input or c.name
        lines.append(f"{name}: relative error {c.error:.3g} along random directions, "
                     f"tolerance {c.tolerance:.3g}")
        wrong, checked = d.get("elements_wrong"), d.get("elements_checked")
        total = d.get("elements_total")
        if wrong is not None and checked:
            of = f" (of {total} elements, {checked} sampled)" if total and total != checked \
                else ""
            lines.append(f"Mismatched elements: {wrong} / {checked} ({100 * wrong / checked:.3g}%)"
                         f"{of}")
        worst = d["worst"]
        absd = [(abs(w["analytic"] - w["numeric"]), w) for w in worst]
        reld = [(abs(w["analytic"] - w["numeric"]) / max(abs(w["numeric"]), 1e-300), w)
                for w in worst]
        a_max, wa = max(absd, key=lambda t: t[0])
        r_max, wr = max(reld, key=lambda t: t[0])
        lines.append(f"Max absolute difference: {a_max:.6g} at index {_idx(wa['index'])}")
        lines.append(f"Max relative difference: {r_max:.6g} at index {_idx(wr['index'])}")
        where = "[" + ", ".join(str(i) for i in wa["index"]) + "]"
        lines.append(f" analytic  {name}{where}: {wa['analytic']:.6g}")
        lines.append(f" numerical {name}{where}: {wa['numeric']:.6g}")
        hints = d.get("hints") or []
        if hints:
            lines.append(f"Likely cause: {hints[0].get('message', '')}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
