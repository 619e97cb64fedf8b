"""gradcheck: gradient checking and grading for NumPy neural-network layers.

The core API::

    from gradcheck import check_submission, check_layer, assert_gradients
    report = check_submission("submission/", profile="auto", seed=0)
    report.status, report.exit_code, report.to_dict()
    assert_gradients(affine_forward, affine_backward, [x, w, b])   # your own layer

Front ends (the ``gradcheck`` CLI, the pytest plugin, the grader) are thin layers over it.
"""

from ._source_tree import install as _install_source_tree_reference

_install_source_tree_reference()

from .api import assert_gradients, check_layer, check_submission, reference_path  # noqa: E402
from .catalogue import LAYERS, PROFILES, layer_ids  # noqa: E402
from .errors import GradcheckError, LoadError, SandboxError, UsageError  # noqa: E402
from .report import CheckResult, LayerReport, Report, schema, validate  # noqa: E402

__all__ = [
    "LAYERS",
    "PROFILES",
    "CheckResult",
    "GradcheckError",
    "LayerReport",
    "LoadError",
    "Report",
    "SandboxError",
    "UsageError",
    "assert_gradients",
    "check_layer",
    "check_submission",
    "layer_ids",
    "reference_path",
    "schema",
    "validate",
]
