"""Input generators shared by several families: kink margins, distinct grids, labels.

Inputs are drawn so that no finite-difference probe can cross a kink: ReLU inputs are at
least KINK_MARGIN away from 0, pooling windows have a unique maximum by GRID_STEP, SVM
margins are at least KINK_MARGIN away from their hinge. Probe steps are ~1e-5 (see _numeric).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import Arrays

KINK_MARGIN = 0.1
GRID_STEP = 0.05
#: magnitude of the inputs of stability cases
LARGE = 1000.0


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    mag = rng.uniform(KINK_MARGIN, 1.5, size=shape)
    return mag * rng.choice([-1.0, 1.0], size=shape)


def distinct_grid(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values spaced GRID_STEP apart in random order: every window has a unique maximum."""
    n = int(np.prod(shape))
    vals = (np.arange(n) - n / 2) * GRID_STEP
    return rng.permutation(vals).reshape(shape).astype(np.float64)


def labels(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return rng.integers(0, c, size=n).astype(np.int64)


def softmax(s: np.ndarray) -> np.ndarray:
    z = np.exp(s - s.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def gen_signed_large(rng: np.random.Generator, p: dict[str, Any]) -> Arrays:
    """Large-magnitude inputs for stability cases: both signs, |x| up to ``scale``."""
    x = rng.uniform(0.5, 1.0, size=p["x"]) * rng.choice([-1.0, 1.0], size=p["x"])
    return {"x": x * p["scale"]}
