"""The contract's declarations: what a table cannot do without, and the typed frames' schema."""

from __future__ import annotations

import pandas as pd
import pandera.errors
import pytest

from features.contract import SNAPSHOTS, VIDEOS
from features.loading import Dataset
from features.validation import SNAPSHOTS_SCHEMA, VIDEOS_SCHEMA


def test_a_table_names_the_columns_it_lacks() -> None:
    # given tables without their required columns, then each names what it lacks
    assert VIDEOS.missing(pd.Index(["video_id", "caption"])) == ["creator_id", "posted_at"]
    assert SNAPSHOTS.missing(pd.Index(["video_id", "likes"])) == ["observed_at or age_minutes"]
    assert SNAPSHOTS.missing(pd.Index(["video_id", "likes", "age_minutes"])) == []


def test_loaded_frames_meet_the_schemas_derived_from_the_declarations(
    small_dataset: Dataset,
) -> None:
    # given a loaded data set, then its typed frames meet the contract's schemas
    VIDEOS_SCHEMA.validate(small_dataset.videos)
    SNAPSHOTS_SCHEMA.validate(small_dataset.snapshots)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("videos", "video_id", None),  # the key is required in the typed frame
        ("videos", "duration_s", 0.0),  # a range rule of the declaration
        ("snapshots", "age_minutes", None),  # filled by the loader for every kept row
        ("snapshots", "completion_rate", 1.5),
    ],
)
def test_a_frame_that_breaks_a_declared_rule_fails_its_schema(
    small_dataset: Dataset, table: str, column: str, value: object
) -> None:
    # given a loaded frame with one value that breaks its table's declaration
    frame = getattr(small_dataset, table).head(50).copy()
    if isinstance(frame[column].dtype, pd.CategoricalDtype):
        frame[column] = frame[column].cat.add_categories([]).astype(object)
    frame.loc[frame.index[3], column] = value
    schema = VIDEOS_SCHEMA if table == "videos" else SNAPSHOTS_SCHEMA
    # when it is checked, then the schema refuses it
    with pytest.raises(pandera.errors.SchemaError):
        schema.validate(frame)


def test_a_duplicate_video_id_fails_the_videos_schema(small_dataset: Dataset) -> None:
    videos = small_dataset.videos.head(10)
    with pytest.raises(pandera.errors.SchemaError, match="video_id"):
        VIDEOS_SCHEMA.validate(pd.concat([videos, videos.head(1)]))
