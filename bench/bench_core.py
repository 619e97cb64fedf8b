"""Speed of the checker core. Prints figures; not a test.

    python bench/bench_core.py [--repeat 3]

1. Full check of correct submissions of each profile (reference and bundled examples).
2. The gradient check of an affine layer with about 10^6 parameters (N=64, D=M=1000):
   wall time and number of forward calls.
3. The same done the classroom way (a loop over every element, two forwards each), timed on a
   sample of elements and extrapolated to all of them.
4. torch.autograd.gradcheck on the same layer when torch is importable (optional).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time

import numpy as np

from gradcheck import check_submission, reference_path
from gradcheck.catalogue import BY_ID, Case
from gradcheck.engine.checker import LayerChecker, Settings
from gradcheck.api import reference_modules
from gradcheck.isolation import CountingExecutor, InProcessExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def full_checks(repeat: int) -> None:
    print("1. full check of a correct submission (in-process, median of", repeat, "runs)")
    targets = [("reference cs231n", reference_path("cs231n")),
               ("reference dlfs", reference_path("dlfs"))]
    for name in ("cs231n_correct", "dlfs_correct"):
        path = os.path.join(ROOT, "submissions", name)
        if os.path.isdir(path):
            targets.append((f"submissions/{name}", path))
    for label, path in targets:
        t, report = timed(lambda: check_submission(path, isolation="none"), repeat)
        calls = sum(lr.calls for lr in report.layers)
        checks = report.summary()["total_checks"]
        print(f"   {label:28s} {t:6.2f} s  {report.status:5s} {checks:4d} checks "
              f"{calls:6d} calls")


def big_affine(repeat: int) -> None:
    n, d, m = 64, 1000, 1000
    params = d * m + m
    print(f"2. affine gradient check, N={n}, D={d}, M={m} ({params:,} parameters, "
          f"{n * d:,} inputs)")
    def run():
        return _affine_layer_check(n, d, m)

    t, (_, calls, status, probes) = timed(run, repeat)
    print(f"   whole layer (forward, shapes, 3 gradients, linearity, determinism): {t:.3f} s, "
          f"{calls} calls, status {status}")
    print(f"   gradient probes: {probes} forward calls for dx, dw, db together")
    return t


def classroom(sample: int = 300) -> None:
    n, d, m = 64, 1000, 1000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal((d, m)) / np.sqrt(d)
    b = rng.standard_normal(m)
    dout = rng.standard_normal((n, m))
    h = 1e-5

    def loss(x_, w_, b_):
        return float(np.sum((x_ @ w_ + b_) * dout))

    total = x.size + w.size + b.size
    t0 = time.perf_counter()
    for k in range(sample):
        i, j = divmod(k, m)
        old = w[i, j]
        w[i, j] = old + h
        lp = loss(x, w, b)
        w[i, j] = old - h
        lm = loss(x, w, b)
        w[i, j] = old
        _ = (lp - lm) / (2 * h)
    per = (time.perf_counter() - t0) / sample
    print(f"3. classroom element-by-element loop: {per * 1e3:.2f} ms per element "
          f"(2 forwards), measured on {sample} elements")
    print(f"   all {total:,} elements: estimated {per * total:,.0f} s "
          f"({per * total / 3600:.1f} h), {2 * total:,} forward calls")


def _affine_layer_check(n: int, d: int, m: int) -> tuple[float, int, str, int]:
    """gradcheck's whole affine check on one configuration:
    (seconds, calls, status, forward calls spent on the three gradient probes)."""
    spec = dataclasses.replace(BY_ID["affine"], cases=(Case("default", {"x": (n, d), "M": m}),))
    student = CountingExecutor(InProcessExecutor(reference_path("cs231n"),
                                                 modules=reference_modules("cs231n")))
    student.load([])
    ref = InProcessExecutor(reference_path("cs231n"), modules=reference_modules("cs231n"))
    ref.load([])
    found = {name: {"module": "m", "kind": "function", "params": None}
             for name in ("affine_forward", "affine_backward")}
    t0 = time.perf_counter()
    report = LayerChecker(spec, "cs231n", student, ref, found, Settings(seed=0), 2).run()
    probes = sum(c.details.get("calls", 0) for c in report.checks
                 if c.kind == "gradient" and c.input)
    return time.perf_counter() - t0, student.calls, report.status, probes


def torch_gradcheck() -> None:
    try:
        import torch
    except ImportError:
        print("4. torch.autograd.gradcheck: torch is not importable here (optional; skipped)")
        return
    n, d, m = 8, 50, 40
    x = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    w = torch.randn(d, m, dtype=torch.float64, requires_grad=True)
    b = torch.randn(m, dtype=torch.float64, requires_grad=True)
    inputs = d * m + m + n * d
    print(f"4. the same small affine (N={n}, D={d}, M={m}, {inputs} inputs) three ways")
    for fast in (False, True):
        t0 = time.perf_counter()
        ok = torch.autograd.gradcheck(lambda x_, w_, b_: x_ @ w_ + b_, (x, w, b),
                                      fast_mode=fast)
        t = time.perf_counter() - t0
        print(f"   torch.autograd.gradcheck(fast_mode={fast!s:5}) {t:6.3f} s  ok={ok}")
    t, calls, status, _ = _affine_layer_check(n, d, m)
    print(f"   gradcheck (whole layer: forward, 3 gradients, linearity, determinism) "
          f"{t:6.3f} s  {calls} calls  {status}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores")
    full_checks(args.repeat)
    big_affine(args.repeat)
    classroom()
    torch_gradcheck()


if __name__ == "__main__":
    main()
