"""The command line (CONTRACT.md §3) through click's CliRunner."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from gradcheck import reference_path, validate
from gradcheck.cli import main

BUGGY = """
import numpy as np
def relu_forward(x):
    print('{"status": "pass", "forged": true}')
    return np.maximum(x, 0), x
def relu_backward(dout, cache):
    return dout * (cache >= 0) * 2
"""


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def buggy(tmp_path):
    d = tmp_path / "sub"
    d.mkdir()
    (d / "layers.py").write_text(textwrap.dedent(BUGGY))
    return d


def test_text_run_on_correct_reference_exits_0(runner):
    res = runner.invoke(main, ["run", reference_path("dlfs")])
    assert res.exit_code == 0, res.output
    assert "PASS" in res.output and "conv" in res.output


def test_json_is_exactly_one_valid_document_even_when_the_submission_prints(runner, buggy):
    res = runner.invoke(main, ["run", str(buggy), "--format", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)  # the whole stdout is one JSON document
    validate(doc)
    assert doc["status"] == "fail" and doc["exit_code"] == 1
    assert "forged" in doc["output"]["stdout"]  # captured, not mixed into stdout
    relu = [lr for lr in doc["layers"] if lr["layer"] == "relu"][0]
    assert relu["status"] == "fail"
    assert any(c["kind"] == "gradient" and c.get("input") == "dx" for c in relu["checks"]
               if c["status"] == "fail")


def test_output_file(runner, buggy, tmp_path):
    out = tmp_path / "report.json"
    res = runner.invoke(main, ["run", str(buggy), "--format", "json", "--output", str(out)])
    assert res.exit_code == 1 and res.stdout == ""
    validate(json.loads(out.read_text()))


def test_text_names_the_failure(runner, buggy):
    res = runner.invoke(main, ["run", str(buggy), "--layer", "relu"])
    assert res.exit_code == 1
    assert "FAIL" in res.output and "dx is wrong" in res.output


def test_layer_filter_and_seed(runner):
    res = runner.invoke(main, ["run", reference_path("cs231n"), "--layer", "conv",
                               "--layer", "maxpool", "--seed", "5", "--format", "json"])
    doc = json.loads(res.stdout)
    assert [lr["layer"] for lr in doc["layers"]] == ["conv", "maxpool"]
    assert doc["settings"]["seed"] == 5 and res.exit_code == 0


def test_profile_option(runner):
    res = runner.invoke(main, ["run", reference_path("cs231n"), "--profile", "dlfs",
                               "--format", "json"])
    doc = json.loads(res.stdout)
    status = {lr["layer"]: lr["status"] for lr in doc["layers"]}
    assert doc["profile"] == "dlfs"
    # only TwoLayerNet is spelled the same in both profiles; the functions are not dlfs names
    assert all(st == "skip" for layer, st in status.items() if layer != "two_layer_net")
    assert res.exit_code != 0


@pytest.mark.parametrize("args", [
    ["run", "/definitely/not/here"],
    ["run", ".", "--layer", "softmax"],
    ["run", ".", "--profile", "keras"],
    ["run", ".", "--format", "xml"],
    ["frobnicate"],
])
def test_bad_usage_exits_2(runner, args):
    assert runner.invoke(main, args).exit_code == 2


def test_load_failure_exits_2_with_a_valid_report(runner, tmp_path):
    d = tmp_path / "sub"
    d.mkdir()
    (d / "layers.py").write_text("def relu_forward(x:\n")
    res = runner.invoke(main, ["run", str(d), "--format", "json"])
    assert res.exit_code == 2
    doc = json.loads(res.stdout)
    validate(doc)
    assert doc["status"] == "error" and doc["errors"][0]["line"] == 1


def test_schema_command_prints_the_schema(runner):
    res = runner.invoke(main, ["schema"])
    assert res.exit_code == 0
    schema = json.loads(res.stdout)
    assert schema["title"] == "gradcheck report"
    assert {"schema_version", "tool", "settings", "status", "summary", "layers",
            "errors"} <= set(schema["required"])


def test_a_checker_failure_still_prints_one_valid_json_report(runner, monkeypatch):
    from gradcheck import SandboxError
    from gradcheck import cli

    def no_sandbox(*args, **kwargs):
        raise SandboxError("the sandbox child could not start: operation not permitted")

    monkeypatch.setattr(cli, "check_submission", no_sandbox)
    res = runner.invoke(main, ["run", reference_path("cs231n"), "--format", "json"])
    assert res.exit_code == 2
    doc = json.loads(res.stdout)
    validate(doc)
    assert doc["status"] == "error" and "could not start" in doc["errors"][0]["message"]


@pytest.mark.parametrize("spelling", [
    ["--layer", "conv", "--layer", "maxpool"],
    ["--layer", "conv,maxpool"],
    ["--layer", "conv", "maxpool"],          # the contract's `[--layer ID ...]`
])
def test_layer_option_spellings(runner, spelling):
    res = runner.invoke(main, ["run", reference_path("cs231n"), *spelling, "--format", "json",
                               "--isolation", "none"])
    assert res.exit_code == 0, res.output
    assert [lr["layer"] for lr in json.loads(res.stdout)["layers"]] == ["conv", "maxpool"]


@pytest.mark.parametrize("args", [["extra"], ["--layer", "relu", "nonsense"],
                                  ["--layer", "relu,softmax"]])
def test_stray_arguments_are_usage_errors(runner, args):
    assert runner.invoke(main, ["run", reference_path("cs231n"), *args]).exit_code == 2
