"""What process isolation costs (not a test).

    python bench/bench_isolation.py [--repeat N]

Prints: start-up per submission (spawn the sandboxed child + import the submission),
round-trip time per call (single calls and batched ``call_many``) against the in-process
executor, and the full check of the correct reference submissions of both profiles with
``isolation="none"`` and ``isolation="process"``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from gradcheck import catalogue as cat
from gradcheck import check_submission, reference_path
from gradcheck.isolation import InProcessExecutor
from gradcheck.isolation.sandbox import ProcessExecutor


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def startup(repeat: int) -> None:
    print("start-up per submission (spawn + import + describe)")
    names = sorted({n for p in cat.PROFILES for n in cat.names_for(p)})
    for profile in ("cs231n", "dlfs"):
        times, mode = [], None
        for _ in range(repeat):
            ex = ProcessExecutor(reference_path(profile))
            t0 = time.perf_counter()
            res = ex.load(names)
            times.append(time.perf_counter() - t0)
            mode = ex.mode
            assert not res.errors, res.errors
            t1 = time.perf_counter()
            ex.close()
            close = time.perf_counter() - t1
        print(f"  {profile:7s} process: {_median(times) * 1e3:7.1f} ms  (mode {mode}, "
              f"close {close * 1e3:.1f} ms)")
        t0 = time.perf_counter()
        ex2 = InProcessExecutor(reference_path(profile))
        ex2.load(names)
        ex2.close()
        print(f"  {profile:7s} none:    {(time.perf_counter() - t0) * 1e3:7.1f} ms")


def round_trip(n: int) -> None:
    print(f"round trip per call (relu forward+backward on 4x5, {n} calls)")
    plan = cat.BY_ID["relu"].bindings["cs231n"].plan
    job = {"plan": plan, "config": {}, "seed": 0, "backward": True}
    arrays = {"x": np.random.randn(4, 5), "dout": np.random.randn(4, 5)}
    big = {"x": np.random.randn(256, 1024), "dout": np.random.randn(256, 1024)}
    for label, ex in (("none", InProcessExecutor(reference_path("cs231n"))),
                      ("process", ProcessExecutor(reference_path("cs231n")))):
        ex.load(["relu_forward", "relu_backward"])
        for _ in range(20):
            ex.call(job, arrays)
        t0 = time.perf_counter()
        for _ in range(n):
            ex.call(job, arrays)
        single = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        ex.call_many([(job, arrays)] * n)
        batched = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for _ in range(20):
            ex.call(job, big)
        large = (time.perf_counter() - t0) / 20
        ex.close()
        print(f"  {label:7s} single {single * 1e3:6.3f} ms   batched {batched * 1e3:6.3f} ms"
              f"   single 256x1024 {large * 1e3:6.2f} ms")


def full_check(repeat: int) -> None:
    print("full check of the correct reference submission")
    for profile in ("cs231n", "dlfs"):
        for iso in ("none", "process"):
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                r = check_submission(reference_path(profile), profile=profile, isolation=iso)
                times.append(time.perf_counter() - t0)
                assert r.status == "pass", r.status
            calls = sum(lr.calls for lr in r.layers)
            print(f"  {profile:7s} {iso:7s} {_median(times):6.2f} s  ({calls} student calls)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--calls", type=int, default=500)
    args = ap.parse_args()
    startup(args.repeat)
    round_trip(args.calls)
    full_check(args.repeat)


if __name__ == "__main__":
    main()
