"""Writing a simulated platform as Parquet: three files, or three folders of parts.

Each output appears whole or not at all (likecast/atomic.py), never mixed with an older
run's tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from features.simulation.config import Platform, Progress
from likecast.atomic import replacing
from likecast.errors import UserError

TABLE_NAMES = ("videos", "snapshots", "truth")
PART_NAME = re.compile(r"part-\d{5}\.parquet")


def _tables(platform: Platform) -> dict[str, pa.Table]:
    return {
        "videos": pa.Table.from_pandas(platform.videos, preserve_index=False),
        "snapshots": platform.snapshots,
        "truth": pa.Table.from_pandas(platform.truth, preserve_index=False),
    }


def write_platform(platform: Platform, out: Path) -> dict[str, Path]:
    """Write the three tables as DIR/<table>.parquet; each file appears whole or not at all.

    An older run's parts go afterwards, so the folder never holds two data sets' tables.
    """
    paths = {name: out / f"{name}.parquet" for name in TABLE_NAMES}
    for name, table in _tables(platform).items():
        with replacing(paths[name]) as tmp:
            pq.write_table(table, tmp)
    for name in TABLE_NAMES:
        _remove_parts(out / name)
    return paths


def write_parts(
    platforms: Iterable[Platform], out: Path, progress: Progress | None = None
) -> dict[str, Path]:
    """Write part k's tables as DIR/<table>/part-0000k.parquet, one part in memory at a time.

    The parts gather in hidden folders and replace an older run's tables only once all are
    written, so a killed run leaves the older data set, never a mix or a part of one. A folder
    holding tables likecast did not write is refused before any work, in one line.
    """
    _refuse_strangers(out)
    say = progress or (lambda _part, _stage: None)
    with ExitStack() as stack:
        folders = {name: stack.enter_context(replacing(out / name)) for name in TABLE_NAMES}
        for folder in folders.values():
            folder.mkdir()
        # a count, not enumerate(): its reused result tuple holds the last part while the
        # next one is made, and doubles the peak
        number = 0
        for platform in platforms:
            say(number, "writing Parquet")
            for name, table in _tables(platform).items():
                pq.write_table(table, folders[name] / f"part-{number:05d}.parquet")
            del platform, table  # the next part is made without this one in memory
            number += 1  # noqa: SIM113 (enumerate would hold the last part, above)
        # the older tables go before the new ones take their places: a kill in between
        # leaves tables missing, not mixed
        for name in TABLE_NAMES:
            (out / f"{name}.parquet").unlink(missing_ok=True)
            _remove_parts(out / name)
    return {name: out / name for name in TABLE_NAMES}


def _remove_parts(folder: Path) -> None:
    """Remove the parts likecast wrote to ``folder``, and the folder once empty."""
    if not folder.is_dir():
        return
    for part in folder.iterdir():
        if PART_NAME.fullmatch(part.name):
            part.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def _refuse_strangers(out: Path) -> None:
    """Fail when ``out`` holds a table the loader would read instead of, or with, the parts."""
    for name in TABLE_NAMES:
        strangers = [out / f"{name}.csv"]
        folder = out / name
        if folder.is_dir():
            strangers += [p for p in folder.iterdir() if not PART_NAME.fullmatch(p.name)]
        elif folder.exists():
            strangers.append(folder)
        for path in strangers:
            if path.exists():
                raise UserError(
                    f"{path}: not written by likecast simulate, and the loader would read it "
                    "instead of or with the new parts; move it away or write to another folder"
                )
