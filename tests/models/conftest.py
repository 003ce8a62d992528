"""What the model tests share: test rows of the trained model an hour or more after posting."""

from __future__ import annotations

import pandas as pd
import pytest

from training.train import TrainOutcome


@pytest.fixture(scope="module")
def early_rows(trained: TrainOutcome) -> pd.DataFrame:
    """Test rows one to four hours after posting, with all counters observed."""
    rows = trained.test_rows.drop(columns="label")
    rows = rows[rows["age_minutes"].between(60, 240)].dropna(subset=["views", "comments"])
    return rows.head(300).reset_index(drop=True)
