"""The pace-based projection is said as one signal, never as the forecast (#27, item 8):
"Likes projected from the pace so far: 141" beside 85.8% for 1,000 likes read as a
contradiction."""

from __future__ import annotations

import math

import pytest

from features.catalog import BY_NAME, Language
from models.explain import Context, factor_text


@pytest.mark.parametrize(
    ("language", "said", "not_said"),
    [("en", "one signal, not the forecast", "projected"), ("zh", "不是预测", "按目前势头预计")],
)
def test_the_projection_factor_says_it_is_not_the_forecast(
    language: Language, said: str, not_said: str
) -> None:
    # given an early answer whose projection from the typical growth is 141 likes
    context = Context(1000, {}, False, frozenset(), language)
    # when the factor is said
    text = factor_text(BY_NAME["projected_likes_log"], math.log1p(141), 3.0, None, context, None)
    # then it names the number as one signal of the typical growth, not as the forecast
    assert "141" in text
    assert said in text
    assert not_said not in text.lower()
