"""The pytest plugin, run for real with pytester: items, outcomes, options, hostile folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gradcheck import check_submission, validate

ROOT = Path(__file__).resolve().parent.parent
SUBS = ROOT / "submissions"
NONE = "--gradcheck-isolation=none"


def _copy(pytester: pytest.Pytester, name: str, as_name: str | None = None) -> Path:
    dest = pytester.path / (as_name or name)
    shutil.copytree(SUBS / name, dest)
    return dest


def _expected(path: Path, **kw) -> dict[str, str]:
    """Node-id suffix -> the verdict the core gives, for every (layer, kind)."""
    report = check_submission(path, isolation="none", **kw)
    out: dict[str, str] = {}
    for lr in report.layers:
        kinds: dict[str, set[str]] = {}
        for c in lr.checks:
            kinds.setdefault(c.kind, set()).add(c.status)
        if not kinds:
            kinds["signature"] = {lr.status}
        for kind, statuses in kinds.items():
            if statuses & {"fail", "error"}:
                out[f"{lr.layer}::{kind}"] = "failed"
            elif lr.status == "skip" or statuses == {"skip"}:
                out[f"{lr.layer}::{kind}"] = "skipped"
            else:
                out[f"{lr.layer}::{kind}"] = "passed"
    return out


def _outcomes(rec: pytest.HookRecorder) -> dict[str, str]:
    got: dict[str, str] = {}
    for rep in rec.getreports("pytest_runtest_logreport"):
        if rep.when == "call" or rep.outcome == "skipped":
            got[rep.nodeid.split("::", 1)[1]] = rep.outcome
    return got


@pytest.mark.parametrize("name", ["cs231n_correct", "cs231n_buggy_backward", "dlfs_correct",
                                  "dlfs_buggy", "cs231n_partial"])
def test_one_item_per_layer_and_kind_with_the_cores_verdict(pytester, name):
    sub = _copy(pytester, name)
    result = pytester.inline_run("--gradcheck", str(sub), NONE)
    expected = _expected(sub)
    assert _outcomes(result) == expected
    failed = any(v == "failed" for v in expected.values())
    assert result.ret == (1 if failed else 0)


def test_node_ids_name_the_submission_layer_and_kind(pytester):
    sub = _copy(pytester, "cs231n_correct", "alice")
    result = pytester.runpytest("--gradcheck", str(sub), NONE, "--collect-only", "-q")
    lines = result.stdout.lines
    assert "alice::affine::gradient" in lines
    assert "alice::two_layer_net::init" in lines
    assert result.ret == 0


def test_failure_message_is_the_clis(pytester):
    sub = _copy(pytester, "cs231n_buggy_backward")
    result = pytester.runpytest("--gradcheck", str(sub), NONE, "-k", "relu and gradient")
    report = check_submission(sub, isolation="none", layers=["relu"])
    failing = [c for c in report.layer("relu").checks
               if c.kind == "gradient" and c.status == "fail"]
    assert failing
    result.stdout.fnmatch_lines([f"FAIL  relu gradient*{failing[0].message[:60]}*"])
    result.assert_outcomes(failed=1)


def test_k_selects_and_x_stops(pytester):
    sub = _copy(pytester, "cs231n_buggy_backward")
    only = pytester.runpytest("--gradcheck", str(sub), NONE, "-k", "affine", "-q")
    outcomes = only.parseoutcomes()
    assert outcomes.get("passed", 0) > 0 and "failed" not in outcomes
    assert only.ret == 0          # a -k that selects only passing layers passes
    first = pytester.runpytest("--gradcheck", str(sub), NONE, "-x", "-q")
    assert first.parseoutcomes()["failed"] == 1
    assert first.ret == 1


def test_several_submissions_each_get_their_items(pytester):
    a = _copy(pytester, "cs231n_correct", "alice")
    b = _copy(pytester, "dlfs_buggy", "bob")
    result = pytester.runpytest("--gradcheck", str(a), "--gradcheck", str(b), NONE,
                                "--collect-only", "-q")
    text = "\n".join(result.stdout.lines)
    assert "alice::conv::gradient" in text and "bob::mul::gradient" in text


def test_junit_names_and_report_file(pytester):
    sub = _copy(pytester, "dlfs_buggy")
    junit = pytester.path / "junit.xml"
    report_file = pytester.path / "report.json"
    result = pytester.runpytest("--gradcheck", str(sub), NONE, f"--junitxml={junit}",
                                f"--gradcheck-report={report_file}", "--gradcheck-seed=3")
    assert result.ret == 1
    cases = ET.parse(junit).getroot().iter("testcase")
    names = {(c.get("classname"), c.get("name")): c.find("failure") is not None for c in cases}
    assert names[("dlfs_buggy.mul", "gradient")] is True
    assert names[("dlfs_buggy.add", "gradient")] is False
    doc = json.loads(report_file.read_text())
    validate(doc)
    assert doc["status"] == "fail" and doc["settings"]["seed"] == 3
    result.stdout.fnmatch_lines(["gradcheck: seed 3, profile auto, isolation none*"])


def test_layer_option_restricts_the_check(pytester):
    sub = _copy(pytester, "cs231n_buggy_backward")
    result = pytester.runpytest("--gradcheck", str(sub), NONE, "--gradcheck-layer",
                                "affine,tanh", "--collect-only", "-q")
    text = "\n".join(result.stdout.lines)
    assert "::affine::" in text and "::tanh::" in text and "::relu::" not in text


@pytest.mark.parametrize("args, message", [
    (["--gradcheck", "does/not/exist"], "no such file or folder"),
    (["--gradcheck", "{sub}", "--gradcheck-layer", "softmaxx"], "unknown layer id softmaxx"),
    (["--gradcheck", "{sub}", "--gradcheck-profile", "torch"], "invalid choice"),
    (["--gradcheck", "{sub}", "--gradcheck-timeout", "-1"], "positive number"),
    (["--gradcheck", "{sub}", "--gradcheck", "{sub}"], "given twice"),
])
def test_option_errors_are_usage_errors_with_a_message(pytester, args, message):
    sub = _copy(pytester, "cs231n_partial")
    result = pytester.runpytest(*[a.format(sub=sub) for a in args])
    assert result.ret in (pytest.ExitCode.USAGE_ERROR, 4)
    assert message in result.stderr.str() + result.stdout.str()


def test_a_load_failure_is_one_failing_item(pytester):
    sub = _copy(pytester, "cs231n_syntax_error")
    result = pytester.runpytest("--gradcheck", str(sub), NONE, "-q")
    assert result.ret == 1
    assert "SyntaxError" in result.stdout.str()


# -- hostile submissions ----------------------------------------------------------------------

REWRITE_CONFTEST = """
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    rep.outcome = "passed"
    rep.longrepr = None
"""


def _hostile(pytester, files: dict[str, str], base: str = "cs231n_buggy_backward") -> Path:
    sub = _copy(pytester, base, "mallory")
    for name, text in files.items():
        (sub / name).write_text(textwrap.dedent(text))
    return sub


def _run_sub(cwd: Path, *args: str, env_path: str | None = None
             ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONPATH")}
    if env_path:
        env["PYTHONPATH"] = env_path
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_a_conftest_in_the_submission_is_never_loaded(pytester):
    sub = _hostile(pytester, {"conftest.py": REWRITE_CONFTEST,
                              "test_forged.py": "def test_ok():\n    assert True\n"})
    proc = _run_sub(pytester.path, "--gradcheck", str(sub), "-q", "-rA")
    assert proc.returncode == 1, proc.stdout
    assert "relu::gradient" in proc.stdout and "FAILED" in proc.stdout
    assert "test_forged" not in proc.stdout      # the submission's own tests are not collected


def test_run_from_inside_the_submission_is_refused(pytester):
    sub = _hostile(pytester, {"conftest.py": REWRITE_CONFTEST})
    proc = _run_sub(sub, "--gradcheck", ".")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "inside the submission" in proc.stderr


def test_a_planted_ini_with_addopts_is_refused(pytester):
    sub = _hostile(pytester, {"pytest.ini": "[pytest]\naddopts = -k nothing_matches\n"})
    proc = _run_sub(sub, "--gradcheck", ".")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "configuration file" in proc.stderr


def test_a_pytest_plugins_line_in_the_submission_is_refused(pytester):
    sub = _hostile(pytester, {"conftest.py": "pytest_plugins = ['evil_plugin']\n",
                              "evil_plugin.py": REWRITE_CONFTEST})
    proc = _run_sub(sub, "--gradcheck", ".")
    assert proc.returncode == 4, proc.stdout + proc.stderr


def test_outcomes_rewritten_by_any_hook_still_exit_1(pytester):
    """A plugin outside the submission that rewrites every outcome to passed cannot turn the
    core's failures into exit 0."""
    sub = _copy(pytester, "cs231n_buggy_backward")
    (pytester.path / "rewrite_plugin.py").write_text(REWRITE_CONFTEST)
    proc = _run_sub(pytester.path, "-p", "rewrite_plugin", "--gradcheck", str(sub), NONE,
                    env_path=str(pytester.path))
    summary = proc.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "failed" not in summary  # the rewrite hit every item ...
    assert proc.returncode == 1                 # ... and the exit status still says fail
    assert "something in this run changed test outcomes" in proc.stdout


@pytest.mark.parametrize("body", ["pytest.skip('later')", "pytest.xfail('known')",
                                  "sys.exit(0)"])
@pytest.mark.parametrize("isolation", ["none", "process"])
def test_a_submission_cannot_skip_or_exit_its_checks(pytester, body, isolation):
    sub = pytester.path / "eve"
    sub.mkdir()
    src = (SUBS / "cs231n_partial" / "layers.py").read_text()
    src = src.replace("def relu_backward(dout, cache):",
                      f"def relu_backward(dout, cache):\n    import pytest, sys\n    {body}\n"
                      "\ndef _unused(dout, cache):")
    (sub / "layers.py").write_text(src)
    proc = _run_sub(pytester.path, "--gradcheck", str(sub), f"--gradcheck-isolation={isolation}",
                    "-q", "-rA")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    relu = [ln for ln in proc.stdout.splitlines() if "eve::relu::" in ln]
    assert any(ln.startswith("FAILED eve::relu::") for ln in relu), proc.stdout
    assert not any(ln.startswith(("SKIPPED", "XFAIL", "XPASS")) for ln in relu), proc.stdout


def test_a_plain_pytest_run_does_not_import_gradcheck():
    probe = ("import sys, _gradcheck_pytestplugin; "
             "bad = [m for m in ('gradcheck', 'numpy') if m in sys.modules]; "
             "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd="/")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_plugin_is_inert_without_the_option(pytester):
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1)
    assert "gradcheck" not in result.stdout.str()
