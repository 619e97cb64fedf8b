"""Reference layers (installed as gradcheck.reference).

The ground truth of the layer catalogue (CONTRACT.md section 2), once per course convention:

- ``gradcheck.reference.cs231n``: functional style (``X_forward`` / ``X_backward``)
- ``gradcheck.reference.dlfs``: class style ("deep learning from scratch")

Each profile folder is self-contained (NumPy and the standard library only, relative imports
inside the folder), so it can also be loaded by the checker as if it were a submission;
``profile_path`` gives its location.
"""

from __future__ import annotations

import pathlib

PROFILES = ("cs231n", "dlfs")

__all__ = ["PROFILES", "profile_path"]


def profile_path(profile: str) -> pathlib.Path:
    """Return the folder holding the reference implementation of ``profile``.

    Inputs:
    - profile: one of ``PROFILES`` ('cs231n' or 'dlfs')

    Returns:
    - the absolute path of the folder (a ``pathlib.Path``)

    Raises ValueError for an unknown profile.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return pathlib.Path(__file__).resolve().parent / profile
