"""Markdown summary of gradcheck JSON report(s), e.g. for $GITHUB_STEP_SUMMARY.

    python ci/summary.py gradcheck-report.json >> "$GITHUB_STEP_SUMMARY"

Reads a report (``gradcheck run --format json`` or ``--gradcheck-report``; several
submissions: ``{"reports": [...]}``) and prints one table row per failing check: submission,
layer, check, the first line of the message (at most 200 characters). Standard library only.
A missing report (pytest stopped before grading, e.g. exit 4) is said in one line, exit 0.
"""

from __future__ import annotations

import json
import sys


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def rows(doc: dict) -> list[tuple[str, str, str, str]]:
    out = []
    for report in doc.get("reports", [doc]):
        sub = str(report.get("submission", "?")).rstrip("/").rsplit("/", 1)[-1]
        for err in report.get("errors", []):
            if err.get("severity") != "warning":
                out.append((sub, "-", "load", str(err.get("message", ""))))
        for layer in report.get("layers", []):
            seen = set()
            for check in layer.get("checks", []):
                key = (check.get("kind"), check.get("name"))
                if check.get("status") in ("fail", "error") and key not in seen:
                    seen.add(key)
                    out.append((sub, layer.get("layer", "?"), str(check.get("kind")),
                                str(check.get("message", ""))))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        print(f"### gradcheck: no report ({argv[0]} was not written; see the job log)")
        return 0
    found = rows(doc)
    n = len(doc.get("reports", [doc]))
    print(f"### gradcheck: {n} submission(s), {len(found)} failing check(s)\n")
    if found:
        print("| submission | layer | check | message |")
        print("|---|---|---|---|")
        for sub, layer, kind, msg in found:
            first = (msg.strip().splitlines() or [""])[0]
            if len(first) > 200:
                first = first[:199] + "…"
            print(f"| {_cell(sub)} | {_cell(layer)} | {_cell(kind)} | {_cell(first)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
