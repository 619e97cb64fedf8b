"""Minimal counterexamples: config-only bugs are found and shrunk; repeatable; nothing on disk;
no cost for passing layers."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from gradcheck import check_submission, validate
from gradcheck.engine import counterexample as _counterexample

mutants = pytest.importorskip("mutants")
BY_ID = {m.id: m for m in mutants.MUTANTS}


def _submission(tmp_path, mutant_id):
    m = BY_ID[mutant_id]
    sub = tmp_path / "sub"
    shutil.copytree(mutants.BASES[m.profile], sub)
    path = sub / m.file
    path.write_text(mutants.apply(path.read_text(), m.find, m.replace))
    return m, sub


def _ce(tmp_path, mutant_id, **kw):
    m, sub = _submission(tmp_path, mutant_id)
    report = check_submission(sub, profile=m.profile, layers=[m.layer], **kw)
    validate(report.to_dict())
    return report.layer(m.layer).counterexample, sub


def test_overlapping_pool_windows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ce, sub = _ce(tmp_path, "cs_pool_assign_not_accumulate")
    cfg, x = ce["config"], ce["params"]["x"]
    assert cfg["stride"] < max(cfg["pool_height"], cfg["pool_width"])  # overlapping
    assert cfg["stride"] == 1 and x[:2] == [1, 1] and x[2] * x[3] <= 6
    assert "overlapping" in ce["description"] and ce["check"]["kind"] == "gradient"
    assert not (tmp_path / ".hypothesis").exists() and not (sub / ".hypothesis").exists()
    # the snippet runs against the student's code and shows the wrong gradient
    (sub / "ce.py").write_text(ce["snippet"])
    out = subprocess.run([sys.executable, "ce.py"], cwd=sub, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    err = float(out.stdout.split("=")[-1])
    assert err > 1e-3
    assert "reference" not in ce["snippet"]


def test_stride_only_conv_bug(tmp_path):
    ce, _ = _ce(tmp_path, "cs_conv_ignores_stride")
    f, c, hh, ww = ce["params"]["w"]
    assert ce["config"]["stride"] > 1 and ce["config"]["pad"] == 0
    assert (f, c, hh, ww) == (1, 1, 1, 1) and ce["params"]["x"][0] == 1


def test_non_square_window(tmp_path):
    ce, _ = _ce(tmp_path, "cs_pool_assumes_square")
    cfg = ce["config"]
    assert cfg["pool_height"] != cfg["pool_width"]
    assert ce["params"]["x"][:2] == [1, 1] and max(cfg["pool_height"], cfg["pool_width"]) == 2


def test_dlfs_one_hot_labels(tmp_path):
    ce, _ = _ce(tmp_path, "dl_softmax_onehot_not_divided")
    assert ce["params"].get("onehot") is True
    n, c = ce["params"]["x"]
    assert n == 2 and c == 2  # the bug (no / N) needs N > 1


def test_deterministic_for_a_seed(tmp_path):
    a, _ = _ce(tmp_path / "a", "cs_conv_dx_crop_wrong_corner")
    b, _ = _ce(tmp_path / "b", "cs_conv_dx_crop_wrong_corner")
    assert a["config"]["pad"] > 0
    for key in ("params", "config", "description", "snippet"):
        assert a[key] == b[key]


def test_passing_submission_never_searches(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(_counterexample, "search_for", lambda *a, **k: calls.append(a))
    report = check_submission(mutants.BASES["cs231n"], profile="cs231n",
                              layers=["affine", "relu", "conv", "maxpool", "softmax_loss"])
    assert report.status == "pass" and calls == []


def test_can_be_switched_off(tmp_path):
    ce, _ = _ce(tmp_path, "cs_relu_no_mask", counterexample=False)
    assert ce is None
