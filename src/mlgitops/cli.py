"""The `mlgitops` command line: parses, calls one function, prints, sets the exit code.

Exit codes: 0 success, 1 a gate or policy said no, 2 bad input. Heavy libraries are imported inside
the commands, never here, so `mlgitops --help` stays fast.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from mlgitops.errors import BadInput, GateFailed

app = typer.Typer(
    help="GitOps for machine learning: versioned config, data gates, tracked training, policy checks, promotion by commit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Check, show and export the project config.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ProjectOpt = typer.Option(None, "--project", help="Project directory (default: current directory).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else there.")
EnvOpt = typer.Option("local", "--env", help="Environment (local, or one declared under environments:).")


@app.callback()
def _root(ctx: typer.Context, project: Optional[Path] = ProjectOpt) -> None:
    ctx.obj = {"project": (project or Path.cwd()).resolve()}


def project_dir(ctx: typer.Context) -> Path:
    return ctx.find_root().obj["project"]


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def err(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message, markup=False)


# --- config -------------------------------------------------------------------------------------


@config_app.command("check")
def config_check(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Validate mlgitops.yaml and every environment overlay."""
    from mlgitops.config import check

    envs = check(project_dir(ctx))
    if as_json:
        emit_json({"valid": True, "environments": envs})
    else:
        print(f"mlgitops.yaml is valid ({', '.join(envs)})")


@config_app.command("show")
def config_show(ctx: typer.Context, env: str = EnvOpt, as_json: bool = JsonOpt) -> None:
    """Print the fully resolved config of one environment (overlays applied)."""
    from mlgitops.config import load, resolved

    data = resolved(load(project_dir(ctx), env))
    if as_json:
        emit_json(data)
    else:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False), end="")


@config_app.command("schema")
def config_schema(out: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of stdout.")) -> None:
    """Print the JSON Schema of mlgitops.yaml (for yaml-language-server and editors)."""
    from mlgitops.config import json_schema
    from mlgitops.evidence import atomic_write

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out:
        atomic_write(out, text)
    else:
        sys.stdout.write(text)


def main() -> None:
    """Console entry: known errors become one readable message and their exit code."""
    try:
        app()
    except (BadInput, GateFailed) as exc:
        err(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(130)
