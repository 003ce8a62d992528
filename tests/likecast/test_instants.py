"""`--at` values a user may type: one line and exit code 2 for the ones that make no sense."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Result

BAD_MOMENTS = ["soon", "9999-01-01", "1000-01-01", "2262-04-11T23:47:16", "", "NaT"]


def _one_line_exit_2(result: Result) -> None:
    assert result.code == 2, result.text
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "--at" in result.text


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_materialize_at_a_moment_that_is_not_one_exits_2(
    moment: str, small_data: Path, tmp_path: Path, cli
) -> None:
    # given a data set, when the store is materialized at a nonsense moment
    result = cli("features", "materialize", "--data", str(small_data), "--at", moment)
    # then one line names --at
    _one_line_exit_2(result)
    assert not (tmp_path / "home" / "store.sqlite").exists()


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_score_at_a_moment_that_is_not_one_exits_2(
    moment: str, bundle_dir: Path, tmp_path: Path, score
) -> None:
    # given videos and a model, when they are scored at a nonsense moment
    result = score("--model", str(bundle_dir), "--at", moment)
    # then one line names --at, and nothing is written
    _one_line_exit_2(result)
    assert not (tmp_path / "scores.csv").exists()
