"""The drift reference: frozen in the bundle at training, small, and optional for old bundles."""

from __future__ import annotations

import shutil
from pathlib import Path

from models.bundle import REFERENCE_FILE, ModelBundle
from training.train import TrainOutcome

MOST_BYTES = 300_000  # "a few hundred KB at most"


def test_the_reference_round_trips_through_a_saved_bundle(
    trained: TrainOutcome, tmp_path: Path
) -> None:
    # given a trained bundle, when saved and loaded back
    folder = trained.bundle.save(tmp_path / "bundle")
    loaded = ModelBundle.load(folder)
    # then its reference is the one built, small, and from the test slice's rows
    reference = trained.bundle.reference
    assert reference is not None
    assert loaded.reference == reference
    assert ModelBundle.from_texts(trained.bundle.to_texts()).reference == reference
    assert (folder / REFERENCE_FILE).stat().st_size < MOST_BYTES
    assert reference.rows == len(trained.test_features)
    assert sum(p.rows for p in reference.by_age.values()) == reference.rows
    assert set(reference.attribution) == set(reference.bins) - {"answer"}
    assert "age_minutes" not in reference.bins  # the buckets are the ages


def test_an_older_bundle_without_a_reference_loads_and_drift_says_so(
    cli, bundle_dir: Path, tmp_path: Path
) -> None:
    # given a bundle saved before drift monitoring: no reference.json
    old = tmp_path / "old"
    shutil.copytree(bundle_dir, old)
    (old / REFERENCE_FILE).unlink()
    # when it is loaded, and drift is checked against it
    assert ModelBundle.load(old).reference is None
    result = cli("monitor", "drift", "--model", str(old), "--no-track")
    # then it loads, and the check fails in one line: exit 2
    assert result.code == 2
    assert "no drift reference" in result.err
