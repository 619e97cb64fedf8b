"""Plain values out of a call: describe what a layer returned, copy arrays to base ndarrays.

Standard library and NumPy only: nothing of the checker (see ``__init__``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: arrays larger than this (elements) are never copied out of a call (see _executor)
MAX_ELEMENTS = 20_000_000


def describe_value(v: Any) -> dict[str, Any]:
    """Plain description of a returned value: type name, dtype and shape where it has them."""
    d: dict[str, Any] = {"type": type(v).__name__}
    if isinstance(v, np.ndarray):
        d["type"] = "ndarray" if type(v) is np.ndarray else f"ndarray subclass {type(v).__name__}"
        d["dtype"] = str(np.ndarray.__getattribute__(v, "dtype"))
        d["shape"] = list(np.ndarray.__getattribute__(v, "shape"))
    elif isinstance(v, (tuple, list)):
        d["len"] = len(v)
    elif isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, bool):
        d["dtype"] = str(np.asarray(v).dtype) if isinstance(v, np.generic) else type(v).__name__
        d["shape"] = []
    return d


def as_plain_array(v: Any) -> np.ndarray | None:
    """A base-class ndarray copy of ``v`` if it is an array or a real scalar, else None.

    Subclass methods are never called: the data is viewed through ``np.ndarray`` itself.
    """
    if isinstance(v, np.ndarray):
        base = np.ndarray.view(v, np.ndarray)
        if base.size > MAX_ELEMENTS:  # refused before copying (the parent would drop it)
            return None
        return np.array(base, copy=True)
    if isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, bool):
        return np.array(v)
    return None
