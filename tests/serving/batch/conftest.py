"""What the batch tests share: a home whose creator store holds the small data set's creators."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.loading import Dataset
from features.store import data_end, history_timeline, write_store
from likecast.settings import Settings


@pytest.fixture(scope="module")
def home(small_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose creator store holds the small data set's creators."""
    home = tmp_path_factory.mktemp("score-home")
    settings = Settings(home=home)
    history = history_timeline(
        small_dataset, data_end(small_dataset), 1000, settings.horizon_minutes, 30
    )
    write_store(history, settings.store_path)
    return home
