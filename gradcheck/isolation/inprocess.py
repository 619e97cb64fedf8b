"""Run submitted code in this process (``--isolation none``): trusted code only, debuggable
with pdb. Same protocol and the same validation of results as the sandbox."""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from .protocol import CallResult, Executor, LoadResult, sanitize
from .untrusted.runner import Runner


class InProcessExecutor:
    """Runs submitted code in this process. For trusted code only (``--isolation none``)."""

    def __init__(self, path: str, modules: list[Any] | None = None) -> None:
        self.path = path
        self.runner = Runner(path)
        self._preloaded = modules
        self._modules_before: set[str] | None = None
        self._path_before: list[str] | None = None

    def load(self, names: list[str]) -> LoadResult:
        if self._preloaded is not None:
            self.runner.modules = list(self._preloaded)
            info: dict[str, Any] = {"modules": [m.__name__ for m in self._preloaded],
                                    "errors": []}
        else:
            self._modules_before = set(sys.modules)
            self._path_before = list(sys.path)
            info = self.runner.load()
        return LoadResult(modules=list(info["modules"]), errors=list(info["errors"]),
                          found=self.runner.describe(names))

    def call(self, job: dict[str, Any], arrays: dict[str, np.ndarray]) -> CallResult:
        # the submission gets copies: it can never corrupt the checker's arrays
        copies = {k: np.array(v, copy=True) for k, v in arrays.items()}
        meta, out = self.runner.call(job, copies)
        return sanitize(meta, out)

    def call_many(self, jobs: list[tuple[dict[str, Any], dict[str, np.ndarray]]]
                  ) -> list[CallResult]:
        """Run a batch of jobs (typically the probes of one gradient check).

        Arrays that appear in a single job (the perturbed points) are handed over without a
        copy: the caller must not reuse them. Arrays shared by several jobs are copied once for
        the batch and compared with the caller's afterwards; if the submission modified one in
        place, the batch is run again with a private copy per call, so no result ever depends
        on an earlier call's side effects.
        """
        if len(jobs) < 2:
            return [self.call(job, arrays) for job, arrays in jobs]
        counts: dict[int, int] = {}
        for _, arrays in jobs:
            for v in arrays.values():
                counts[id(v)] = counts.get(id(v), 0) + 1
        shared = {i: None for i, c in counts.items() if c > 1}
        originals: dict[int, np.ndarray] = {}
        for _, arrays in jobs:
            for v in arrays.values():
                if id(v) in shared and shared[id(v)] is None:
                    shared[id(v)] = np.array(v, copy=True)
                    originals[id(v)] = v
        results = []
        for job, arrays in jobs:
            passed = {k: (shared[id(v)] if id(v) in shared else v) for k, v in arrays.items()}
            meta, out = self.runner.call(job, passed)
            results.append(sanitize(meta, out))
        intact = all(np.array_equal(shared[i], originals[i], equal_nan=True) for i in shared)
        if intact:
            return results
        return [self.call(job, arrays) for job, arrays in jobs]

    def output(self) -> dict[str, str]:
        return {"stdout": self.runner.stdout.text(), "stderr": self.runner.stderr.text()}

    def close(self) -> None:
        # forget the submission's modules so that the next submission (same names, e.g.
        # ``layers``) is imported afresh
        if self._modules_before is not None:
            for name in set(sys.modules) - self._modules_before:
                sys.modules.pop(name, None)
            self._modules_before = None
        if self._path_before is not None:
            sys.path[:] = self._path_before
            self._path_before = None


class CountingExecutor:
    """Wraps an executor and counts calls and time spent in them (for the report)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.calls = 0
        self.seconds = 0.0

    def load(self, names: list[str]) -> LoadResult:
        return self.inner.load(names)

    def call(self, job: dict[str, Any], arrays: dict[str, np.ndarray]) -> CallResult:
        t0 = time.perf_counter()
        res = self.inner.call(job, arrays)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return res

    def call_many(self, jobs: list[tuple[dict[str, Any], dict[str, np.ndarray]]]
                  ) -> list[CallResult]:
        t0 = time.perf_counter()
        res = self.inner.call_many(jobs)
        self.seconds += time.perf_counter() - t0
        self.calls += len(jobs)
        return res

    def output(self) -> dict[str, str]:
        return self.inner.output()

    def close(self) -> None:
        self.inner.close()
