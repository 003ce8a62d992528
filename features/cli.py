"""Data commands: simulate a platform, validate a data set, materialize the creator store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from likecast.console import parts_progress, stderr
from likecast.errors import UserError
from likecast.instants import parse_instant
from likecast.paths import check_outputs
from likecast.settings import get_settings
from likecast.target import Target, TargetSource, resolve_target

# Heavy libraries (pandas, pyarrow, numpy) load inside each command, so that
# `likecast --help` and argument errors answer at once.

app = typer.Typer(no_args_is_help=True)


@app.command("simulate")
def simulate_command(
    out: Path = typer.Option(..., "--out", help="Folder to write videos, snapshots and truth to."),
    videos: int = typer.Option(50_000, "--videos", min=100, help="Number of videos to simulate."),
    seed: int = typer.Option(7, "--seed", help="Random seed; the same seed gives the same data."),
    hit_share: float = typer.Option(
        0.08,
        "--hit-share",
        min=0.001,
        max=0.5,
        help="Share of videos that reach the threshold within the horizon.",
    ),
    days: float = typer.Option(120.0, "--days", min=10, help="Days of posting the data spans."),
    start: str = typer.Option(
        "2026-06-01", "--start", help="First day of posting (local time), as YYYY-MM-DD."
    ),
    part_videos: int = typer.Option(
        500_000,
        "--part-videos",
        min=1000,
        help="Videos per part, each with creators of its own; more videos than this are made "
        "one part at a time and written as OUT/<table>/part-00000.parquet, part-00001...",
    ),
    scenario: str | None = typer.Option(
        None,
        "--scenario",
        help="Change the platform from a local date on, for drift checks: revision, "
        "new_creators, category_rise[:NAME], season or control, as NAME@YYYY-MM-DD.",
    ),
) -> None:
    """Simulate a Kuaishou-like platform and write its tables as Parquet."""
    from features.reading import parquet_rows
    from features.simulation.config import SimConfig
    from features.simulation.generate import simulate_parts
    from features.simulation.parts import part_count
    from features.simulation.scenarios import parse_scenario
    from features.simulation.writing import write_parts, write_platform

    settings = get_settings()
    cfg = SimConfig(
        videos=videos,
        seed=seed,
        hit_share=hit_share,
        threshold=settings.threshold,
        horizon_days=settings.horizon_days,
        window_days=days,
        timezone=settings.timezone,
        start=parse_instant(start, "--start").strftime("%Y-%m-%d"),
        part_videos=part_videos,
        scenario=scenario,
    )
    if scenario is not None:
        try:
            parse_scenario(scenario)
        except ValueError as exc:
            raise UserError(f"--scenario: {exc}") from exc
    parts = part_count(cfg)
    with parts_progress("simulate", parts) as show:
        platforms = simulate_parts(cfg, progress=show)
        if parts == 1:
            platform = next(platforms)
            show(0, "writing Parquet")
            paths = write_platform(platform, out)
        else:
            paths = write_parts(platforms, out, progress=show)
    stderr().print(
        f"wrote {parquet_rows(paths['videos']):,} videos and "
        f"{parquet_rows(paths['snapshots']):,} snapshots in "
        f"{parts} part{'s' if parts > 1 else ''} to {out} "
        f"({', '.join(p.name + ('/' if p.is_dir() else '') for p in paths.values())})"
    )


@app.command("validate")
def validate_command(
    data: Path = typer.Argument(..., help="Folder holding the videos and snapshots tables."),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Folder for the rejected rows (default: the data folder)."
    ),
    max_reject_share: float | None = typer.Option(
        None,
        "--max-reject-share",
        min=0,
        max=1,
        help="Fail when a table loses more than this share of rows (default from settings).",
    ),
) -> None:
    """Check a data set against the data contract and report every problem found."""
    from features.contract import TABLES
    from features.loading import load_dataset
    from features.reading import table_paths

    settings = get_settings()
    limit = settings.max_reject_share if max_reject_share is None else max_reject_share
    check_outputs(
        {"DATA": table_paths(data)},
        {"--rejects": [(rejects or data) / f"{table}.rejects.csv" for table in TABLES]},
    )
    dataset = load_dataset(data)
    console = stderr()
    table = Table("table", "rows", "rejected", "share")
    for result in dataset.results.values():
        table.add_row(
            result.name,
            f"{result.total_rows:,}",
            f"{len(result.rejects):,}",
            f"{result.reject_share:.2%}",
        )
    console.print(table)
    for line in dataset.problem_lines():
        console.print(f"  {line}", soft_wrap=True)
    for path in dataset.write_rejects(rejects or data):
        console.print(f"rejected rows written to {path}")
    warning = dataset.formula_ids_warning()
    if warning:
        console.print(warning, soft_wrap=True, markup=False)
    dataset.check_reject_share(limit)
    console.print("clean" if not dataset.problems else "usable: rejected share within the limit")


features_group = typer.Typer(no_args_is_help=True, help="Online feature store commands.")
app.add_typer(features_group, name="features")


@features_group.command("materialize")
def materialize_command(
    ctx: typer.Context,
    data: Path = typer.Option(
        ..., "--data", help="Folder holding the videos and snapshots tables."
    ),
    at: str | None = typer.Option(
        None,
        "--at",
        help="Store the history up to this ISO time, UTC if no offset (default: the data's "
        "end, its latest post or snapshot).",
    ),
    store: Path | None = typer.Option(
        None,
        "--store",
        help="SQLite file to write (default: LIKECAST_STORE_URL's PostgreSQL database if "
        "set, else the home's creator_store.sqlite).",
    ),
    threshold: int | None = typer.Option(
        None,
        "--threshold",
        min=1,
        help="Likes that count as a hit in the creators' hit rates (default: the champion's, "
        "else 1000). The store serves only models of the same target.",
    ),
    horizon_days: float | None = typer.Option(
        None,
        "--horizon-days",
        min=0.01,
        help="Days a video has to reach it (default: the champion's, else 7).",
    ),
) -> None:
    """Compute every creator's history over time and swap it into the online store, for the
    champion's target unless one is given."""
    from features.loading import load_dataset
    from features.reading import table_paths
    from features.store import data_end, history_timeline, write_store
    from likecast.redact import redact

    asked = parse_instant(at, "--at") if at is not None else None  # fail before the work
    source = ctx.find_object(TargetSource) or TargetSource()
    settings, origin = resolve_target(get_settings(), threshold, horizon_days, source.champion)
    where = store or settings.store_location
    check_outputs(
        {"--data": table_paths(data)}, {"--store": where} if isinstance(where, Path) else {}
    )
    dataset = load_dataset(data)
    dataset.check_reject_share(settings.max_reject_share)
    moment = asked if asked is not None else data_end(dataset)
    timeline = history_timeline(
        dataset, moment, settings.threshold, settings.horizon_minutes, settings.history_window
    )
    count = write_store(timeline, where)
    shown = where if isinstance(where, Path) else redact(where)
    stderr().print(
        f"wrote the history of {count:,} creators from {timeline.oldest.isoformat()} to "
        f"{moment.isoformat()} to {shown}, for {Target.of(settings)} ({origin})",
        soft_wrap=True,
    )
