"""Hot swap: a new champion replaces the old one with no failed request; a broken one never."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import mlflow
import pytest

from features.loading import fingerprint
from models.mlflow_client import connect
from tests.helpers import DRAFT, Served, wait_until
from training.tracking import experiment_id, log_and_register
from training.train import TrainOutcome

pytestmark = [pytest.mark.server, pytest.mark.subprocess]  # `likecast serve`; `git` at logging


class Traffic:
    """Requests sent without pause from a thread while the swap happens."""

    def __init__(self, url: str) -> None:
        self.url, self.versions, self.failures = url, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self._stop.is_set():
                reply = http.post("/predict_draft", json=DRAFT)
                if reply.status_code == 200:
                    self.versions.append(reply.json()["model_version"])
                else:
                    self.failures.append((reply.status_code, reply.text[:200]))

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture(scope="module")
def second_version(served: Served, trained: TrainOutcome, small_dataset, small_data: Path) -> str:
    """The served model registered again: a new version for the alias to move to (the swap
    goes by version; no second model need be trained)."""
    registered = log_and_register(
        trained,
        fingerprint(small_data, small_dataset),
        served.settings,
        "serving-tests",
        report=False,
    )
    return registered.version


def served_version(served: Served) -> str:
    with served.client() as http:
        return http.get("/model").json()["model_version"]


def test_a_new_champion_is_swapped_in_with_no_failed_request(served, second_version) -> None:
    # given traffic flowing to version 1
    assert served_version(served) == "1"
    with Traffic(served.url) as traffic:
        wait_until(lambda: len(traffic.versions) > 5, 60, "the swap")
        # when the champion alias moves to version 2
        served.set_champion(second_version)
        wait_until(lambda: served_version(served) == second_version, 60, "the swap")
        wait_until(lambda: traffic.versions[-1] == second_version, 60, "the swap")
    # then not one request failed, and answers moved from 1 to 2 once, never back
    assert traffic.failures == []
    first_new = traffic.versions.index(second_version)
    assert set(traffic.versions[:first_new]) == {"1"}
    assert set(traffic.versions[first_new:]) == {second_version}
    # and both workers switched, whichever answered
    with served.client() as http:
        events = http.get("/model").json()["events"]
    assert {"event": "swapped", "from": "1", "to": second_version}.items() <= events[-1].items()
    switched = {e["worker"] for e in events if e["event"] == "swapped"}
    assert switched == set(range(1, served.settings.service_workers + 1)) == {1, 2}


def test_a_broken_champion_is_rejected_and_the_old_one_keeps_serving(
    served, second_version, tmp_path: Path
) -> None:
    # given a registered version whose bundle is corrupt
    wait_until(lambda: served_version(served) == second_version, 60, "the swap")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("calibrator.json", "feature_spec.json", "meta.json"):
        (broken / name).write_text("{}")
    (broken / "model.txt").write_text("definitely not a LightGBM model")
    client = connect(served.settings)
    # artifacts under the served home, like every likecast experiment (never ./mlruns)
    experiment = experiment_id(client, "broken-models", served.settings)
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.pyfunc.log_model(
            name="model", loader_module="models.pyfunc", data_path=str(broken), pip_requirements=[]
        )
    bad = mlflow.register_model(info.model_uri, "likecast").version
    # when the alias moves to it
    with Traffic(served.url) as traffic:
        served.set_champion(str(bad))

        def rejected():
            with served.client() as http:
                return [
                    e for e in http.get("/model").json()["events"] if e["event"] == "reload_failed"
                ]

        failure = wait_until(rejected, 60, "the rejected swap")

        def checks() -> int:
            with served.client() as http:
                return (http.get("/model").json()["registry_check"] or {}).get("count", 0)

        # and the alias is checked a few more times: it must not retry the same broken version
        seen = checks()
        wait_until(lambda: checks() >= seen + 3, 60, "three more checks of the alias")
    # then the old version still answers every request, and the failure was recorded once
    assert traffic.failures == []
    assert set(traffic.versions) == {second_version}
    assert served_version(served) == second_version
    assert len(rejected()) == 1
    assert failure[0]["serving"] == second_version
    served.set_champion(second_version)
