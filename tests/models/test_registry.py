"""Loading a bundle from a folder, an MLflow model folder, or the registry's URIs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from likecast.errors import UserError
from likecast.settings import Settings
from models.bundle import BundleError
from models.registry import load_model
from training.train import TrainOutcome


def test_a_bundle_folder_loads_as_itself(
    bundle_dir: Path, trained: TrainOutcome, tmp_path: Path
) -> None:
    loaded = load_model(str(bundle_dir), Settings(home=tmp_path))
    assert (loaded.uri, loaded.version, loaded.run_id) == (str(bundle_dir), None, None)
    rows = trained.test_rows.drop(columns="label").head(50)
    np.testing.assert_array_equal(
        loaded.bundle.predict_rows(rows), trained.bundle.predict_rows(rows)
    )


def test_an_mlflow_model_folder_loads_the_bundle_it_names(bundle_dir: Path, tmp_path: Path) -> None:
    # given an MLflow model folder whose python_function flavour holds the bundle as data
    model = tmp_path / "model"
    shutil.copytree(bundle_dir, model / "data" / "bundle")
    (model / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: models.pyfunc\n    data: data/bundle\n"
    )
    # when it is loaded, then the bundle inside is
    loaded = load_model(str(model), Settings(home=tmp_path))
    assert (
        loaded.bundle.spec.features
        == load_model(str(bundle_dir), Settings(home=tmp_path)).bundle.spec.features
    )


@pytest.mark.parametrize(
    ("mlmodel", "message"),
    [
        ("flavors:\n  sklearn: {}\n", "not a likecast one"),
        ("flavors: [unclosed\n", "unreadable MLmodel file"),
    ],
)
def test_an_mlflow_folder_that_is_not_a_likecast_model_is_refused(
    tmp_path: Path, mlmodel: str, message: str
) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text(mlmodel)
    with pytest.raises(BundleError, match=message):
        load_model(str(tmp_path / "model"), Settings(home=tmp_path))


def test_a_missing_folder_is_a_users_mistake(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such model folder"):
        load_model(str(tmp_path / "absent"), Settings(home=tmp_path))
