"""Each profile folder is self-contained and exposes the catalogue names."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys

import pytest

from _oracle import REFERENCE_DIR, load_profile

NAMES = {
    "cs231n": [
        "affine_forward", "affine_backward", "relu_forward", "relu_backward",
        "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
        "softmax_loss", "svm_loss", "batchnorm_forward", "batchnorm_backward",
        "layernorm_forward", "layernorm_backward", "dropout_forward", "dropout_backward",
        "conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
        "max_pool_backward_naive", "TwoLayerNet",
    ],
    "dlfs": [
        "AddLayer", "MulLayer", "Affine", "Relu", "Sigmoid", "Tanh", "SoftmaxWithLoss",
        "BatchNormalization", "Dropout", "Convolution", "Pooling", "TwoLayerNet",
    ],
}

_PROBE = """
import importlib.util, json, sys
before = set(sys.modules)
folder = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "neutral_submission", folder + "/__init__.py", submodule_search_locations=[folder])
mod = importlib.util.module_from_spec(spec)
sys.modules["neutral_submission"] = mod
spec.loader.exec_module(mod)
new = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps(new))
"""


@pytest.mark.parametrize("profile", ["cs231n", "dlfs"])
def test_folder_imports_only_numpy_and_stdlib_under_a_neutral_name(profile):
    res = subprocess.run([sys.executable, "-c", _PROBE, str(REFERENCE_DIR / profile)],
                         capture_output=True, text=True, timeout=60, cwd="/")
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", "importing a profile must not print or warn"
    new = json.loads(res.stdout)
    allowed = set(sys.stdlib_module_names) | {"numpy", "neutral_submission"}
    assert not [m for m in new if m not in allowed and not m.startswith("_")], new
    assert "gradcheck" not in new


@pytest.mark.parametrize("profile", ["cs231n", "dlfs"])
def test_no_import_leaves_the_folder(profile):
    for path in (REFERENCE_DIR / profile).glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), f"{path.name}: import across folders"
                if node.level == 0:
                    assert node.module.split(".")[0] in ("numpy", "__future__", "typing", "collections"), \
                        f"{path.name}: imports {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in ("numpy",) or alias.name in sys.stdlib_module_names, \
                        f"{path.name}: imports {alias.name}"


@pytest.mark.parametrize("profile", ["cs231n", "dlfs"])
def test_catalogue_names_present(profile):
    mod = load_profile(profile)
    missing = [n for n in NAMES[profile] if not callable(getattr(mod, n, None))]
    assert not missing


def test_profile_path():
    spec = importlib.util.spec_from_file_location("_reference_root", REFERENCE_DIR / "__init__.py")
    root = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root)
    for profile in ("cs231n", "dlfs"):
        p = root.profile_path(profile)
        assert p == (REFERENCE_DIR / profile).resolve() and (p / "__init__.py").is_file()
    with pytest.raises(ValueError):
        root.profile_path("keras")
