"""A bundle saved by an earlier version of likecast still loads and predicts the same.

``data/bundle-2026-12-02`` is a small bundle saved by the code before the feature catalogue
(its spec still names the Szabo-Huberman fields ``sh_*``), with raw rows and the
probabilities that code gave for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from models.bundle import ModelBundle

SAVED = Path(__file__).parent / "data" / "bundle-2026-12-02"


def test_a_bundle_saved_before_the_catalogue_predicts_the_same() -> None:
    # given a bundle and the probabilities it gave when it was saved
    bundle = ModelBundle.load(SAVED / "bundle")
    rows = pd.read_parquet(SAVED / "rows.parquet")
    expected = json.loads((SAVED / "probabilities.json").read_text())
    # when today's code loads it and predicts the same rows
    probabilities = bundle.predict_rows(rows)
    # then nothing moved
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-12)
    assert bundle.spec.szabo_huberman_ages, "the old field names were read"


def test_a_bundle_saved_today_reads_back_the_same(tmp_path: Path) -> None:
    bundle = ModelBundle.load(SAVED / "bundle")
    again = ModelBundle.load(bundle.save(tmp_path / "again"))
    assert again.spec == bundle.spec
    rows = pd.read_parquet(SAVED / "rows.parquet")
    np.testing.assert_array_equal(again.predict_rows(rows), bundle.predict_rows(rows))
