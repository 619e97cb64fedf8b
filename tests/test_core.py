"""The core API end to end: loading, verdicts, report model, schema, determinism."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from gradcheck import UsageError, check_submission, layer_ids, reference_path, validate
from gradcheck.catalogue import LAYERS, PROFILES

AFFINE_OK = """
import numpy as np

def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)

def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)
"""


def write(tmp_path, source: str, name: str = "layers.py"):
    d = tmp_path / "sub"
    d.mkdir(exist_ok=True)
    (d / name).write_text(textwrap.dedent(source))
    return d


def checks_of(report, layer, status=None, kind=None):
    lr = report.layer(layer)
    assert lr is not None, f"{layer} not in report"
    return [c for c in lr.checks if (status is None or c.status == status)
            and (kind is None or c.kind == kind)]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("seed", range(8))
def test_reference_passes_every_check(profile, seed):
    report = check_submission(reference_path(profile), profile=profile, seed=seed)
    bad = [(lr.layer, c.kind, c.config, c.message) for lr in report.layers for c in lr.checks
           if c.status in ("fail", "error")]
    assert not bad
    assert report.status == "pass" and report.exit_code == 0
    implemented = {spec.id for spec in LAYERS if profile in spec.bindings}
    assert {lr.layer for lr in report.layers} == implemented
    assert all(lr.status == "pass" for lr in report.layers)
    validate(report.to_dict())


@pytest.mark.parametrize("profile", PROFILES)
def test_auto_profile_detects_the_convention(profile):
    report = check_submission(reference_path(profile))
    assert report.profile == profile


def test_same_seed_same_report_and_different_seed_same_verdicts():
    path = reference_path("cs231n")

    def strip(d):
        d = json.loads(json.dumps(d))
        d.pop("duration")
        for lr in d["layers"]:
            lr.pop("duration")
            for c in lr["checks"]:
                c["details"].pop("duration", None)
        return d

    a = check_submission(path, seed=3).to_dict()
    b = check_submission(path, seed=3).to_dict()
    c = check_submission(path, seed=4).to_dict()
    assert strip(a) == strip(b)
    assert strip(a) != strip(c)
    assert [lr["status"] for lr in a["layers"]] == [lr["status"] for lr in c["layers"]]


def test_single_file_and_missing_layers_are_skipped(tmp_path):
    d = write(tmp_path, AFFINE_OK)
    report = check_submission(d / "layers.py")
    assert report.profile == "cs231n"
    assert report.layer("affine").status == "pass"
    relu = report.layer("relu")
    assert relu.status == "skip" and "not implemented" in relu.message
    assert report.status == "pass" and report.exit_code == 0
    validate(report.to_dict())


def test_import_error_is_reported_with_file_and_line(tmp_path):
    d = write(tmp_path, "import numpy as np\n\ndef relu_forward(x):\n    return x +\n")
    report = check_submission(d)
    assert report.status == "error" and report.exit_code == 2
    (err,) = report.errors
    assert err["file"].endswith("layers.py") and err["line"] == 4
    assert err["type"] == "SyntaxError"
    validate(report.to_dict())


def test_import_error_in_one_module_still_checks_the_others(tmp_path):
    d = write(tmp_path, AFFINE_OK)
    (d / "broken.py").write_text("raise RuntimeError('boom')\n")
    report = check_submission(d)
    assert report.layer("affine").status == "pass"
    # broken.py defines no layer: its failure is listed but does not change the verdict
    assert report.status == "pass" and report.exit_code == 0
    err = report.errors[0]
    assert err["type"] == "RuntimeError" and err["line"] == 1 and err["severity"] == "warning"


def test_empty_submission_is_an_error(tmp_path):
    d = write(tmp_path, "x = 1\n")
    report = check_submission(d)
    assert report.status == "error" and report.exit_code == 2
    assert "no layer of the catalogue" in report.errors[0]["message"]
    validate(report.to_dict())


def test_missing_backward_is_a_signature_failure(tmp_path):
    d = write(tmp_path, """
        def relu_forward(x):
            return x * (x > 0), x
    """)
    report = check_submission(d, layers=["relu"])
    (fail,) = checks_of(report, "relu", "fail", "signature")
    assert "relu_backward not found" in fail.message


def test_wrong_arity_is_a_signature_failure(tmp_path):
    d = write(tmp_path, """
        def relu_forward(x, inplace):
            return x * (x > 0), x
        def relu_backward(dout, cache):
            return dout * (cache > 0)
    """)
    report = check_submission(d, layers=["relu"])
    (fail,) = checks_of(report, "relu", "fail", "signature")
    assert "requires 2 positional arguments" in fail.message


def test_exception_in_a_layer_is_an_error_naming_the_function(tmp_path):
    d = write(tmp_path, """
        def relu_forward(x):
            return x * (x > 0), x
        def relu_backward(dout, cache):
            raise ValueError("not yet")
    """)
    report = check_submission(d, layers=["relu"])
    assert report.layer("relu").status == "error"
    err = checks_of(report, "relu", "error")[0]
    assert err.kind == "gradient" and "relu_backward raised ValueError" in err.message
    assert "layers.py:5" in err.message


@pytest.mark.parametrize("ret,kind,words", [
    ("None", "shape", "is None"),
    ("'dx'", "shape", "is str"),
    ("(dout * (cache > 0)).astype(np.float32)", "dtype", "float32"),
    ("(dout * (cache > 0))[:, None]", "shape", "reshape it back"),
])
def test_bad_return_values_are_explained(tmp_path, ret, kind, words):
    d = write(tmp_path, f"""
        import numpy as np
        def relu_forward(x):
            return np.maximum(x, 0), x
        def relu_backward(dout, cache):
            return {ret}
    """)
    report = check_submission(d, layers=["relu"])
    fails = checks_of(report, "relu", "fail", kind)
    assert fails and words in fails[0].message
    assert report.exit_code == 1


def test_keepdims_bias_gradient_is_a_shape_failure_with_explanation(tmp_path):
    d = write(tmp_path, AFFINE_OK.replace("dout.sum(axis=0)", "dout.sum(axis=0, keepdims=True)"))
    report = check_submission(d, layers=["affine"])
    fail = checks_of(report, "affine", "fail", "shape")[0]
    assert "(1, 3)" in fail.message and "keepdims" in fail.message and fail.input == "db"


def test_forgotten_division_is_localised_and_explained(tmp_path):
    src = AFFINE_OK.replace("dw = x.reshape(x.shape[0], -1).T @ dout",
                            "dw = x.reshape(x.shape[0], -1).T @ dout / x.shape[0]")
    report = check_submission(write(tmp_path, src), layers=["affine"])
    fail = [c for c in checks_of(report, "affine", "fail", "gradient") if c.config == "default"]
    assert fail and fail[0].input == "dw"
    c = fail[0]
    assert c.error > c.tolerance
    assert c.details["worst"] and "numerical" in c.message
    assert c.details["hints"][0]["id"] == "ratio-1/N"


def test_in_place_forward_is_a_purity_failure_and_dout_write_a_warning(tmp_path):
    d = write(tmp_path, """
        import numpy as np
        def relu_forward(x):
            x[x < 0] = 0
            return x, x
        def relu_backward(dout, cache):
            dout[cache <= 0] = 0
            return dout
        def sigmoid_forward(x):
            out = 1 / (1 + np.exp(-x))
            return out, out
        def sigmoid_backward(dout, cache):
            dout *= cache * (1 - cache)
            return dout
    """)
    report = check_submission(d, layers=["relu", "sigmoid"])
    assert checks_of(report, "relu", "fail", "purity")
    assert report.layer("sigmoid").status == "pass"
    assert checks_of(report, "sigmoid", "warn", "purity")


def test_backward_ignoring_dout_fails_linearity(tmp_path):
    d = write(tmp_path, """
        import numpy as np
        def tanh_forward(x):
            return np.tanh(x), np.tanh(x)
        def tanh_backward(dout, cache):
            return 1 - cache ** 2
    """)
    report = check_submission(d, layers=["tanh"])
    names = {c.name for c in checks_of(report, "tanh", "fail")}
    assert "gradient:linearity" in names and "gradient:dx" in names


def test_stateful_layer_keeps_no_state_between_calls(tmp_path):
    d = write(tmp_path, """
        import numpy as np
        CALLS = [0]
        def relu_forward(x):
            CALLS[0] += 1
            return np.maximum(x, 0) + 1e-3 * CALLS[0], x
        def relu_backward(dout, cache):
            return dout * (cache > 0)
    """)
    report = check_submission(d, layers=["relu"])
    assert checks_of(report, "relu", "fail", "determinism")


def test_same_module_names_in_two_submissions_do_not_leak(tmp_path):
    good = write(tmp_path, AFFINE_OK)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    (bad_dir / "layers.py").write_text(textwrap.dedent(AFFINE_OK).replace(
        "dout.sum(axis=0)", "2 * dout.sum(axis=0)"))
    assert check_submission(good).status == "pass"
    assert check_submission(bad_dir).status == "fail"
    assert check_submission(good).status == "pass"


def test_usage_errors(tmp_path):
    with pytest.raises(UsageError):
        check_submission(tmp_path / "missing")
    with pytest.raises(UsageError):
        check_submission(reference_path("cs231n"), layers=["softmax"])
    with pytest.raises(UsageError):
        check_submission(reference_path("cs231n"), profile="keras")
    assert UsageError("x").exit_code == 2


def test_layer_filter_and_catalogue_ids():
    report = check_submission(reference_path("dlfs"), layers=["conv", "add"])
    assert [lr.layer for lr in report.layers] == ["add", "conv"]
    assert "two_layer_net" in layer_ids() or len(layer_ids()) >= 13


def test_report_records_settings_and_tolerances():
    d = check_submission(reference_path("cs231n"), seed=11, layers=["affine"]).to_dict()
    assert d["settings"]["seed"] == 11 and d["settings"]["profile"] == "auto"
    assert d["settings"]["resolved_profile"] == "cs231n"
    tol = d["settings"]["tolerances"]
    assert tol["layers"]["affine"]["gradient_rtol"] > 0
    grad = [c for c in d["layers"][0]["checks"] if c["kind"] == "gradient"
            and c.get("input") == "dw"][0]
    assert grad["error"] <= grad["tolerance"]
    assert grad["details"]["calls"] == 12 and grad["details"]["seed"] == 11


def test_report_summary_counts(tmp_path):
    report = check_submission(reference_path("cs231n"), layers=["relu", "tanh"])
    s = report.summary()
    assert s["layers"]["pass"] == 2
    assert s["total_checks"] == sum(len(lr.checks) for lr in report.layers)


def test_float_output_from_submission_print_is_captured(tmp_path):
    d = write(tmp_path, AFFINE_OK.replace("    out = x.reshape", "    print('{\"status\": \"pass\"}')\n    out = x.reshape"))
    report = check_submission(d, layers=["affine"])
    assert '{"status": "pass"}' in report.output["stdout"]
    assert np.all([lr.status == "pass" for lr in report.layers])


def test_helper_module_needing_a_missing_package_does_not_fail_correct_code(tmp_path):
    """A cs231n folder's fast_layers.py / vis_utils.py may need a compiled extension or
    matplotlib: listed as a warning, the layers are still checked and pass."""
    d = write(tmp_path, AFFINE_OK)
    (d / "fast_layers.py").write_text("from .im2col_cython import col2im_cython\n"
                                      "def conv_forward_fast(x, w, b, p):\n    pass\n")
    report = check_submission(d)
    assert report.status == "pass" and report.exit_code == 0
    (err,) = report.errors
    assert err["severity"] == "warning" and err["file"] == "fast_layers.py"
    validate(report.to_dict())


def test_layers_in_a_module_that_fails_to_import_are_errors_not_skips(tmp_path):
    d = write(tmp_path, AFFINE_OK)
    (d / "more.py").write_text("import numpy as np\nimport not_a_real_package\n\n"
                               "def relu_forward(x):\n    return np.maximum(x, 0), x\n")
    report = check_submission(d)
    assert report.layer("affine").status == "pass"
    relu = report.layer("relu")
    assert relu.status == "error" and "more.py" in relu.message
    assert "ModuleNotFoundError" in relu.message
    assert report.status == "fail" and report.exit_code == 1
    assert report.errors[0]["severity"] == "error" and report.errors[0]["layers"] == [
        "relu_forward"]
    validate(report.to_dict())


def test_a_package_folder_can_import_itself_by_name(tmp_path):
    pkg = tmp_path / "cs231n"
    (pkg / "classifiers").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text(textwrap.dedent(AFFINE_OK))
    (pkg / "layer_utils.py").write_text("from cs231n.layers import *\nfrom .layers import *\n")
    (pkg / "classifiers" / "__init__.py").write_text("")
    (pkg / "classifiers" / "fc_net.py").write_text("from ..layers import *\n")
    report = check_submission(pkg)
    assert report.errors == [] and report.layer("affine").status == "pass"


def test_in_place_running_statistics_update_is_not_impure(tmp_path):
    ref = (tmp_path / "ref")
    import shutil
    shutil.copytree(reference_path("cs231n"), ref)
    src = (ref / "layers.py").read_text()
    assert src.count('bn_param["running_mean"] = ') + src.count("bn_param['running_mean'] = ")
    report = check_submission(ref, layers=["batchnorm"])
    assert report.layer("batchnorm").status == "pass"


def test_dropout_that_reseeds_from_its_param_dict_is_repeatable(tmp_path):
    d = write(tmp_path, """
        import numpy as np
        def dropout_forward(x, dropout_param):
            p, mode = dropout_param['p'], dropout_param['mode']
            np.random.seed(dropout_param.get('seed'))
            mask = None
            if mode == 'train':
                mask = (np.random.rand(*x.shape) < p) / p
                out = x * mask
            else:
                out = x
            return out, (dropout_param, mask)
        def dropout_backward(dout, cache):
            dropout_param, mask = cache
            return dout * mask if dropout_param['mode'] == 'train' else dout
    """)
    report = check_submission(d, layers=["dropout"])
    assert report.layer("dropout").status == "pass", [
        c.message for c in report.layer("dropout").failures()]


@pytest.mark.parametrize("args,profile", [
    ("input_dim=3*32*32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0", "cs231n"),
    ("input_size, hidden_size, output_size, weight_init_std=0.01", "dlfs"),
])
def test_a_lone_two_layer_net_is_attributed_by_its_argument_names(tmp_path, args, profile):
    d = write(tmp_path, f"""
        class TwoLayerNet:
            def __init__(self, {args}):
                self.params = {{}}
            def loss(self, X, y=None):
                raise NotImplementedError
    """, name="net.py")
    assert check_submission(d).profile == profile


def test_an_internal_error_is_contained_to_its_layer(monkeypatch):
    """A bug in a check must not crash the run: that layer is an error saying so, the other
    layers are still graded and the report is valid."""
    from gradcheck.engine import checker as _checks

    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("simulated checker bug")

    monkeypatch.setattr(_checks.LayerChecker, "check_statistics", broken)
    report = check_submission(reference_path("cs231n"), layers=["relu", "dropout"],
                              isolation="none")
    assert report.layer("relu").status == "pass"
    dropout = report.layer("dropout")
    assert dropout.status == "error" and "internal error" in dropout.message
    assert "not a verdict on your code" in dropout.checks[0].message
    assert report.exit_code == 1
    validate(report.to_dict())
