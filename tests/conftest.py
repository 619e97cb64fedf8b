"""Shared test configuration.

Hypothesis runs derandomised here so CI verdicts are repeatable; a developer can explore
new examples with ``--hypothesis-profile=explore``.
"""
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile("default")
