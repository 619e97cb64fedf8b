"""The untrusted side: import a submission and call its layers by plan.

This module is deliberately small and self-contained. It imports only the standard library
and NumPy, never anything else of gradcheck's, so that it can run as a plain script in a
sandboxed child process (see ``child``) as well as in-process (``--isolation none``).
It knows nothing of checks or verdicts: it receives *call plans* (plain JSON data describing
which names to call and how to arrange the arrays) and returns plain arrays plus a small
JSON description of what came back. The parent validates everything it returns.

The pieces, one job each: ``loader`` (find and import the modules, ``describe``), ``plans``
(the call-plan interpreter and its styles), ``output`` (captured, capped prints and warnings),
``values`` (descriptions and base-class copies of returned values). ``Runner`` composes them.
The sandbox child loads this folder as a package by path; siblings are imported relatively.

Request/response shapes (all JSON except the arrays):

``load()`` -> ``{"modules": [name, ...], "errors": [{"file", "line", "type", "message"}]}``

``describe(names)`` -> ``{name: {"module", "kind": "function"|"class"|"other",
"params": [[pname, pkind, has_default], ...] | None, "methods": {meth: params}}}``

``call(job, arrays)`` -> ``(meta, out_arrays)`` where ``job`` is
``{"plan": {...}, "seed": int, "config": {...}, "backward": bool}`` and ``arrays`` maps
the plan's array names (and ``"dout"``) to ``numpy.ndarray``. ``out_arrays`` holds
``"out"``, ``"grad.<name>"``, ``"state.<name>"`` and ``"after.<name>"`` (every input
array as it is after the call, for purity checks); ``meta`` describes every returned value
(``{"type", "dtype", "shape"}``), the captured output and any exception.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .loader import Loader
from .output import OUTPUT_CAP, CappedBuffer, capture
from .plans import CallFailed, Plans
from .values import MAX_ELEMENTS, as_plain_array, describe_value

_CappedBuffer = CappedBuffer  # the former name

__all__ = ["MAX_ELEMENTS", "OUTPUT_CAP", "CallFailed", "CappedBuffer", "Runner",
           "as_plain_array", "describe_value"]


class Runner:
    """Loads one submission and executes call plans against it.

    Parameters
    ----------
    root : path of a submission folder or a single ``.py`` file.
    """

    def __init__(self, root: str) -> None:
        self.stdout = CappedBuffer()
        self.stderr = CappedBuffer()
        #: optional hook ``(phase, where) -> None`` called before submitted code runs
        #: (the sandbox uses it to say which function a timeout interrupted)
        self.on_invoke: Any = None
        self.loader = Loader(root, self._capture, self._notify)
        self.root = self.loader.root
        self.plans = Plans(self.loader.lookup, self._capture, self._notify,
                           self.loader._base_dir)

    def _notify(self, phase: str, where: str) -> None:
        if self.on_invoke is not None:
            self.on_invoke(phase, where)

    def _capture(self) -> contextlib.ExitStack:
        """Route the submission's prints and warnings into the capped buffers (the sandbox
        child overrides this: there the output goes to the real fds)."""
        return capture(self.stdout, self.stderr)

    @property
    def modules(self) -> list[Any]:
        return self.loader.modules

    @modules.setter
    def modules(self, value: list[Any]) -> None:
        self.loader.modules = value

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.loader.errors

    def load(self) -> dict[str, Any]:
        """Import every top-level module and package of the submission."""
        return self.loader.load()

    def describe(self, names: list[str]) -> dict[str, Any]:
        """Where each requested name was found and what it looks like."""
        return self.loader.describe(names)

    def lookup(self, name: str) -> Any:
        return self.loader.lookup(name)

    def call(self, job: dict[str, Any], arrays: dict[str, np.ndarray]
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Execute one call plan: construct/forward, then optionally backward."""
        return self.plans.call(job, arrays)
