"""The installed package, used from outside the repository (CI installs it non-editable into a
fresh virtual environment): the reference layers and the schema ship with it, and no generic
top-level ``reference`` module is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

PROBE = r"""
import importlib.util, json, os
import gradcheck
from gradcheck import check_submission, reference_path, schema
out = {
    "top_level_reference": importlib.util.find_spec("reference") is not None,
    "schema_title": schema()["title"],
    "statuses": {p: check_submission(reference_path(p), profile=p, layers=["affine", "conv"],
                                     counterexample=False).status
                 for p in ("cs231n", "dlfs")},
    "cwd": os.getcwd(),
}
print(json.dumps(out))
"""


def test_installed_package_works_outside_the_repository(tmp_path):
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["top_level_reference"] is False
    assert out["schema_title"] == "gradcheck report"
    assert out["statuses"] == {"cs231n": "pass", "dlfs": "pass"}


def test_console_script_is_installed(tmp_path):
    exe = shutil.which("gradcheck") or os.path.join(os.path.dirname(sys.executable), "gradcheck")
    assert os.path.exists(exe), "the gradcheck console script is not installed"
    res = subprocess.run([exe, "schema"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=60)
    assert res.returncode == 0 and json.loads(res.stdout)["title"] == "gradcheck report"


def test_a_bare_source_checkout_works_from_the_repository_root():
    """`python -c` / `python -m` in the repository root import the source tree first, where
    gradcheck.reference exists only through gradcheck._source_tree's finder."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    probe = PROBE.replace('"top_level_reference"', '"gradcheck_file": gradcheck.__file__, '
                          '"top_level_reference"')
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=root, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["gradcheck_file"].startswith(root)  # the source tree, not site-packages
    assert out["statuses"] == {"cs231n": "pass", "dlfs": "pass"}
