"""The creator store records the target its hit rates count, and says when a model differs."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from features.loading import Dataset
from features.store import (
    META,
    CreatorStore,
    StoreTargetError,
    Timeline,
    data_end,
    history_timeline,
    write_store,
)
from likecast.target import Target
from tests.helpers import materialize

DEFAULT = Target(1000, 7 * 1440)


def tiny(target: Target | None) -> Timeline:
    """A one-creator timeline built for ``target``."""
    rows = pd.DataFrame(
        {
            "creator_id": pd.Series(["c1"], dtype="string"),
            "valid_from": pd.Timestamp("2026-01-02", tz="UTC"),
            "hist_videos": 3.0,
            "hist_median_likes": 900.0,
            "hist_p90_likes": 4000.0,
            "hist_hit_rate": 0.3,
            "hist_last_posted_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    start, end = pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-02-01", tz="UTC")
    return Timeline(rows, start, end, target)


def test_a_timeline_is_built_for_the_target_it_was_asked_for(small_dataset: Dataset) -> None:
    # given the small platform, when its history is computed for 2,000 likes within 5 days
    built = history_timeline(small_dataset, data_end(small_dataset), 2000, 5 * 1440, 30)
    # then the timeline says so, and the store written from it too
    assert built.target == Target(2000, 5 * 1440)


@pytest.mark.parametrize(
    ("stored", "model", "problem"),
    [
        (DEFAULT, DEFAULT, None),
        (
            DEFAULT,
            Target(50_000, 3 * 1440),
            "built for 1,000 likes within 7 days, the model predicts 50,000 likes within 3 days",
        ),
        (
            DEFAULT,
            Target(1000, 3 * 1440),
            "built for 1,000 likes within 7 days, the model predicts 1,000 likes within 3 days",
        ),
        (None, DEFAULT, "records no target (written by an older likecast)"),
    ],
)
def test_a_store_serves_only_a_model_of_its_own_target(
    stored: Target | None, model: Target, problem: str | None, tmp_path: Path
) -> None:
    # given a store written for one target (or for none recorded)
    path = tmp_path / "store.sqlite"
    write_store(tiny(stored), path)
    # when a model of a target asks whether it may use it
    said = CreatorStore(path).target_problem(model)
    # then only a model of the same target may; the refusal names both and the fix, in a line
    if problem is None:
        assert said is None
    else:
        assert problem in said
        assert f"likecast features materialize --data DIR {model.options()}" in said
        assert "\n" not in said


def test_a_store_of_an_older_likecast_reads_as_one_without_a_target(tmp_path: Path) -> None:
    # given a store whose meta table has only the columns older likecasts wrote
    path = tmp_path / "store.sqlite"
    write_store(tiny(DEFAULT), path)
    with sqlite3.connect(path) as db:
        db.execute(f"ALTER TABLE {META} DROP COLUMN threshold")
        db.execute(f"ALTER TABLE {META} DROP COLUMN horizon_minutes")
    # when it is opened, then it loads, with no target, and serves no model
    store = CreatorStore(path)
    assert store.creators() == 1
    assert store.target is None
    assert "records no target" in store.target_problem(DEFAULT)


def test_an_open_store_sees_a_store_materialized_after_it(tmp_path: Path) -> None:
    # given a reader opened before any store was written
    path = tmp_path / "store.sqlite"
    store = CreatorStore(path)

    def look() -> tuple[str | None, bool]:
        problem = store.target_problem(DEFAULT)  # looks again first
        return problem if problem is None else "refused", store.loaded

    seen = [look()]
    # when a store of another target is written, then one of the model's own
    write_store(tiny(Target(2000, 5 * 1440)), path)
    seen.append(look())
    write_store(replace(tiny(DEFAULT), rows=tiny(DEFAULT).rows.assign(creator_id="c2")), path)
    seen.append(look())
    # then it sees each as it comes: none, refused, served (and its creators with it)
    assert seen == [(None, False), ("refused", True), (None, True)]
    assert store.get("c2", pd.Timestamp("2026-01-03", tz="UTC").to_pydatetime()) is not None


def test_a_requests_history_look_up_refuses_a_store_of_another_target(tmp_path: Path) -> None:
    # given a reader of a store of the model's target, asked for a creator's history
    path = tmp_path / "store.sqlite"
    write_store(tiny(DEFAULT), path)
    store = CreatorStore(path)
    asked = [("c1", pd.Timestamp("2026-01-03", tz="UTC").to_pydatetime())]
    assert store.histories(asked, DEFAULT).histories[0] is not None
    # when the store is materialized again for another target
    write_store(tiny(Target(2000, 5 * 1440)), path)
    # then the same look-up (the request's one entry into the store) refuses, naming both
    with pytest.raises(StoreTargetError, match="built for 2,000 likes within 5 days"):
        store.histories(asked, DEFAULT)
    # and once a store of its own target is back, it answers again
    write_store(tiny(DEFAULT), path)
    assert store.histories(asked, DEFAULT).looked_up == [True]


@pytest.mark.parametrize(
    ("options", "environment", "expected", "source"),
    [
        ((), {}, DEFAULT, "(the default)"),
        (("--threshold", "2000", "--horizon-days", "5"), {}, Target(2000, 5 * 1440), "(given)"),
        (
            (),
            {"LIKECAST_THRESHOLD": "3000"},
            Target(3000, 7 * 1440),
            "(given in part, the rest the default)",
        ),
    ],
)
def test_materialize_without_a_champion_builds_for_the_target_given_or_the_default(
    options: tuple[str, ...],
    environment: dict[str, str],
    expected: Target,
    source: str,
    small_data: Path,
    tmp_path: Path,
    cli,
) -> None:
    # given a fresh home: no registry, no champion
    path = tmp_path / "s.sqlite"
    # when the store is materialized with these options and settings
    result = materialize(cli, small_data, path, *options, env=environment)
    # then it is built for that target, and says so and where the target came from
    assert result.code == 0, result.err
    assert CreatorStore(path).target == expected
    assert f"for {expected} {source}" in result.text
