"""Starting the service: as many workers as set, each answering; a clear refusal without a model."""

from __future__ import annotations

import psutil
import pytest

from serving.api.demo import DRAFT
from tests.helpers import Served, free_port


@pytest.mark.server
def test_the_service_runs_as_many_workers_as_set(served_folder: Served) -> None:
    # given the service started on a model folder with LIKECAST_SERVICE_WORKERS=2
    # (its home has no creator store, so it is live but never "ready")
    # when it answers a stream of drafts
    with served_folder.client() as http:
        replies = [http.post("/predict_draft", json=DRAFT) for _ in range(40)]
    # then two worker processes serve, and every answer came from the model
    workers = [
        p
        for p in psutil.Process(served_folder.process.pid).children(recursive=True)
        if "_bentoml_impl.worker" in " ".join(p.cmdline())
    ]
    assert len(workers) == 2
    assert {r.status_code for r in replies} == {200}
    assert {r.json()["model_version"] for r in replies} == {"local"}


@pytest.mark.usefixtures("tracking_store")  # an empty registry, its tables made
def test_serving_a_registry_without_a_champion_fails_in_one_line(cli) -> None:
    # given an empty registry, when the service is asked to serve its champion
    result = cli("serve", "--port", str(free_port()))
    # then the command fails at once, saying what is missing, before any server starts
    assert result.code != 0
    assert "models:/likecast@champion: not in the registry" in result.text
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
