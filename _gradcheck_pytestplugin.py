"""The gradcheck pytest plugin: options, hooks, the ``gradcheck`` fixture and marker.

Registered through the ``pytest11`` entry point (``pip install gradcheck``). This module is
imported by every pytest run on a machine where gradcheck is installed, so it imports only
pytest and the standard library at the top: gradcheck itself (and numpy) is imported only
when ``--gradcheck`` is given or the fixture is used. The collection nodes are in
:mod:`gradcheck.testing`; every verdict comes from the core's report.

    pytest --gradcheck PATH [--gradcheck PATH ...] [--gradcheck-profile P] [--gradcheck-seed N]
           [--gradcheck-layer ID ...] [--gradcheck-isolation process|none]
           [--gradcheck-timeout S] [--gradcheck-report FILE]
"""

from __future__ import annotations

import os
from typing import Any

import pytest

#: every option, defined once: (flag, dest, keyword arguments for ``addoption``)
OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--gradcheck", "gradcheck_paths",
     {"action": "append", "default": [], "metavar": "PATH",
      "help": "check the layers of this submission (folder or .py), one test per layer and "
              "check kind; repeat for several submissions"}),
    ("--gradcheck-profile", "gradcheck_profile",
     {"default": "auto", "choices": ("auto", "cs231n", "dlfs"),
      "help": "course convention of the submissions (default: auto)"}),
    ("--gradcheck-seed", "gradcheck_seed",
     {"default": 0, "type": int, "metavar": "N",
      "help": "seed for inputs, probe directions and random masks (default: 0)"}),
    ("--gradcheck-layer", "gradcheck_layers",
     {"action": "append", "default": [], "metavar": "ID",
      "help": "check only this catalogue layer (repeatable, or comma-separated)"}),
    ("--gradcheck-isolation", "gradcheck_isolation",
     {"default": "process", "choices": ("process", "none"),
      "help": "process: submitted code runs in a limited child process (default); none: "
              "in this process (your own trusted code only)"}),
    ("--gradcheck-timeout", "gradcheck_timeout",
     {"default": None, "type": float, "metavar": "S",
      "help": "wall-time limit per call to submitted code, seconds (process isolation)"}),
    ("--gradcheck-report", "gradcheck_report",
     {"default": None, "metavar": "FILE",
      "help": "write the JSON report (one submission: the report; several: "
              "{\"reports\": [...]}) to FILE"}),
)

MARKER = ("gradcheck(seed=None, rtol=None, directions=None): settings of the gradcheck fixture "
          "for this test (seed, gradient relative tolerance, probe directions)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "gradient checking of NumPy layers (gradcheck)")
    for flag, dest, kwargs in OPTIONS:
        group.addoption(flag, dest=dest, **kwargs)


def _active(config: pytest.Config) -> bool:
    return bool(config.getoption("gradcheck_paths"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    if not _active(config):
        return
    from gradcheck.testing import GradcheckSession  # noqa: PLC0415 - only with --gradcheck

    config.stash[_SESSION] = GradcheckSession.from_config(config)


def _session(config: pytest.Config) -> Any:
    return config.stash.get(_SESSION, None)


_SESSION = pytest.StashKey[Any]()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    session = _session(config)
    return session.header() if session is not None else None


def pytest_ignore_collect(collection_path: Any, config: pytest.Config) -> bool | None:
    """Never collect (import) test files or conftests inside a graded submission."""
    session = _session(config)
    if session is not None and session.contains(os.fspath(collection_path)):
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    # tryfirst: our items exist before -k / -m deselect (they run in this same hook)
    gc = _session(config)
    if gc is not None:
        items.extend(gc.collect(session))


def pytest_collection_finish(session: pytest.Session) -> None:
    gc = _session(session.config)
    if gc is not None:
        gc.selected(session.items)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    gc = _session(session.config)
    if gc is not None:
        gc.finish(session)


@pytest.fixture
def gradcheck(request: pytest.FixtureRequest) -> Any:
    """``check_layer`` and ``assert_gradients`` preconfigured with this run's seed.

    ``gradcheck.assert_gradients(forward, backward, inputs, style=...)``; settings per test
    with ``@pytest.mark.gradcheck(seed=..., rtol=..., directions=...)``.
    """
    from gradcheck.testing import GradcheckFixture  # noqa: PLC0415

    marker = request.node.get_closest_marker("gradcheck")
    return GradcheckFixture.for_test(request.config.getoption("gradcheck_seed"),
                                     dict(marker.kwargs) if marker else {},
                                     list(marker.args) if marker else [])
