"""The ``likecast`` command: one typer app assembled from each package's own commands.

Each package declares its commands in its ``cli.py``; this root only mounts them, so a new
command is written where its work lives and appears here without touching this file. It
sits in ``serving/``, the rightmost layer, because it imports every package (docs/adr/0042).
"""

from __future__ import annotations

import sys

import typer

from features.cli import app as features_app
from likecast.console import stderr
from likecast.failures import explain
from likecast.memory import keep_freed_memory
from likecast.settings import Settings
from likecast.target import Target, TargetSource
from serving.api.cli import app as serve_app
from serving.batch.cli import app as score_app
from training.cli import app as training_app
from training.monitor.cli import app as monitor_app

app = typer.Typer(
    name="likecast",
    help="Predict whether a short video reaches a like threshold within a horizon.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(features_app)
app.add_typer(training_app)
app.add_typer(serve_app)
app.add_typer(score_app)
app.add_typer(monitor_app)


def champion_target(settings: Settings) -> tuple[Target, str] | None:
    """The registry champion's target and version, for the feature commands, which may not
    import the registry's package themselves (docs/architecture.md, "Who may import whom")."""
    from models.registry import champion_target as from_registry

    return from_registry(settings)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors and failures of the machine around
    it (``likecast.failures``) become one line, never a traceback; a bug keeps its own."""
    command = typer.main.get_command(app)
    try:
        # standalone mode: usage errors print typer's own message and exit 2
        command.main(
            args=argv,
            prog_name="likecast",
            standalone_mode=True,
            obj=TargetSource(champion_target),
        )
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        failure = explain(exc)
        if failure is None:
            raise
        stderr().print(f"[red]error:[/red] {failure.line}", soft_wrap=True)
        return failure.exit_code
    return 0


def run() -> None:
    """Console-script entry point: a process of its own, so its allocator can be tuned."""
    keep_freed_memory()
    sys.exit(main())
