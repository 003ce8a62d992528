"""The Dask engine's plan: tasks of whole row groups that cover a table's rows once, in order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.contract import DataError
from serving.batch.on_dask import plan


@pytest.fixture
def parts(tmp_path: Path) -> Path:
    """1,000 numbered rows in three Parquet parts of row groups of 100 (the last part short)."""
    folder = tmp_path / "videos"
    folder.mkdir()
    rows = pd.DataFrame({"video_id": [f"v{i:04d}" for i in range(1000)]})
    for i, (start, stop) in enumerate([(0, 400), (400, 850), (850, 1000)]):
        rows.iloc[start:stop].to_parquet(
            folder / f"part-{i}.parquet", index=False, row_group_size=100
        )
    return folder


def test_plan_covers_every_row_once_in_file_order(parts: Path) -> None:
    # given three parts of row groups of 100, when they are planned 250 rows a task
    tasks = plan(parts, rows_per_task=250)
    # then reading each task's row groups gives every row once, in file order
    read = [
        pq.ParquetFile(task.path).read_row_groups(list(task.row_groups)).to_pandas()
        for task in tasks
    ]
    ids = pd.concat(read)["video_id"].tolist()
    assert ids == [f"v{i:04d}" for i in range(1000)]
    # and each task knows the file row number of its first row
    assert [t.first_row for t in tasks] == [int(f.iloc[0, 0][1:]) for f in read]
    # and tasks are whole row groups of about the asked size, numbered in order
    assert max(len(f) for f in read) <= 300
    assert [t.part for t in tasks] == list(range(len(tasks)))


def test_plan_refuses_a_csv(tmp_path: Path) -> None:
    # given a CSV, when it is planned for Dask, then one line says Dask reads Parquet
    path = tmp_path / "videos.csv"
    path.write_text("video_id\nv1\n")
    with pytest.raises(DataError, match="the dask engine reads Parquet"):
        plan(path)
