"""/readyz fits each use: a replica without a creator store is ready only when the operator
allows it (LIKECAST_REQUIRE_STORE=false), and /readyz says, in one line, what the replica
serves with (its store's backend and generation) or lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.loading import Dataset
from features.store import data_end, history_timeline, write_store
from tests.helpers import DRAFT, service_in_process
from tests.pg import Postgres, postgres

__all__ = ["postgres"]  # the session's PostgreSQL server, for the shared-store case


@pytest.mark.parametrize(
    ("store", "require", "status", "said"),
    [
        (None, None, 503, "not ready: no creator store at {where}: materialize it"),
        (None, "true", 503, "or set LIKECAST_REQUIRE_STORE=false to serve every creator's"),
        (
            None,
            "false",
            200,
            "ready: model local; no creator store at {where} (LIKECAST_REQUIRE_STORE=false): "
            "every creator's history is unknown",
        ),
        ("sqlite", None, 200, "ready: model local; creator store sqlite {where}, history as of"),
        pytest.param(
            "postgresql",
            None,
            200,
            "ready: model local; creator store postgresql {where}, generation 1, history as of",
            marks=pytest.mark.server,
        ),
    ],
    ids=["no-store", "no-store-required", "no-store-allowed", "sqlite", "postgresql"],
)
def test_readyz_says_what_the_replica_serves_with_or_lacks(
    store: str | None,
    require: str | None,
    status: int,
    said: str,
    bundle_dir: Path,
    small_dataset: Dataset,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    # given a replica of a model folder, with no creator store, or one on either backend
    home = tmp_path / "home"
    env = {
        "LIKECAST_HOME": str(home),
        "LIKECAST_MODEL_URI": str(bundle_dir),
        "LIKECAST_SERVICE_DIR": str(home / "service"),
    }
    where: Path | str = home / "creator_store.sqlite"
    if require is not None:
        env["LIKECAST_REQUIRE_STORE"] = require
    if store == "postgresql":
        server: Postgres = request.getfixturevalue("postgres")
        where = env["LIKECAST_STORE_URL"] = server.new_database()
    if store is not None:
        write_store(
            history_timeline(small_dataset, data_end(small_dataset), 1000, 10080, 30), where
        )
    creator = str(small_dataset.videos["creator_id"].iloc[0])
    draft = {**DRAFT, "creator_id": creator, "posted_at": data_end(small_dataset).isoformat()}
    # when /readyz is asked and a draft of a creator with videos is answered
    with service_in_process(env) as http:
        ready = http.get("/readyz")
        answer = http.post("/predict_draft", json=draft).json()
    # then its status and one line say what it serves with, or why it is not ready
    assert ready.status_code == status
    assert said.format(where=where) in ready.text
    assert "\n" not in ready.text.strip()
    # and without a store the answer says the creator's history is unknown, not that the
    # creator never posted
    unknown = any("history is unknown" in w for w in answer["warnings"])
    assert answer["history"]["source"] == ("cold_start" if store is None else "store")
    assert unknown == (store is None)
