"""End-to-end verdicts on the example submissions in submissions/ (see submissions/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradcheck import check_submission

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"
DEFAULT_CONFIGS = ("", "default")
FAILING = ("fail", "error")

CS231N_LAYERS = {"affine", "relu", "sigmoid", "tanh", "softmax_loss", "svm_loss", "batchnorm",
                 "layernorm", "dropout", "conv", "maxpool", "two_layer_net"}
DLFS_LAYERS = {"add", "mul", "affine", "relu", "sigmoid", "tanh", "softmax_loss", "batchnorm",
               "dropout", "conv", "maxpool", "two_layer_net"}


def run(name: str, **kw):
    kw.setdefault("profile", "auto")
    kw.setdefault("seed", 0)
    kw.setdefault("isolation", "none")
    return check_submission(str(SUBMISSIONS / name), **kw)


def describe(report) -> str:
    lines = [f"status={report.status} exit={report.exit_code} errors={report.errors}"]
    for lr in report.layers:
        lines.append(f"layer {lr.layer}: {lr.status}")
        for c in lr.checks:
            if c.status in FAILING:
                lines.append(f"  [{c.status}] {c.kind} {c.name} config={c.config!r}: "
                             f"{c.message[:200]}")
    return "\n".join(lines)


def failing_kinds(lr) -> set[str]:
    return {c.kind for c in lr.checks if c.status in FAILING}


def assert_layers(report, expected: dict[str, str], others: str = "pass") -> None:
    """expected maps layer id -> status; every other reported layer must have ``others``."""
    info = describe(report)
    got = {lr.layer: lr.status for lr in report.layers}
    for layer, status in expected.items():
        assert got.get(layer) == status, f"{layer}: {got.get(layer)!r} != {status!r}\n{info}"
    for layer, status in got.items():
        if layer not in expected:
            assert status == others, f"{layer}: {status!r} != {others!r}\n{info}"


# --------------------------------------------------------------------------- correct ones
@pytest.mark.parametrize("name, layers", [("cs231n_correct", CS231N_LAYERS),
                                          ("dlfs_correct", DLFS_LAYERS)])
def test_correct_submission_passes(name, layers):
    report = run(name)
    info = describe(report)
    assert report.status == "pass", info
    assert report.exit_code == 0, info
    assert report.errors == [], info
    got = {lr.layer: lr.status for lr in report.layers}
    assert layers <= set(got), f"layers not reported: {layers - set(got)}\n{info}"
    # complete submissions: nothing skipped, nothing failing
    assert all(s == "pass" for s in got.values()), info
    for lr in report.layers:
        assert not [c for c in lr.checks if c.status in FAILING], info
    json.dumps(report.to_dict())


@pytest.mark.parametrize("name, profile", [("cs231n_correct", "cs231n"), ("dlfs_correct", "dlfs")])
def test_correct_submission_explicit_profile(name, profile):
    report = run(name, profile=profile)
    assert report.status == "pass" and report.exit_code == 0, describe(report)


@pytest.mark.parametrize("name", ["cs231n_correct", "dlfs_correct"])
def test_correct_submission_other_seeds(name):
    for seed in (1, 7, 12345):
        report = run(name, seed=seed)
        assert report.status == "pass" and report.exit_code == 0, describe(report)


@pytest.mark.parametrize("name", ["cs231n_correct", "dlfs_correct"])
def test_correct_submission_same_verdict_twice(name):
    a = run(name, seed=3).to_dict()
    b = run(name, seed=3).to_dict()
    assert [(lr["layer"], lr["status"]) for lr in a["layers"]] == \
        [(lr["layer"], lr["status"]) for lr in b["layers"]]


# --------------------------------------------------------------------------- buggy ones
def test_cs231n_buggy_backward():
    report = run("cs231n_buggy_backward")
    info = describe(report)
    assert report.status == "fail" and report.exit_code == 1, info
    # fc_net.py's TwoLayerNet uses the broken relu_backward, so it fails too
    bad = ("relu", "sigmoid", "batchnorm", "conv", "two_layer_net")
    assert_layers(report, {layer: "fail" for layer in bad})
    for layer in bad:
        lr = report.layer(layer)
        assert "gradient" in failing_kinds(lr), f"{layer}\n{info}"
        # the forward passes are right: no forward check may fail
        assert "forward" not in failing_kinds(lr), f"{layer}\n{info}"


def test_dlfs_buggy():
    report = run("dlfs_buggy")
    info = describe(report)
    assert report.status == "fail" and report.exit_code == 1, info
    # two_layer_net.py builds on the broken Affine (db of shape (1, M)), so it fails too
    expected = {"affine": "shape", "mul": "gradient", "dropout": "state",
                "softmax_loss": "stability", "two_layer_net": "gradient"}
    assert_layers(report, {layer: "fail" for layer in expected})
    for layer, kind in expected.items():
        assert kind in failing_kinds(report.layer(layer)), f"{layer}\n{info}"


def test_cs231n_maxpool_overlap():
    report = run("cs231n_maxpool_overlap")
    info = describe(report)
    assert report.status == "fail" and report.exit_code == 1, info
    assert_layers(report, {"maxpool": "fail"}, others="skip")  # only max pooling implemented
    lr = report.layer("maxpool")
    grads = [c for c in lr.checks if c.kind == "gradient" and c.status in FAILING]
    assert grads, info
    # only overlapping configurations can show it; the default 2x2 / stride 2 one cannot
    assert all(c.config not in DEFAULT_CONFIGS for c in grads), info
    assert any("overlap" in c.config for c in grads), info


def test_cs231n_db_shape():
    report = run("cs231n_db_shape")
    info = describe(report)
    assert report.status == "fail" and report.exit_code == 1, info
    # fc_net.py's TwoLayerNet uses the broken affine_backward, so its grads['b1'] is wrong too
    assert_layers(report, {"affine": "fail", "two_layer_net": "fail", "relu": "pass",
                           "softmax_loss": "pass"}, others="skip")
    assert "shape" in failing_kinds(report.layer("affine")), info
    assert "gradient" in failing_kinds(report.layer("two_layer_net")), info


def test_cs231n_db_shape_restricted_to_other_layers_passes():
    report = run("cs231n_db_shape", layers=["relu", "softmax_loss"])
    info = describe(report)
    assert report.status == "pass" and report.exit_code == 0, info
    assert {lr.layer for lr in report.layers} == {"relu", "softmax_loss"}, info


def test_cs231n_syntax_error_cannot_load():
    report = run("cs231n_syntax_error")
    info = describe(report)
    assert report.status == "error", info
    assert report.exit_code == 2, info
    assert report.errors, info
    err = report.errors[0]
    assert Path(str(err["file"])).name == "layers.py", info
    assert int(err["line"]) == 67, info
    assert "Syntax" in str(err["type"]), info
    json.dumps(report.to_dict())


def test_cs231n_partial_skips_missing_layers():
    report = run("cs231n_partial")
    info = describe(report)
    assert report.status == "pass" and report.exit_code == 0, info
    got = {lr.layer: lr.status for lr in report.layers}
    assert got.get("affine") == "pass" and got.get("relu") == "pass", info
    missing = CS231N_LAYERS - {"affine", "relu"}
    for layer in missing:
        assert got.get(layer) == "skip", f"{layer}: {got.get(layer)!r}\n{info}"
