"""The ``likecast`` command: one typer app assembled from each package's commands.

It lives in ``serving`` because it is the one module allowed to import all four packages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from features.cli import app as features_app
from features.console import UserError, stderr
from features.settings import get_settings
from training.cli import app as training_app

app = typer.Typer(
    name="likecast",
    help="Predict whether a short video reaches 1000 likes within its horizon.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(features_app)
app.add_typer(training_app)


@app.command("serve")
def serve_command(
    host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 3000)."),
    model: str | None = typer.Option(
        None, "--model", help="Model folder or models:/ URI (default: the registry's champion)."
    ),
) -> None:
    """Serve predictions over HTTP with BentoML (runs until Ctrl-C)."""
    settings = get_settings()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(settings.lgbm_threads),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    if model:
        env["LIKECAST_MODEL_URI"] = model
    host = host or settings.host
    port = port or settings.port
    env["LIKECAST_HOST"], env["LIKECAST_PORT"] = host, str(port)
    stderr().print(f"serving on http://{host}:{port} (page: http://{host}:{port}/ui)")
    bentoml = Path(sys.executable).with_name("bentoml")
    args = [str(bentoml), "serve", "serving.service:Likecast", "--host", host, "--port", str(port)]
    os.execve(args[0], args, env)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors become one line, never a traceback."""
    command = typer.main.get_command(app)
    try:
        # standalone mode: usage errors print typer's own message and exit 2
        command.main(args=argv, prog_name="likecast", standalone_mode=True)
    except UserError as exc:
        stderr().print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
