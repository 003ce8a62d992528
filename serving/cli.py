"""The ``likecast`` command: one typer app assembled from each package's commands.

It lives in ``serving`` because it is the one module allowed to import all four packages.
"""

from __future__ import annotations

import sys

import typer
from click.exceptions import ClickException, Exit
from click.exceptions import Abort

from features.cli import app as features_app
from features.console import UserError, stderr
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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors become one line, never a traceback."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="likecast", standalone_mode=False)
    except UserError as exc:
        stderr().print(f"[red]error:[/red] {exc}")
        return exc.exit_code
    except ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exit as exc:
        return exc.exit_code
    except Abort:
        stderr().print("aborted")
        return 130
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
