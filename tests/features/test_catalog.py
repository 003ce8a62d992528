"""The feature catalogue: one declaration per feature, and everything derived from it."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from features.arrays import column_arrays
from features.catalog import (
    CATALOG,
    FEATURES,
    LANGUAGES,
    MONOTONE,
    Feature,
    Inputs,
    features_schema,
    inputs_of,
)
from features.rows import RAW_COLUMNS
from tests.features.conftest import SPEC

ROW = dict.fromkeys(RAW_COLUMNS, np.nan) | {
    "creator_id": "c1",
    "category": "food",
    "duration_s": 35.0,
    "posted_at": datetime(2026, 7, 1, 12, tzinfo=UTC),
    "caption": "a caption",
    "hashtags": "#a #b",
    "creator_followers": 500.0,
    "music_trending": True,
    "hist_videos": 3.0,
    "hist_median_likes": 200.0,
    "hist_p90_likes": 900.0,
    "hist_hit_rate": 0.3,
    "hist_last_posted_at": datetime(2026, 6, 28, 9, tzinfo=UTC),
    "age_minutes": 60.0,
    "obs_age_minutes": 60.0,
    "views": 2000.0,
    "likes": 90.0,
    "comments": 5.0,
    "replies": 1.0,
    "shares": 3.0,
    "follows": 2.0,
    "completion_rate": 0.4,
    "retention_3s": 0.7,
    "lag1_age_minutes": 30.0,
    "lag1_likes": 40.0,
    "lag2_age_minutes": 15.0,
    "lag2_likes": 10.0,
}


def test_derived_lists_follow_the_catalogue() -> None:
    assert tuple(f.name for f in CATALOG) == FEATURES
    assert list(features_schema().columns) == list(FEATURES)
    assert {f.name: f.monotone for f in CATALOG} == MONOTONE
    assert FEATURES[0] == "category", "the feature frame relies on category leading"
    # the promises the README makes: more engagement or a better record never lowers it
    for name in ("views_log", "likes_log", "hist_median_likes_log", "hist_hit_rate"):
        assert MONOTONE[name] == 1, name
    assert MONOTONE["gap_to_threshold_log"] == -1


def test_every_input_is_a_raw_column_and_groups_keep_their_place() -> None:
    assert set(inputs_of("draft", "history", "engagement")) <= set(RAW_COLUMNS)
    # engagement features read only what a video's age and snapshots give
    assert not set(inputs_of("engagement")) & set(inputs_of("draft", "history"))


@pytest.mark.parametrize("feature", CATALOG, ids=lambda f: f.name)
def test_a_feature_reads_only_the_inputs_it_declares(feature: Feature) -> None:
    # given the raw arrays of one row, cut down to what the feature says it reads
    arrays = column_arrays({name: [value] for name, value in ROW.items()})
    declared = {name: arrays[name] for name in feature.inputs}
    # when the feature is computed from those alone, and from the whole row
    with np.errstate(divide="ignore", invalid="ignore"):
        alone = feature.transform(Inputs(declared, SPEC))
        whole = feature.transform(Inputs(arrays, SPEC))
    # then it needs nothing else, and both agree
    np.testing.assert_array_equal(alone, whole)
    assert alone.shape == (1,)


@pytest.mark.parametrize("feature", CATALOG, ids=lambda f: f.name)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_feature_has_words_and_shows_its_value(feature: Feature, language: str) -> None:
    arrays = column_arrays({name: [value] for name, value in ROW.items()})
    with np.errstate(divide="ignore", invalid="ignore"):
        value = feature.transform(Inputs(arrays, SPEC))[0]
    shown = feature.show("food" if feature.name == "category" else float(value), language)  # type: ignore[arg-type]
    assert feature.words[language]  # type: ignore[index]
    assert shown
    assert "nan" not in shown


def test_chinese_words_are_chinese_and_english_ones_are_not() -> None:
    for feature in CATALOG:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in feature.words.zh), feature.name
        assert feature.words.en.isascii(), feature.name


def test_a_monotone_sign_is_minus_one_zero_or_one() -> None:
    base = CATALOG[0]
    with pytest.raises(ValueError, match="monotone"):
        Feature(base.name, base.group, base.inputs, base.transform, base.words, base.show, 2)
