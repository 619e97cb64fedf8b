"""Save or compare the JSON reports of every bundled submission (a refactoring's proof).

    python scripts/compare_reports.py save DIR      # before the change
    python scripts/compare_reports.py compare DIR   # after: exit 1 on any difference

Each bundled submission (``submissions/*``) and both reference profiles are checked at
seeds 0 and 1, in-process and sandboxed. Fields that legitimately vary between runs
(durations, timings, the absolute submission path, the sandbox's random scratch folder) are dropped before comparing; every
verdict, message, measured error, tolerance and detail must be identical.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = re.compile(r"/[^\s'\"]*gradcheck-sandbox-[A-Za-z0-9_]+")
VOLATILE = {"duration", "elapsed", "seconds", "time", "wall_time", "timing"}


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return SCRATCH.sub("<SCRATCH>", value.replace(str(ROOT), "<ROOT>"))
    return value


def _targets() -> list[Path]:
    subs = sorted(p for p in (ROOT / "submissions").iterdir() if p.is_dir())
    return subs + [ROOT / "reference" / "cs231n", ROOT / "reference" / "dlfs"]


def _reports() -> dict[str, dict]:
    from gradcheck import check_submission

    out = {}
    for target in _targets():
        for isolation in ("none", "process"):
            for seed in (0, 1):
                key = f"{target.relative_to(ROOT)}|{isolation}|seed={seed}"
                report = check_submission(str(target), seed=seed, isolation=isolation)
                out[key] = _clean(report.to_dict())
                print(f"{key}: {report.status}", file=sys.stderr)
    return out


def _diff(a, b, path="") -> list[str]:
    if type(a) is not type(b):
        return [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        res = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                res.append(f"{path}.{k}: only in {'after' if k in b else 'before'}")
            else:
                res += _diff(a[k], b[k], f"{path}.{k}")
        return res
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("save", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, folder = argv[0], Path(argv[1])
    reports = _reports()
    if mode == "save":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "reports.json").write_text(json.dumps(reports, indent=1, sort_keys=True))
        print(f"saved {len(reports)} reports to {folder}")
        return 0
    before = json.loads((folder / "reports.json").read_text())
    problems = _diff(before, reports)
    for p in problems[:50]:
        print(p)
    print(f"{len(reports)} reports compared, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
