"""Recording a run in MLflow and registering its model, in a local store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.loading import Dataset, fingerprint
from likecast.settings import Settings
from models.mlflow_client import connect
from models.registry import load_model
from training.tracking import log_and_register, read_test_rows, version_summary
from training.train import TrainOutcome

pytestmark = pytest.mark.subprocess  # logging a run asks `git` for the code version


@pytest.mark.usefixtures("tracking_store")  # its home, the tables made
def test_a_registered_version_holds_its_run_and_loads_as_the_same_model(
    trained: TrainOutcome, small_data: Path, small_dataset: Dataset, tmp_path: Path
) -> None:
    # given a run logged and registered in a local store
    settings = Settings(home=tmp_path / "home")
    stages: list[str] = []
    registered = log_and_register(
        trained, fingerprint(small_data, small_dataset), settings, "tracking-tests", stages.append
    )
    assert stages == ["plots and report", "model bundle", "registering"]
    # then the registry lists it with its test metrics
    client = connect(settings)
    [summary] = version_summary(client, settings.model_name)
    assert (summary["version"], summary["run_id"]) == (registered.version, registered.run_id)
    assert summary["roc_auc"] == pytest.approx(trained.metrics["test_roc_auc"])
    # and its run holds the test slice it was evaluated on
    # (Parquet gives the categories back as str, not the string dtype they were written as)
    pd.testing.assert_frame_equal(
        read_test_rows(client, registered.run_id),
        trained.test_rows.reset_index(drop=True),
        check_categorical=False,
        check_dtype=False,
    )
    run = client.get_run(registered.run_id)
    assert run.data.tags["likecast.kind"] == "train"
    assert run.data.tags["code_version"]
    # and the version loads as the model that was trained
    loaded = load_model(f"models:/{settings.model_name}/{registered.version}", settings)
    assert loaded.run_id == registered.run_id
    rows = trained.test_rows.drop(columns="label").head(100)
    np.testing.assert_array_equal(
        loaded.bundle.predict_rows(rows), trained.bundle.predict_rows(rows)
    )


def test_a_store_without_versions_lists_none(cli) -> None:
    # given a fresh tracking store, where no model is registered yet
    # when the versions are listed
    listed = cli("models")
    # then the command says so, instead of failing on the model it cannot find
    assert listed.code == 0, listed.text
    assert "no versions of likecast registered yet" in listed.text
