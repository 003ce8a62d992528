"""The saved model: its files round-trip, refuse what this code cannot serve, and load old.

``data/bundle-2026-12-02`` is a small bundle saved by the code before the feature catalogue
(its spec still names the Szabo-Huberman fields ``sh_*``), with raw rows and the
probabilities that code gave for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.bundle import BundleError, ModelBundle
from training.train import TrainOutcome

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


def test_bundle_round_trips_through_files(
    trained: TrainOutcome, bundle_dir: Path, early_rows: pd.DataFrame
) -> None:
    loaded = ModelBundle.load(bundle_dir)
    np.testing.assert_array_equal(
        loaded.predict_rows(early_rows), trained.bundle.predict_rows(early_rows)
    )
    assert not list(bundle_dir.glob("*.pkl")), "bundles hold no pickles"


def test_a_broken_bundle_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("calibrator.json", "feature_spec.json", "meta.json"):
        (tmp_path / "b" / name).write_text((bundle_dir / name).read_text())
    with pytest.raises(BundleError, match=r"missing model\.txt"):
        ModelBundle.load(tmp_path / "b")
    (tmp_path / "b" / "model.txt").write_text("not a model")
    with pytest.raises(BundleError, match="unreadable"):
        ModelBundle.load(tmp_path / "b")


def test_a_bundle_from_an_older_feature_set_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    # given a bundle trained when a per-view rate was a feature
    old = tmp_path / "old"
    old.mkdir()
    for path in bundle_dir.iterdir():
        (old / path.name).write_text(path.read_text().replace("replies_log", "reply_rate"))
    # then loading it names the feature and what to do
    with pytest.raises(BundleError, match=r"does not compute \(reply_rate\): retrain"):
        ModelBundle.load(old)
