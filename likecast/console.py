"""What every command shares for talking to a person: progress bars and one-line failures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


def stderr() -> Console:
    """A console on standard error, for progress and messages."""
    return Console(stderr=True, highlight=False)


@contextmanager
def stages(title: str, total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over named stages; yields ``advance(label)``."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=stderr(),
        transient=False,
    ) as bar:
        task = bar.add_task(title, total=total, stage="")
        started = False

        def advance(label: str) -> None:
            """Move the bar on to the stage ``label``."""
            nonlocal started
            if started:
                bar.advance(task)
            started = True
            bar.update(task, stage=label)

        yield advance
        bar.update(task, completed=total, stage="done")


@contextmanager
def parts_progress(title: str, parts: int) -> Iterator[Callable[[int, str], None]]:
    """A progress bar over parts, naming the stage of the part at work.

    Yields ``show(part, stage)``, ``part`` counted from 0: the bar stands at the parts done.
    """
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} parts"),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=stderr(),
    ) as bar:
        task = bar.add_task(title, total=parts, stage="")

        def show(part: int, stage: str) -> None:
            """Put the bar at ``part`` parts done, at ``stage`` of the next."""
            where = f"part {part + 1}: " if parts > 1 else ""
            bar.update(task, completed=part, stage=where + stage)

        yield show
        bar.update(task, completed=parts, stage="done")


class _RowRate(ProgressColumn):
    def render(self, task: Task) -> Text:
        """The task's rate in rows per second."""
        return Text(f"{task.speed or 0:,.0f} rows/s")


@contextmanager
def rows_progress(title: str) -> Iterator[Callable[[int], None]]:
    """A progress bar over rows with their rate; yields ``advance(rows_done_now)``."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        _RowRate(),
        TimeElapsedColumn(),
        console=stderr(),
    ) as bar:
        task = bar.add_task(title, total=None)
        yield lambda rows: bar.advance(task, rows)
