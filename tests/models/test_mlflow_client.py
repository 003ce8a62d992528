"""Connecting to the tracking store: a local database is created, a dead server fails fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from likecast.settings import Settings
from models.mlflow_client import TrackingError, connect
from tests.helpers import free_port


@pytest.mark.slow  # MLflow makes its tables for the store: several seconds
def test_a_local_store_is_created_under_the_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "new" / "home")
    client = connect(settings)
    assert (tmp_path / "new" / "home").is_dir()
    assert client.search_experiments()  # the store answers (its Default experiment)


def test_an_unreachable_server_is_one_line_without_its_password(tmp_path: Path) -> None:
    uri = f"http://user:hunter2@127.0.0.1:{free_port()}"
    with pytest.raises(TrackingError, match="is unreachable") as caught:
        connect(Settings(home=tmp_path, tracking_uri=uri))
    assert "hunter2" not in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
