"""The fitted spec: saved as JSON, read back the same, also from its earlier field names."""

from __future__ import annotations

import json

import numpy as np

from features.catalog import FEATURES
from features.spec import FeatureSpec

SPEC = FeatureSpec(
    categories=("food", "music"),
    threshold=1000,
    horizon_minutes=10080.0,
    timezone="Asia/Shanghai",
    szabo_huberman_ages=(15.0, 60.0, 10080.0),
    szabo_huberman_offsets=(3.0, 2.0, 0.0),
    szabo_huberman_sigmas=(0.8, 0.5, 0.05),
    ages=(0.0, 15.0, 60.0),
)


def test_spec_round_trips_through_json() -> None:
    assert FeatureSpec.from_json(SPEC.to_json()) == SPEC
    assert SPEC.features == FEATURES


def test_a_spec_saved_under_the_earlier_names_reads_the_same() -> None:
    # given the JSON of a spec saved before the Szabo-Huberman fields were spelled out
    saved = json.loads(SPEC.to_json())
    for old in ("ages", "offsets", "sigmas"):
        saved[f"sh_{old}"] = saved.pop(f"szabo_huberman_{old}")
    # then it reads back as the same spec
    assert FeatureSpec.from_json(json.dumps(saved)) == SPEC


def test_offsets_interpolate_in_log_age() -> None:
    at = np.array([15.0, 60.0, 10080.0, 30.0])
    offsets = SPEC.szabo_huberman_offset(at)
    np.testing.assert_allclose(offsets[:3], [3.0, 2.0, 0.0])
    assert 2.0 < offsets[3] < 3.0
    assert SPEC.szabo_huberman_sigma(np.array([60.0]))[0] == 0.5
