"""The ready-to-copy CI in ci/: the YAML is valid, both wrappers run the one hardened script,
and that script does what they rely on against real student folders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

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


def test_github_workflow_structure():
    wf = yaml.safe_load((CI / "github-actions.yml").read_text())
    steps = wf["jobs"]["layers"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/setup-python") for u in uses)
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and "junit.xml" in upload[0]["with"]["path"]
    cmds = _commands(wf)
    assert any("ci/run-gradcheck.sh" in c for c in cmds)
    assert any("GITHUB_STEP_SUMMARY" in c and "ci/summary.py" in c for c in cmds)


def test_gitlab_job_structure():
    job = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["gradcheck"]
    assert job["artifacts"]["reports"]["junit"].endswith("junit.xml")
    assert any("ci/run-gradcheck.sh" in c for c in _commands(job))


def test_the_script_is_hardened():
    text = (CI / "run-gradcheck.sh").read_text()
    for part in ("--gradcheck", "--noconftest", "-p gradcheck", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1",
                 "-u PYTEST_ADDOPTS", "-c ", "--rootdir", "--junitxml", "--gradcheck-report"):
        assert part in text, part


def test_the_script_grades_a_students_folder(tmp_path):
    students = tmp_path / "students"
    shutil.copytree(SUBS / "cs231n_correct", students / "alice")
    shutil.copytree(SUBS / "dlfs_buggy", students / "bob")
    # a hostile conftest in a student's folder changes nothing
    (students / "bob" / "conftest.py").write_text("import os\nos._exit(0)\n")
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(CI / "run-gradcheck.sh"), str(students), str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((out / "gradcheck-report.json").read_text())
    assert len(doc["reports"]) == 2
    for report in doc["reports"]:
        validate(report)
    cases = {(c.get("classname"), c.get("name"))
             for c in ET.parse(out / "junit.xml").getroot().iter("testcase")}
    assert ("alice.affine", "gradient") in cases and ("bob.mul", "gradient") in cases
    summary = subprocess.run([sys.executable, str(CI / "summary.py"),
                              str(out / "gradcheck-report.json")],
                             capture_output=True, text=True, check=True).stdout
    assert "| bob | mul | gradient |" in summary
    assert "| alice |" not in summary


def test_the_script_refuses_an_empty_folder(tmp_path):
    (tmp_path / "students").mkdir()
    proc = subprocess.run(["bash", str(CI / "run-gradcheck.sh"), str(tmp_path / "students"),
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 2 and "no submissions" in proc.stderr
