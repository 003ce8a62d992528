"""MLflow on PostgreSQL with a shared artifact folder, as a team deploys it: a model trained,
registered and promoted through an `mlflow server` whose backend store is PostgreSQL, and a
serving replica that hot-swaps to the new champion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from features.loading import Dataset, fingerprint
from likecast.settings import Settings
from models.mlflow_client import connect
from tests.helpers import BIN, UNMONITORED, free_port, running, service_in_process, wait_until
from tests.pg import Postgres, postgres
from training.promote import promote
from training.tracking import log_and_register
from training.train import TrainOutcome

__all__ = ["postgres"]  # the session's PostgreSQL server

# an mlflow server and PostgreSQL; `git` at logging; two registrations and a swap: ~1 min
pytestmark = [pytest.mark.server, pytest.mark.subprocess, pytest.mark.slow]


def test_a_replica_swaps_to_a_champion_promoted_through_mlflow_on_postgresql(
    postgres: Postgres,
    trained: TrainOutcome,
    small_data: Path,
    small_dataset: Dataset,
    tmp_path: Path,
) -> None:
    # given an mlflow server on a PostgreSQL database (psycopg 3: postgresql+psycopg://),
    # its artifacts in a folder every client shares
    database = postgres.new_database().replace("postgresql://", "postgresql+psycopg://", 1)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "mlflow"), "server", "--backend-store-uri", database]
    command += ["--artifacts-destination", str(tmp_path / "shared-artifacts")]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    home = tmp_path / "home"
    settings = Settings(home=home, tracking_uri=url, **UNMONITORED)
    prints = fingerprint(small_data, small_dataset)
    with (
        (tmp_path / "mlflow.log").open("w") as log,
        running(command, f"{url}/health", 180, env, log),
    ):
        # and a trained model registered and promoted, and a replica serving the champion
        first = log_and_register(trained, prints, settings, "pg-registry", report=False)
        promote(connect(settings), settings, settings.alias, first.version, force=True)
        served = {
            "LIKECAST_HOME": str(home),
            "LIKECAST_TRACKING_URI": url,
            "LIKECAST_SERVICE_DIR": str(home / "service"),
            "LIKECAST_RELOAD_INTERVAL_S": "1",
            "LIKECAST_REQUIRE_STORE": "false",
        }
        with service_in_process(served) as http:
            before = http.get("/model").json()["model_version"]
            # when a second version is registered and promoted
            second = log_and_register(trained, prints, settings, "pg-registry", report=False)
            moved = promote(connect(settings), settings, settings.alias, second.version, True)
            # then the replica swaps to it without a restart, and stays ready
            wait_until(
                lambda: http.get("/model").json()["model_version"] == second.version,
                120,
                "the replica serving the promoted version",
            )
            ready = http.get("/readyz")
    assert (before, first.version, second.version) == ("1", "1", "2")
    assert moved.moved
    assert ready.status_code == 200
    assert ready.text.startswith("ready: model 2;")
    # both versions' bundles went through the server into the shared folder
    assert len(list((tmp_path / "shared-artifacts").rglob("MLmodel"))) >= 2
