"""A creator store built for another target than the model's: `score` fails, `serve` is not
ready and says why, in one line; a store of the model's own target serves."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from features.loading import Dataset
from features.store import data_end, history_timeline, write_store
from likecast.target import Target
from tests.conftest import BIN, free_port, running

MODEL = Target(1000, 7 * 1440)  # what the session's trained bundle predicts


def materialize(dataset: Dataset, target: Target, path: Path) -> None:
    """The store of ``dataset`` built for ``target`` at ``path``."""
    built = history_timeline(
        dataset, data_end(dataset), target.threshold, target.horizon_minutes, 30
    )
    write_store(built, path)


@pytest.mark.parametrize(
    ("stored", "said"),
    [
        (Target(2000, 7 * 1440), "built for 2,000 likes within 7 days, the model predicts 1,000"),
        (Target(1000, 5 * 1440), "built for 1,000 likes within 5 days, the model predicts 1,000"),
    ],
    ids=["threshold", "horizon"],
)
def test_score_refuses_a_store_of_another_target_in_one_line(
    stored: Target, said: str, small_dataset: Dataset, bundle_dir: Path, tmp_path: Path, score
) -> None:
    # given the home's creator store, built for another target than the model's
    materialize(small_dataset, stored, tmp_path / "home" / "creator_store.sqlite")
    # when a file is scored with the model
    result = score("--model", str(bundle_dir))
    # then nothing is scored: one line names both targets and the command that fixes it
    assert result.code != 0
    assert said in result.text
    assert "likecast features materialize --data DIR --threshold 1000 --horizon-days 7" in (
        result.text
    )
    assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "scores.csv").exists()


def test_score_uses_a_store_of_the_models_target(
    small_dataset: Dataset, bundle_dir: Path, tmp_path: Path, score
) -> None:
    # given the home's creator store, built for the model's own target
    materialize(small_dataset, MODEL, tmp_path / "home" / "creator_store.sqlite")
    # when a file is scored, then every video is
    result = score("--model", str(bundle_dir))
    assert result.code == 0, result.err
    assert f"scored {len(small_dataset.videos):,} of" in result.text


@pytest.mark.server
def test_serve_is_ready_only_with_a_store_of_the_models_target(
    small_dataset: Dataset, bundle_dir: Path, tmp_path: Path
) -> None:
    # given `likecast serve` of a model folder, in a home with no creator store yet
    home, port = tmp_path / "serve-home", free_port()
    home.mkdir()
    store = home / "creator_store.sqlite"
    env = {**os.environ, "LIKECAST_HOME": str(home), "LIKECAST_SERVICE_WORKERS": "1"}
    command = [str(BIN / "likecast"), "serve", "--port", str(port), "--model", str(bundle_dir)]
    url = f"http://127.0.0.1:{port}"
    creator = str(small_dataset.videos["creator_id"].iloc[0])
    draft = {
        "creator_id": creator,
        "category": "food",
        "duration_s": 30.0,
        "posted_at": data_end(small_dataset).isoformat(),
    }
    seen = []
    with (
        (home / "serve.log").open("w") as log,
        running(command, f"{url}/livez", 180, env, log),
        httpx.Client(base_url=url, timeout=30) as client,
    ):

        def look() -> tuple[int, str, int]:
            ready = client.get("/readyz")
            return (
                ready.status_code,
                ready.text,
                client.post("/predict_draft", json=draft).status_code,
            )

        seen.append(look())
        # when a store of another target is materialized, then one of the model's own
        materialize(small_dataset, Target(2000, 5 * 1440), store)
        seen.append(look())
        materialize(small_dataset, MODEL, store)
        seen.append(look())
        answer = client.post("/predict_draft", json=draft).json()
    # then without a store it is not ready, and says so in one line (it answers cold starts)
    status, text, answered = seen[0]
    assert (status, answered) == (503, 200)
    assert text.startswith(f"not ready: no creator store at {store}")
    # with the other target's store it is not ready, names both targets, and answers nothing
    status, text, answered = seen[1]
    assert (status, answered) == (503, 503)
    assert "built for 2,000 likes within 5 days, the model predicts 1,000 likes within 7 days" in (
        text
    )
    assert "\n" not in text.strip()
    # with its own target's store it is ready and answers from the creator's history
    assert seen[2][0::2] == (200, 200)
    assert answer["history"]["source"] == "store"
