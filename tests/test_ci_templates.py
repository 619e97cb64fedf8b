"""The ready-to-copy CI in ci/: the YAML is valid, both wrappers run the one hardened script,
and the exact lines they run work in a copy of a course repository with real student folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from gradcheck import validate

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "ci"
SUBS = ROOT / "submissions"


def _commands(doc) -> list[str]:
    found: list[str] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in ("run", "script", "after_script"):
                found += [v] if isinstance(v, str) else list(v)
            else:
                found += _commands(v)
    elif isinstance(doc, list):
        for v in doc:
            found += _commands(v)
    return found


def _github():
    return yaml.safe_load((CI / "github-actions.yml").read_text())


def _gitlab():
    return yaml.safe_load((CI / "gitlab-ci.yml").read_text())["gradcheck"]


def _course_repo(tmp_path: Path) -> Path:
    """A course repository as the templates expect it: ci/ copied in, students/ with one
    correct and one buggy submission, and hostile files wherever students can write."""
    repo = tmp_path / "course"
    shutil.copytree(CI, repo / "ci")
    students = repo / "students"
    shutil.copytree(SUBS / "cs231n_correct", students / "cs231n_correct")
    shutil.copytree(SUBS / "dlfs_buggy", students / "dlfs_buggy")
    # none of these may change the verdicts: a conftest.py in a submission and in the
    # repository root, an ini file next to the submissions (pytest would take it as the
    # config), a pytest.py in the root (python -m pytest would import it instead of pytest)
    hijack = "import os\nos._exit(0)\n"
    (students / "dlfs_buggy" / "conftest.py").write_text(hijack)
    (repo / "conftest.py").write_text(hijack)
    (students / "pytest.ini").write_text("[pytest]\naddopts = --collect-only\n")
    (repo / "pytest.py").write_text(hijack)
    return repo


def _run(line: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", line], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PATH": f"{Path(sys.executable).parent}"
                                            f"{os.pathsep}{os.environ.get('PATH', '')}", **env})


def _check_outputs(out: Path, names: set[str]) -> None:
    doc = json.loads((out / "gradcheck-report.json").read_text())
    reports = doc.get("reports", [doc])
    assert len(reports) == len(names)
    for report in reports:
        validate(report)
    assert {r["status"] for r in reports} == ({"pass", "fail"} if len(names) > 1 else {"fail"})
    cases = {(c.get("classname"), c.get("name"))
             for c in ET.parse(out / "junit.xml").getroot().iter("testcase")}
    assert ("dlfs_buggy.mul", "gradient") in cases
    if "cs231n_correct" in names:
        assert ("cs231n_correct.affine", "gradient") in cases


def test_github_workflow_structure():
    wf = _github()
    steps = wf["jobs"]["layers"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    setup = [s for s in steps if s.get("uses", "").startswith("actions/setup-python")]
    assert setup and str(setup[0]["with"]["python-version"]) == "3.11"
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and upload[0].get("if") == "always()"
    assert "junit.xml" in upload[0]["with"]["path"]
    assert "gradcheck-report.json" in upload[0]["with"]["path"]
    assert "actions/checkout@v4" in uses
    cmds = _commands(wf)
    assert any(c.startswith("pip install gradcheck") for c in cmds)
    assert sum("ci/run-gradcheck.sh" in c for c in cmds) == 1
    assert any("GITHUB_STEP_SUMMARY" in c and "ci/summary.py" in c for c in cmds)


def test_gitlab_job_structure():
    job = _gitlab()
    assert job["image"].startswith("python:3.11")
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"].endswith("junit.xml")
    assert any(p.endswith("gradcheck-report.json") for p in job["artifacts"]["paths"])
    assert sum("ci/run-gradcheck.sh" in c for c in _commands(job)) == 1


def test_the_script_is_hardened():
    text = (CI / "run-gradcheck.sh").read_text()
    for part in ("--gradcheck", "--noconftest", "-p gradcheck", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1",
                 "-u PYTEST_ADDOPTS", "python -I -m pytest", "-p no:cacheprovider",
                 '-c "$here/pytest-grading.ini"', "--rootdir", "--junitxml", "--gradcheck-report"):
        assert part in text, part
    ini = (CI / "pytest-grading.ini").read_text()
    assert "[pytest]" in ini


def test_the_github_lines_grade_a_course_repo(tmp_path):
    repo = _course_repo(tmp_path)
    cmds = _commands(_github())
    grade = next(c for c in cmds if "ci/run-gradcheck.sh" in c)
    summary = next(c for c in cmds if "ci/summary.py" in c)
    # PYTEST_ADDOPTS set by someone else must not reach the run
    proc = _run(grade, repo, PYTEST_ADDOPTS="--collect-only -p no:gradcheck")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    _check_outputs(repo / "gradcheck-out", {"cs231n_correct", "dlfs_buggy"})
    step_summary = tmp_path / "step-summary.md"
    proc = _run(summary, repo, GITHUB_STEP_SUMMARY=str(step_summary))
    assert proc.returncode == 0, proc.stderr
    text = step_summary.read_text()
    assert "| submission | layer | check | message |" in text
    assert "| dlfs_buggy | mul | gradient |" in text
    assert "| cs231n_correct |" not in text


def test_the_gitlab_lines_grade_a_course_repo(tmp_path):
    repo = _course_repo(tmp_path)
    job = _gitlab()
    grade = [c for c in job["script"] if not c.startswith("pip install")]
    proc = _run("\n".join(grade), repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    _check_outputs(repo / "gradcheck-out", {"cs231n_correct", "dlfs_buggy"})
    proc = _run("\n".join(job["after_script"]), repo)
    assert "| dlfs_buggy | mul | gradient |" in proc.stdout


def test_the_script_grades_a_students_own_submission(tmp_path):
    # a student's own repository: one folder submission/ (its conftest.py is not run)
    repo = tmp_path / "mine"
    shutil.copytree(CI, repo / "ci")
    shutil.copytree(SUBS / "dlfs_buggy", repo / "dlfs_buggy")
    (repo / "dlfs_buggy" / "conftest.py").write_text("import os\nos._exit(0)\n")
    proc = _run("bash ci/run-gradcheck.sh --single dlfs_buggy out --gradcheck-isolation none",
                repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    _check_outputs(repo / "out", {"dlfs_buggy"})


@pytest.mark.parametrize("args", [["students"], ["--single", "students/nothing"]])
def test_the_script_refuses_no_submissions(tmp_path, args):
    (tmp_path / "students").mkdir()
    proc = subprocess.run(["bash", str(CI / "run-gradcheck.sh"), *args, str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "no submission" in proc.stderr


def test_summary_without_a_report(tmp_path):
    proc = subprocess.run([sys.executable, str(CI / "summary.py"), str(tmp_path / "none.json")],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "no report" in proc.stdout
