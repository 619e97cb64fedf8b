"""What the pytest plugin costs: a plain pytest run with the plugin installed, and per item.

    python bench/bench_plugin.py [--repeat 7]

Prints (1) the import time of the plugin module alone and whether it pulls in gradcheck or
numpy, (2) the wall time of a plain pytest run of one trivial test with the plugin loaded and
with ``-p no:gradcheck`` (median of --repeat runs; the difference is the plugin's cost), and
(3) a --gradcheck run of the bundled submissions: submissions per second, items per second.
Figures, not tests: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(cmd: list[str], cwd: str, repeat: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    probe = ("import sys, time, pytest; t = time.perf_counter(); import _gradcheck_pytestplugin; "
             "print((time.perf_counter() - t) * 1e3, 'gradcheck' in sys.modules, "
             "'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd="/").stdout.split()
    print(f"plugin module import (pytest already loaded): {float(out[0]):.2f} ms; imports gradcheck: {out[1]}, "
          f"numpy: {out[2]}")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_plain.py").write_text("def test_plain():\n    assert True\n")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        with_plugin = _time(base, tmp, args.repeat)
        without = _time(base + ["-p", "no:gradcheck"], tmp, args.repeat)
        print(f"plain pytest run, 1 test: {with_plugin * 1e3:.0f} ms with the plugin, "
              f"{without * 1e3:.0f} ms without (median of {args.repeat}; difference "
              f"{(with_plugin - without) * 1e3:+.0f} ms)")
        subs = sorted(p for p in (ROOT / "submissions").iterdir() if p.is_dir())
        for p in subs:
            shutil.copytree(p, Path(tmp, "students", p.name))
        flags = [a for p in subs for a in ("--gradcheck", str(Path(tmp, "students", p.name)))]
        for isolation in ("process", "none"):
            t0 = time.perf_counter()
            proc = subprocess.run(base + flags + [f"--gradcheck-isolation={isolation}"],
                                  cwd=tmp, capture_output=True, text=True)
            dt = time.perf_counter() - t0
            summary = proc.stdout.strip().splitlines()[-1]
            n_items = sum(int(w) for w, nxt in zip(summary.split(), summary.split()[1:])
                          if w.isdigit() and nxt.rstrip(",") in ("passed", "failed", "skipped"))
            print(f"--gradcheck over {len(subs)} submissions, isolation {isolation}: "
                  f"{dt:.2f} s, {len(subs) / dt:.2f} submissions/s, {n_items / dt:.0f} items/s "
                  f"({summary.strip('= ')})")


if __name__ == "__main__":
    main()
