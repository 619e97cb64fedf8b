"""The report: the model every check writes into, its JSON Schema, and the renderers.

``model`` holds :class:`Report`, :class:`LayerReport`, :class:`CheckResult` and the schema;
each renderer (``text``, ``html``) is a module that reads a report and never changes it.
A new output format is a new module here.
"""

from .model import SCHEMA_VERSION, CheckResult, LayerReport, Report, schema, validate

__all__ = ["SCHEMA_VERSION", "CheckResult", "LayerReport", "Report", "schema", "validate"]
