"""The pytest front end: test items built from the core's report, and the fixture's object.

The plugin module (``_gradcheck_pytestplugin``, options and hooks only) imports this package
when ``--gradcheck`` is given. For each submission, :func:`gradcheck.check_submission` runs
once (in the sandbox by default) and its report becomes one test item per layer and check
kind: ``<submission>::<layer>::<kind>``. An item's outcome is read from that report, computed
by this process; nothing the submission does can mark an item passed or skipped.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from .. import api
from ..api import check_submission
from ..catalogue import layer_ids
from ..errors import GradcheckError
from ..report import LayerReport, Report, validate
from ..report.text import failure_lines, layer_extras

__all__ = ["GradcheckFailure", "GradcheckFixture", "GradcheckSession", "GradcheckWarning"]


class GradcheckWarning(UserWarning):
    """A check that passed with a warning (e.g. a backward that writes into ``dout``)."""


class GradcheckFailure(Exception):
    """A failed or errored check; its text is the CLI's message for it."""


def _inside(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class GradcheckSession:
    """The ``--gradcheck`` settings of one pytest run, the reports, and the items made."""

    def __init__(self, config: pytest.Config, paths: list[str], layers: list[str] | None
                 ) -> None:
        self.config = config
        self.paths = paths
        self.layers = layers
        self.profile: str = config.getoption("gradcheck_profile")
        self.seed: int = config.getoption("gradcheck_seed")
        self.isolation: str = config.getoption("gradcheck_isolation")
        self.timeout: float | None = config.getoption("gradcheck_timeout")
        self.report_path: str | None = config.getoption("gradcheck_report")
        self.reports: dict[str, Report] = {}
        self.failed_nodes: set[str] = set()
        self.selected_nodes: set[str] = set()

    @classmethod
    def from_config(cls, config: pytest.Config) -> "GradcheckSession":
        """Validate the options; refuse a run configured from inside a submission."""
        paths = [str(p) for p in config.getoption("gradcheck_paths")]
        for p in paths:
            if not os.path.exists(p):
                raise pytest.UsageError(f"--gradcheck {p}: no such file or folder")
            if os.path.isfile(p) and not p.endswith(".py"):
                raise pytest.UsageError(f"--gradcheck {p}: a submission is a folder or a .py "
                                        "file")
        if len({os.path.realpath(p) for p in paths}) != len(paths):
            raise pytest.UsageError("--gradcheck: the same submission is given twice")
        raw = [v.strip() for value in config.getoption("gradcheck_layers")
               for v in value.split(",") if v.strip()]
        unknown = [v for v in raw if v not in layer_ids()]
        if unknown:
            raise pytest.UsageError(f"--gradcheck-layer: unknown layer id {', '.join(unknown)}; "
                                    f"the catalogue has {', '.join(layer_ids())}")
        timeout = config.getoption("gradcheck_timeout")
        if timeout is not None and not timeout > 0:
            raise pytest.UsageError("--gradcheck-timeout: a positive number of seconds")
        self = cls(config, paths, raw or None)
        self.refuse_planted_configuration()
        return self

    # -- grading mode: nothing inside a submission configures the run -------------------------

    def contains(self, path: str) -> bool:
        """Whether ``path`` is (inside) one of the submissions."""
        return any(_inside(path, p) for p in self.paths)

    def refuse_planted_configuration(self) -> None:
        """A configuration file, conftest.py or plugin from inside a submission is refused.

        pytest picks its ini file and the first conftest.py files from the paths of its own
        command line (and the current folder), so a run started inside a submission folder
        would be configured by the submission. Such a run stops with a usage error (exit 4):
        it is never graded.
        """
        inipath = getattr(self.config, "inipath", None)
        if inipath is not None and self.contains(str(inipath)):
            raise pytest.UsageError(
                f"gradcheck: the configuration file {inipath} is inside the submission being "
                "checked, so the submission would configure this run. Run pytest from outside "
                "the submission with a pinned configuration: pytest -c /path/to/pytest.ini "
                "--noconftest --gradcheck SUBMISSION (see docs/pytest.md)")
        for plugin in self.config.pluginmanager.get_plugins():
            file = getattr(plugin, "__file__", None)
            if isinstance(file, str) and self.contains(file):
                raise pytest.UsageError(
                    f"gradcheck: {file} (a conftest.py or plugin) inside the submission being "
                    "checked was loaded into this pytest run and could change its outcomes. "
                    "Run with --noconftest from outside the submission (see docs/pytest.md)")

    # -- collection ---------------------------------------------------------------------------

    def header(self) -> list[str]:
        timeout = f", timeout {self.timeout:g} s per call" if self.timeout else ""
        lines = [f"gradcheck: seed {self.seed}, profile {self.profile}, isolation "
                 f"{self.isolation}{timeout}; submissions: {', '.join(self.paths)}"]
        if os.environ.get("PYTEST_ADDOPTS"):
            lines.append("gradcheck: PYTEST_ADDOPTS is set ("
                         f"{os.environ['PYTEST_ADDOPTS']!r}); clear it when grading")
        return lines

    def _check(self, path: str) -> Report:
        limits = {"call_timeout": self.timeout} if self.timeout else None
        try:
            return check_submission(path, profile=self.profile, seed=self.seed,
                                    layers=self.layers, isolation=self.isolation,
                                    limits=limits)
        except GradcheckError as exc:
            message = exc.message
        except (Exception, SystemExit) as exc:  # submitted code under --gradcheck-isolation none
            message = f"{type(exc).__name__}: {exc}"
        except BaseException as exc:  # e.g. pytest.skip() called by submitted code
            if isinstance(exc, KeyboardInterrupt):
                raise
            message = (f"the submission raised {type(exc).__name__} ({exc}) while being "
                       "checked in this process; a submission cannot skip or end its own "
                       "checks. Run with --gradcheck-isolation process.")
        return Report(submission=path, profile=None,
                      settings={"seed": self.seed, "profile": self.profile,
                                "isolation": self.isolation, "tolerances": {}},
                      errors=[{"kind": "checker", "type": "CheckerError", "severity": "error",
                               "message": message}])

    def _nodeid(self, path: str) -> str:
        root = str(self.config.rootpath)
        full = os.path.abspath(path)
        rel = os.path.relpath(full, root) if _inside(full, root) else path
        return rel.replace(os.sep, "/").rstrip("/") or "."

    def collect(self, session: pytest.Session) -> list[pytest.Item]:
        items: list[pytest.Item] = []
        for path in self.paths:
            first = len(items)
            report = self.reports[path] = self._check(path)
            sub = SubmissionNode.from_parent(session, name=self._nodeid(path),
                                             nodeid=self._nodeid(path), path=Path(path))
            load_errors = [e for e in report.errors if e.get("severity") != "warning"]
            if load_errors and (report.status == "error" or not report.layers):
                items.append(LoadItem.from_parent(sub, name="load", report=report,
                                                  errors=load_errors))
            for lr in report.layers:
                layer = LayerNode.from_parent(sub, name=lr.layer, path=Path(path))
                kinds = list(dict.fromkeys(c.kind for c in lr.checks)) or ["signature"]
                for kind in kinds:
                    items.append(CheckItem.from_parent(layer, name=kind, layer_report=lr,
                                                       kind=kind))
            # announce them as collected (the terminal's count, --collect-only, junit)
            session.ihook.pytest_collectreport(report=pytest.CollectReport(
                sub.nodeid, "passed", None, items[first:]))
        for item in items:
            if item.verdict == "fail":  # type: ignore[attr-defined]
                self.failed_nodes.add(item.nodeid)
        return items

    def selected(self, items: list[pytest.Item]) -> None:
        self.refuse_planted_configuration()  # conftests loaded during collection too
        self.selected_nodes = {i.nodeid for i in items}

    def finish(self, session: pytest.Session) -> None:
        """Write the JSON report; make the exit status follow the core's verdicts."""
        if self.report_path and self.reports:
            docs = [r.to_dict() for r in self.reports.values()]
            for d in docs:
                validate(d)
            out = docs[0] if len(docs) == 1 else {"reports": docs}
            with open(self.report_path, "w", encoding="utf-8") as fh:
                json.dump(out, fh, indent=2, allow_nan=False)
                fh.write("\n")
        # the outcome of a selected item whose checks failed must be a failure, whatever
        # happened to its test report on the way (a hook rewriting outcomes)
        if (self.failed_nodes & self.selected_nodes) and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.ensure_newline()
                reporter.write_line("gradcheck: checks failed in the core's report but the "
                                    "run recorded no failure; something in this run changed "
                                    "test outcomes. Exit status set to 1.", red=True)


class SubmissionNode(pytest.Collector):
    """One submission (its items are made from its report, not collected from files)."""

    def collect(self) -> list[Any]:  # pragma: no cover - items are built by the session
        return []


class LayerNode(pytest.Collector):
    """One catalogue layer of a submission."""

    def collect(self) -> list[Any]:  # pragma: no cover - items are built by the session
        return []


class _ReportItem(pytest.Item):
    verdict = "pass"

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.nodeid.split("::", 1)[-1]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, GradcheckFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class CheckItem(_ReportItem):
    """The checks of one kind (``gradient``, ``forward``, ...) of one layer."""

    def __init__(self, *, layer_report: LayerReport, kind: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.layer_report = layer_report
        self.kind = kind
        self.checks = [c for c in layer_report.checks if c.kind == kind]
        statuses = {c.status for c in self.checks}
        if statuses & {"fail", "error"} or (not self.checks and layer_report.status in
                                            ("fail", "error")):
            self.verdict = "fail"
        elif layer_report.status == "skip" or (self.checks and statuses == {"skip"}):
            self.verdict = "skip"
        self.user_properties.append(("gradcheck_layer", layer_report.layer))
        self.user_properties.append(("gradcheck_kind", kind))

    def runtest(self) -> None:
        lr = self.layer_report
        if self.verdict == "fail":
            lines = failure_lines(lr, self.checks) or [f"{lr.layer}: {lr.message}"]
            raise GradcheckFailure("\n".join(lines + layer_extras(lr)))
        if self.verdict == "skip":
            pytest.skip(lr.message or "not implemented")
        for c in self.checks:
            if c.status == "warn":
                warnings.warn(GradcheckWarning(f"{lr.layer} {c.kind}: {c.message}"),
                              stacklevel=1)


class LoadItem(_ReportItem):
    """A submission that could not be loaded or checked at all."""

    def __init__(self, *, report: Report, errors: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(**kw)
        self.report = report
        self.errors = errors
        self.verdict = "fail"

    def runtest(self) -> None:
        lines = []
        for e in self.errors:
            where = f"{e.get('file')}:{e.get('line')} " if e.get("file") else ""
            lines.append(f"ERROR {where}{e.get('type', '')}: {e.get('message', '')}")
        raise GradcheckFailure("\n".join(lines))


class GradcheckFixture:
    """What the ``gradcheck`` fixture gives a test: the API with this test's settings."""

    def __init__(self, seed: int, options: dict[str, Any]) -> None:
        self.seed = seed
        self.options = options

    @classmethod
    def for_test(cls, run_seed: int, kwargs: dict[str, Any], args: list[Any]
                 ) -> "GradcheckFixture":
        """The fixture's object for one test: the marker's settings over the run's seed."""
        if args:
            raise pytest.UsageError("@pytest.mark.gradcheck takes keyword arguments only "
                                    "(seed=, rtol=, directions=)")
        unknown = set(kwargs) - {"seed", "rtol", "directions"}
        if unknown:
            raise pytest.UsageError(f"@pytest.mark.gradcheck: unknown setting(s) "
                                    f"{', '.join(sorted(unknown))}; use seed, rtol, directions")
        seed = kwargs.pop("seed", None)
        options = {k: v for k, v in kwargs.items() if v is not None}
        return cls(run_seed if seed is None else int(seed), options)

    def _kw(self, kw: dict[str, Any]) -> dict[str, Any]:
        merged = {"seed": self.seed, **self.options}
        merged.update(kw)
        return merged

    def check_layer(self, forward: Any, backward: Any, inputs: Any, **kw: Any) -> LayerReport:
        """:func:`gradcheck.check_layer` with this test's seed and tolerances."""
        return api.check_layer(forward, backward, inputs, **self._kw(kw))

    def assert_gradients(self, forward: Any, backward: Any, inputs: Any, **kw: Any) -> None:
        """:func:`gradcheck.assert_gradients` with this test's seed and tolerances."""
        api.assert_gradients(forward, backward, inputs, **self._kw(kw))
