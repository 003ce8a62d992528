"""The last monitor figures: each check replaces its own, a bad file reads as none."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from features.monitoring_last import CheckFigures, LastFigures, last_path, read_last, write_last

AT = datetime(2026, 12, 7, 12, tzinfo=UTC)


def figures(**named: float) -> CheckFigures:
    return CheckFigures(
        checked_at=AT, model_version="3", answers=5000, alert=False, figures=dict(named)
    )


def test_each_check_replaces_its_own_figures_and_keeps_the_others(tmp_path: Path) -> None:
    # given drift figures written, then estimate figures, then drift again
    write_last(tmp_path, "drift", figures(max_distance=0.2))
    write_last(tmp_path, "estimate", figures(roc_auc=0.81))
    write_last(tmp_path, "drift", figures(max_distance=0.05))

    # when read back
    last = read_last(tmp_path)

    # then each key holds its check's newest figures
    assert last.drift is not None
    assert last.drift.figures == {"max_distance": 0.05}
    assert last.estimate is not None
    assert last.estimate.figures == {"roc_auc": 0.81}


@pytest.mark.parametrize("text", [None, "{not json", '{"drift": {"alert": "maybe"}}'])
def test_a_missing_or_unreadable_file_reads_as_no_figures(tmp_path: Path, text: str | None) -> None:
    # given no file, or one that is not the schema
    if text is not None:
        last_path(tmp_path).parent.mkdir(parents=True)
        last_path(tmp_path).write_text(text)

    # when read, then there are no figures (and no failure)
    assert read_last(tmp_path) == LastFigures()
