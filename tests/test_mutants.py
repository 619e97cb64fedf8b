"""End-to-end mutation tests: every realistic bug in tests/mutants.py is caught, on the right
layer and by the right kind of check; every correct variant passes for many seeds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gradcheck import check_submission
from mutants import BASES, CORRECT_VARIANTS, MUTANTS, apply

DEFAULT_CONFIGS = ("", "default")
FAILING = ("fail", "error")

#: seeds for the correct variants (the whole file runs in well under a minute)
SEEDS = range(50)


def _materialise(tmp_path: Path, item) -> Path:
    """Copy the item's base submission to tmp_path and apply its text replacement."""
    dest = tmp_path / f"{item.profile}_{item.id}"
    shutil.copytree(BASES[item.profile], dest,
                    ignore=shutil.ignore_patterns("__pycache__", "README.md"))
    target = dest / item.file
    target.write_text(apply(target.read_text(), item.find, item.replace))
    return dest


def _describe(layer_report) -> str:
    if layer_report is None:
        return "<no report for the layer>"
    lines = [f"layer {layer_report.layer}: {layer_report.status}"]
    for c in layer_report.checks:
        lines.append(f"  [{c.status}] {c.kind} {c.name} config={c.config!r}: {c.message[:200]}")
    return "\n".join(lines)


@pytest.mark.parametrize("m", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_is_caught(m, tmp_path):
    sub = _materialise(tmp_path, m)
    report = check_submission(str(sub), profile=m.profile, layers=[m.layer], seed=0,
                              counterexample=False,
                              isolation="none")
    lr = report.layer(m.layer)
    assert lr is not None, f"no report for layer {m.layer}: {report.to_dict()}"
    detail = f"{m.note}\n{_describe(lr)}"
    assert lr.status == m.expect_status, f"layer status {lr.status!r}, expected " \
                                         f"{m.expect_status!r}\n{detail}"
    assert report.status != "pass" and report.exit_code != 0, detail
    hits = [c for c in lr.checks if c.status in FAILING and c.kind == m.expect_kind]
    assert hits, f"no failing check of kind {m.expect_kind!r}\n{detail}"
    if m.config_only:
        assert any(c.config not in DEFAULT_CONFIGS for c in hits), \
            f"config-only bug should be reported in a non-default configuration\n{detail}"


_VARIANT_CASES = [
    pytest.param(v, seed, id=f"{v.id}-seed{seed}")
    for v in CORRECT_VARIANTS
    for seed in SEEDS
]


@pytest.fixture(scope="module")
def variant_dirs(tmp_path_factory):
    """One materialised folder per variant, shared by all its seeds."""
    root = tmp_path_factory.mktemp("variants")
    return {v.id: _materialise(root, v) for v in CORRECT_VARIANTS}


@pytest.mark.parametrize("v, seed", _VARIANT_CASES)
def test_correct_variant_passes(v, seed, variant_dirs):
    report = check_submission(str(variant_dirs[v.id]), profile=v.profile, layers=[v.layer],
                              counterexample=False,
                              seed=seed, isolation="none")
    lr = report.layer(v.layer)
    assert lr is not None
    assert lr.status == "pass", f"false alarm on a correct variant\n{_describe(lr)}"
    assert report.status == "pass" and report.exit_code == 0
