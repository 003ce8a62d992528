"""Hostile state (#32, items 4, 5, 7, 8, 13): zone names that are folders, what-ifs across
daylight-saving changes, a creator store replaced under a running service, degenerate models
at the swap check, and admin reloads that must reach every worker, one at a time.

In-process (the ``service`` fixture's TestClient, a Predictor, a store) except the reload,
whose point is two worker processes of a real `likecast serve`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import pytest

from features.rows import HISTORY_COLUMNS
from features.store import CreatorStore, Timeline, write_store
from likecast.settings import Settings
from likecast.target import Target
from models.bundle import ModelBundle
from models.registry import LoadedModel
from serving.api.service import REPLY_WITHIN_S
from serving.core.predictor import Predictor
from serving.core.requests import Draft
from serving.swap.holder import ModelHolder
from tests.helpers import BIN, DRAFT, EARLY, TOKEN, InProcess, free_port, running, wait_until

ROUTES = [("/predict_draft", DRAFT), ("/predict_early", EARLY), ("/whatif", DRAFT)]
FOLDER_NAMES = ["Asia", "Etc", "US", "__pycache__"]


@pytest.mark.parametrize("zone", FOLDER_NAMES)
@pytest.mark.parametrize(("route", "body"), ROUTES, ids=[r for r, _ in ROUTES])
def test_a_zone_folder_is_a_400_naming_the_field(
    service: InProcess, route: str, body: dict, zone: str
) -> None:
    # given a request whose timezone names a folder of the zone database
    with service.client() as http:
        reply = http.post(route, json={**body, "timezone": zone})
    # then it is refused as the caller's mistake, naming the field and the value
    assert reply.status_code == 400, reply.text[:300]
    detail = reply.json()["detail"][0]
    assert detail["loc"][-1] == "timezone"
    assert f"unknown time zone '{zone}'" in detail["msg"]


@pytest.mark.parametrize("zone", FOLDER_NAMES)
def test_a_batch_item_with_a_zone_folder_fails_alone(service: InProcess, zone: str) -> None:
    # given a batch of three drafts, the middle one naming a folder of the zone database
    items = [DRAFT, {**DRAFT, "timezone": zone}, EARLY]
    with service.client() as http:
        reply = http.post("/predict_batch", json={"items": items})
    # then the batch is answered: the other items have their predictions, the bad one its
    # own error naming the field
    assert reply.status_code == 200, reply.text[:300]
    results = reply.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert results[0]["prediction"]
    assert results[2]["prediction"]
    assert "timezone" in json.dumps(results[1]["error"])
    assert f"unknown time zone '{zone}'" in json.dumps(results[1]["error"])


# (zone, the local day of a change, hour just before it): spring forward and fall back
DST_DAYS = [
    ("America/New_York", "2027-03-14", 1),
    ("America/New_York", "2026-11-01", 0),
    ("Europe/London", "2027-03-28", 0),
    ("Europe/London", "2026-10-25", 0),
    ("Australia/Lord_Howe", "2026-10-04", 1),
    ("Australia/Lord_Howe", "2027-04-04", 1),
]


@pytest.mark.parametrize(("zone", "day", "hour"), DST_DAYS)
@pytest.mark.parametrize("minute", [0, 30])
def test_a_whatif_across_a_dst_change_offers_each_hour_once(
    service: InProcess, zone: str, day: str, hour: int, minute: int
) -> None:
    # given a draft planned, without an offset, just before a change of the creator's clocks
    posted = f"{day}T{hour:02d}:{minute:02d}:00"
    with service.client() as http:
        # when its what-if is asked for
        reply = http.post("/whatif", json={**DRAFT, "posted_at": posted, "timezone": zone})
    # then it is answered, each hour of the day once, at a real instant on the hour
    assert reply.status_code == 200, reply.text[:300]
    hours = reply.json()["hours"]
    assert sorted(h["local_hour"] for h in hours) == list(range(24))
    for option in hours:
        local = datetime.fromisoformat(option["posted_at"]).astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (option["local_hour"], 0), option
    # and nothing of pandas' wording reaches the creator
    assert "infer dst" not in reply.text.lower()
    assert "nonexistent" not in reply.text.lower()


# -- the creator store under a running service -------------------------------------------

MODEL = Target(1000, 7 * 1440)


def timeline(as_of: str, creators: int) -> Timeline:
    """A store's content: ``creators`` creators with one state each, known up to ``as_of``."""
    rows = pd.DataFrame(
        {
            "creator_id": pd.Series([f"c{i}" for i in range(creators)], dtype="string"),
            "valid_from": pd.Timestamp("2026-06-01", tz="UTC"),
            **{name: 1.0 for name in HISTORY_COLUMNS if name != "hist_last_posted_at"},
            "hist_last_posted_at": pd.Timestamp("2026-05-31", tz="UTC"),
        }
    )
    return Timeline(
        rows, pd.Timestamp("2026-05-01", tz="UTC"), pd.Timestamp(as_of, tz="UTC"), MODEL
    )


def in_place(path: Path, content: Timeline) -> None:
    write_store(content, path)


def moved_over(path: Path, content: Timeline) -> None:
    """Materialized elsewhere, then renamed over the served file (as `mv` does)."""
    elsewhere = path.with_name("fresh.sqlite")
    write_store(content, elsewhere)
    os.replace(elsewhere, path)


def copied_then_moved(path: Path, content: Timeline) -> None:
    """Copied into the folder under a temporary name, then renamed into place."""
    made = path.parent.parent / "made.sqlite"
    write_store(content, made)
    shutil.copyfile(made, path.with_name(".incoming"))
    os.replace(path.with_name(".incoming"), path)


@pytest.mark.parametrize("replace", [in_place, moved_over, copied_then_moved])
def test_a_store_made_or_replaced_while_serving_is_read_at_the_next_request(
    replace, tmp_path: Path
) -> None:
    # given a service's store opened before any store file existed
    path = tmp_path / "home" / "creator_store.sqlite"
    path.parent.mkdir()
    store = CreatorStore(path)
    assert store.target_problem(MODEL) is None
    assert not store.loaded
    # when a store is made, then the next request's look (target_problem) opens it
    replace(path, timeline("2026-07-01", 3))
    store.target_problem(MODEL)
    assert (store.loaded, store.creators(), store.as_of) == (
        True,
        3,
        pd.Timestamp("2026-07-01", tz="UTC"),
    )
    # and when it is materialized again, later and bigger, the next look sees all of it
    replace(path, timeline("2026-09-20", 5))
    store.target_problem(MODEL)
    assert store.creators() == 5
    assert store.as_of == pd.Timestamp("2026-09-20", tz="UTC")
    assert store.get("c4", datetime.fromisoformat("2026-09-01T00:00:00+00:00")) is not None


def test_answers_stop_warning_of_old_history_once_the_store_is_replaced(
    bundle_dir: Path, tmp_path: Path
) -> None:
    # given a predictor whose store knows history up to 81 days before a draft
    path = tmp_path / "home" / "creator_store.sqlite"
    write_store(timeline("2026-07-01", 3), path)
    loaded = LoadedModel(ModelBundle.load(bundle_dir), "folder", None, None)
    predictor = Predictor(loaded, CreatorStore(path), Settings(home=tmp_path / "home"))
    draft = {"creator_id": "c1", "category": "food", "duration_s": 30.0}
    request = Draft.model_validate({**draft, "posted_at": "2026-09-20T12:00:00+00:00"})
    assert any("known up to 2026-07-01" in w for w in predictor.predict([request])[0].warnings)
    # when a store materialized elsewhere up to the draft's day is moved over it
    moved_over(path, timeline("2026-09-20", 3))
    assert predictor.not_ready is None  # what /readyz and each request look at first
    # then the answer no longer warns of old history
    assert not any("known up to" in w for w in predictor.predict([request])[0].warnings)


# -- the swap check -------------------------------------------------------------------------


def blend_edited(bundle_dir: Path, into: Path, weight: float, intercept: float) -> Path:
    """A copy of the bundle whose blend gives every row ``expit(intercept)`` (weights set to
    ``weight``, 0 for a constant)."""
    folder = into / "bundle"
    shutil.copytree(bundle_dir, folder)
    saved = json.loads((folder / "calibrator.json").read_text())
    for age in saved["ages"]:
        age["weights"] = [weight] * len(age["weights"])
        age["intercept"] = intercept
    (folder / "calibrator.json").write_text(json.dumps(saved))
    return folder


@pytest.mark.parametrize(
    ("intercept", "said"),
    [(0.0, "a constant model"), (40.0, "a constant model"), (-40.0, "a constant model")],
    ids=["always 0.5", "always 1", "always 0"],
)
def test_a_constant_model_fails_the_swap_check(
    bundle_dir: Path, tmp_path: Path, intercept: float, said: str
) -> None:
    # given a model whose every answer is the same number (e.g. 1.0 for everything)
    folder = blend_edited(bundle_dir, tmp_path, 0.0, intercept)
    loaded = LoadedModel(ModelBundle.load(folder), str(folder), "9", None)
    predictor = Predictor(loaded, CreatorStore(tmp_path / "none.sqlite"), Settings(home=tmp_path))
    # when the swap checks it, then it is refused, saying why
    with pytest.raises(ValueError, match=said):
        ModelHolder.validate(predictor)


def test_a_model_answering_only_0_and_1_fails_the_swap_check(
    bundle_dir: Path, tmp_path: Path
) -> None:
    # given a model whose blend is so steep that every answer is 0 or 1
    folder = blend_edited(bundle_dir, tmp_path, 500.0, 0.0)
    loaded = LoadedModel(ModelBundle.load(folder), str(folder), "9", None)
    predictor = Predictor(loaded, CreatorStore(tmp_path / "none.sqlite"), Settings(home=tmp_path))
    # when the swap checks it, then it is refused
    with pytest.raises(ValueError, match=r"a degenerate model|a constant model"):
        ModelHolder.validate(predictor)


def test_a_trained_model_passes_the_swap_check(bundle_dir: Path, tmp_path: Path) -> None:
    loaded = LoadedModel(ModelBundle.load(bundle_dir), str(bundle_dir), "1", None)
    predictor = Predictor(loaded, CreatorStore(tmp_path / "none.sqlite"), Settings(home=tmp_path))
    ModelHolder.validate(predictor)


# -- an admin reload of a model folder, on a real two-worker service ----------------------

NEW_TRAINED_AT = "2030-01-01T00:00:00+00:00"


def _trained_at(url: str) -> str:
    """``/model``'s trained_at, on a connection of its own (so any worker may answer)."""
    return httpx.get(f"{url}/model", timeout=30).json()["trained_at"]


def _reload(url: str) -> tuple[int, float, dict]:
    started = time.monotonic()
    reply = httpx.post(
        f"{url}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    )
    return reply.status_code, time.monotonic() - started, reply.json()


@pytest.mark.server
def test_a_reload_reaches_every_worker_and_concurrent_ones_answer_at_once(
    bundle_dir: Path, tmp_path: Path
) -> None:
    # given `likecast serve` of a model folder with two workers
    model = tmp_path / "model"
    shutil.copytree(bundle_dir, model)
    home, port = tmp_path / "home", free_port()
    home.mkdir()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LIKECAST_")}
    env = {
        **inherited,
        "LIKECAST_HOME": str(home),
        "LIKECAST_SERVICE_WORKERS": "2",
        "LIKECAST_ADMIN_TOKEN": TOKEN,
    }
    command = [str(BIN / "likecast"), "serve", "--port", str(port), "--model", str(model)]
    url = f"http://127.0.0.1:{port}"
    with (home / "serve.log").open("w") as log, running(command, f"{url}/livez", 180, env, log):
        old = _trained_at(url)
        # when the folder's model is replaced in place and a reload is asked for
        meta = json.loads((model / "meta.json").read_text())
        (model / "meta.json").write_text(json.dumps({**meta, "trained_at": NEW_TRAINED_AT}))
        status, _, event = _reload(url)
        assert (status, event["event"]) == (200, "swapped"), event
        # then every answer, whichever worker gives it, is the new model's
        assert {_trained_at(url) for _ in range(20)} == {NEW_TRAINED_AT}, old
        # and when eight reloads are asked for at once, each is answered promptly: one
        # reloads, the others say one is under way; none times out
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda _: _reload(url), range(8)))
        statuses = sorted(status for status, _, _ in replies)
        assert set(statuses) <= {200, 202, 409}, replies
        assert max(took for _, took, _ in replies) < REPLY_WITHIN_S + 2, replies
        busy = [event for status, _, event in replies if status == 409]
        assert all(e["event"] == "busy" and "under way" in e["detail"] for e in busy), busy
        # and afterwards both workers still agree
        wait_until(lambda: _trained_at(url) == NEW_TRAINED_AT, 30, "the reloaded model")
        assert {_trained_at(url) for _ in range(10)} == {NEW_TRAINED_AT}
