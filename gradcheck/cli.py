"""The ``gradcheck`` command line (CONTRACT.md §3). A thin edge over the core API."""

from __future__ import annotations

import json
import sys

import click

from . import catalogue as cat
from .api import _version, check_submission
from .errors import GradcheckError, UsageError
from .isolation import DEFAULT_ISOLATION, ISOLATIONS
from .report import Report, schema, validate
from .report.text import render_text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gradcheck")
def main() -> None:
    """Check the forward and backward passes of NumPy neural-network layers."""


def _layer_ids(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
               ) -> tuple[str, ...]:
    """``--layer a --layer b``, ``--layer a,b`` (and ``--layer a b``, see ``run``)."""
    ids = tuple(v.strip() for value in values for v in value.split(",") if v.strip())
    unknown = [v for v in ids if v not in cat.layer_ids()]
    if unknown:
        raise click.BadParameter(f"unknown layer id {', '.join(unknown)}; the catalogue has "
                                 f"{', '.join(cat.layer_ids())}", ctx=ctx, param=param)
    return ids


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.argument("more_layers", nargs=-1, metavar="")
@click.option("--profile", type=click.Choice(("auto",) + cat.PROFILES), default="auto",
              show_default=True, help="Course convention of the submission.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="text for people, json for machines.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this file instead of standard output.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for inputs, probe directions and random masks.")
@click.option("--layer", "layers", multiple=True, callback=_layer_ids, metavar="ID",
              help="Check only this layer: repeatable, comma-separated, or several ids after "
                   f"one --layer. Ids: {', '.join(cat.layer_ids())}.")
@click.option("--isolation", type=click.Choice(ISOLATIONS), default=DEFAULT_ISOLATION,
              show_default=True,
              help="process: run submitted code in a limited child process; none: in-process "
                   "(trusted code only, debuggable).")
@click.option("--timeout", type=float, default=None,
              help="Wall-time limit per call, seconds (process isolation).")
@click.option("--verbose", "-v", is_flag=True, help="Show warnings and captured output.")
def run(path: str, more_layers: tuple[str, ...], profile: str, fmt: str, output: str | None,
        seed: int, layers: tuple[str, ...], isolation: str, timeout: float | None,
        verbose: bool) -> None:
    """Check every catalogue layer found in PATH (a folder or a .py file).

    Exit code 0: every check passed; 1: a check failed or errored; 2: the submission could
    not be loaded, or bad usage.
    """
    if more_layers:
        # `--layer affine relu`: ids after the path belong to --layer (the contract's
        # `[--layer ID ...]`); anything else there is a usage error
        if not layers:
            raise click.UsageError(f"unexpected argument(s) {' '.join(more_layers)}: one PATH, "
                                   "then options (layer ids go after --layer)")
        layers = layers + _layer_ids(click.get_current_context(), None, more_layers)
    limits = {"call_timeout": timeout} if timeout is not None else None
    try:
        report = check_submission(path, profile=profile, seed=seed,
                                  layers=list(layers) or None, isolation=isolation,
                                  limits=limits)
    except UsageError as exc:
        click.echo(f"gradcheck: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except GradcheckError as exc:
        # the checker could not run at all (e.g. the sandbox could not start): still one
        # report, saying so, so that machines reading --format json always get a document
        click.echo(f"gradcheck: {exc.message}", err=True)
        report = Report(submission=path, profile=None,
                        settings={"seed": seed, "profile": profile, "isolation": isolation,
                                  "tolerances": {}},
                        errors=[{"kind": "checker", "type": type(exc).__name__,
                                 "severity": "error", "message": exc.message}],
                        tool_version=_version())
    if fmt == "html":
        from .report.html import render_html  # noqa: PLC0415

        text = render_html(report)
    elif fmt == "json":
        document = report.to_dict()
        validate(document)  # never write a report that breaks the schema
        text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    else:
        colour = output is None and sys.stdout.isatty()
        text = render_text(report, colour=colour, verbose=verbose)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)
    sys.exit(report.exit_code)


@main.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of the report."""
    click.echo(json.dumps(schema(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
