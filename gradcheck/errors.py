"""The error tree. Each error knows its message and the exit code the CLI uses for it.

    GradcheckError (exit 2)
    ├── UsageError          bad arguments: missing path, unknown profile or layer id
    ├── LoadError           the submission could not be loaded at all
    └── SandboxError        the isolation machinery itself failed (not the submission)
"""

from __future__ import annotations


class GradcheckError(Exception):
    """Base of gradcheck's own errors."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(GradcheckError):
    """The request itself is wrong (path, profile, layer ids)."""


class LoadError(GradcheckError):
    """The submission could not be loaded at all."""


class SandboxError(GradcheckError):
    """The sandbox could not start or talk to its child (an environment problem)."""
