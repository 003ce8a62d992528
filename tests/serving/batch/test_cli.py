"""`likecast score` given a model that is not one: exit code 2 and one line."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("model", ["/etc", "empty"])
def test_score_with_a_folder_that_is_not_a_model_exits_2(model: str, tmp_path: Path, score) -> None:
    # given a folder that holds no likecast model
    folder = tmp_path / "empty"
    folder.mkdir()
    target = "/etc" if model == "/etc" else str(folder)
    # when videos are scored with it
    result = score("--model", target)
    # then one line names the folder, and nothing is written
    assert result.code == 2, result.text
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert f"{target}: not a likecast model bundle" in result.text
    assert not (tmp_path / "scores.csv").exists()
