"""Running from a source checkout that is not installed.

Installed, the top-level ``reference/`` folder is the package ``gradcheck.reference`` (see
pyproject.toml). In a bare checkout -- ``python -m gradcheck.cli`` or ``python -c "import
gradcheck"`` from the repository root, where the source tree comes first on ``sys.path`` --
that mapping does not exist. This finder supplies exactly that one name from ``../reference``,
and only in a checkout (``pyproject.toml`` and ``reference/__init__.py`` beside the package);
an installed package never gets it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys

_NAME = "gradcheck.reference"


class _ReferenceFinder(importlib.abc.MetaPathFinder):
    def __init__(self, folder: str) -> None:
        self.folder = folder

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001
        if fullname != _NAME:
            return None
        return importlib.util.spec_from_file_location(
            _NAME, os.path.join(self.folder, "__init__.py"),
            submodule_search_locations=[self.folder])


def install() -> None:
    """Add the finder when this package runs from a checkout without the mapping."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    folder = os.path.join(root, "reference")
    if os.path.isdir(os.path.join(here, "reference")):
        return  # installed layout: gradcheck/reference exists
    if not (os.path.isfile(os.path.join(root, "pyproject.toml"))
            and os.path.isfile(os.path.join(folder, "__init__.py"))):
        return
    if not any(isinstance(f, _ReferenceFinder) for f in sys.meta_path):
        sys.meta_path.append(_ReferenceFinder(folder))
