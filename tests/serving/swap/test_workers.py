"""Starting the service: as many workers as set, each answering; a clear refusal without a model."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import psutil
import pytest

from serving.api.demo import DRAFT
from tests.conftest import BIN, free_port, running

pytestmark = pytest.mark.slow  # starts servers or subprocesses


def test_the_service_runs_as_many_workers_as_set(bundle_dir: Path, tmp_path: Path) -> None:
    # given the service started on a model folder with LIKECAST_SERVICE_WORKERS=2
    port = free_port()
    env = {**os.environ, "LIKECAST_HOME": str(tmp_path / "home"), "LIKECAST_SERVICE_WORKERS": "2"}
    command = [str(BIN / "likecast"), "serve", "--port", str(port), "--model", str(bundle_dir)]
    url = f"http://127.0.0.1:{port}"
    # /livez, not /readyz: this home has no creator store, so the service is never "ready"
    with running(command, f"{url}/livez", 180, env) as process:
        # when it answers a stream of drafts
        with httpx.Client(base_url=url, timeout=30) as http:
            replies = [http.post("/predict_draft", json=DRAFT) for _ in range(40)]
        # then two worker processes serve, and every answer came from the model
        workers = [
            p
            for p in psutil.Process(process.pid).children(recursive=True)
            if "_bentoml_impl.worker" in " ".join(p.cmdline())
        ]
    assert len(workers) == 2
    assert {r.status_code for r in replies} == {200}
    assert {r.json()["model_version"] for r in replies} == {"local"}


def test_serving_a_registry_without_a_champion_fails_in_one_line(cli) -> None:
    # given an empty registry, when the service is asked to serve its champion
    result = cli("serve", "--port", str(free_port()))
    # then the command fails at once, saying what is missing, before any server starts
    assert result.code != 0
    assert "models:/likecast@champion: not in the registry" in result.text
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
