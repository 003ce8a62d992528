"""How reliable an answer is, in words: bands, ages in words, the bucket an age falls in."""

from __future__ import annotations

import numpy as np
import pytest

from serving.core.reliability import age_in_words, band, bucket_reliability, reliabilities

GRID = (0.0, 30.0, 60.0, 1440.0)
BY_AGE = {
    "0": {"roc_auc": 0.64, "n": 1500.0},
    "30": {"roc_auc": 0.9, "n": 120.0},
    "60": {"roc_auc": None, "n": 40.0},  # a single class at this age
}


@pytest.mark.parametrize(
    ("auc", "word"),
    [(0.3, "no better than guessing"), (0.549, "no better than guessing"), (0.55, "rough"),
     (0.64, "rough"), (0.7, "fair"), (0.849, "fair"), (0.85, "good"),
     (0.95, "very reliable"), (1.0, "very reliable")],
)  # fmt: skip
def test_each_auc_gets_the_word_of_its_band(auc: float, word: str) -> None:
    assert band(auc) == word


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(15, "15 minutes"), (60, "1 hour"), (360, "6 hours"), (1440, "1 day"),
     (5760, "4 days"), (90, "90 minutes")],
)  # fmt: skip
def test_a_grid_age_is_said_as_a_creator_says_it(minutes: float, words: str) -> None:
    assert age_in_words(minutes) == words


def test_a_measured_age_states_its_auc_and_test_videos_in_a_sentence() -> None:
    # given the test figures of a draft (age 0)
    table = bucket_reliability(BY_AGE, GRID, 1000)
    # when its reliability is worded
    draft = table[0.0]
    # then it names the band, the share of pairs ranked right and the threshold
    assert (draft["band"], draft["roc_auc"], draft["test_videos"]) == ("rough", 0.64, 1500)
    assert draft["text"].startswith("Predictions before posting are rough")
    assert "reach 1,000 likes above one that did not 64% of the time" in draft["text"]
    assert "itself rough" not in draft["text"]


def test_few_test_videos_are_said_to_make_the_figure_uncertain() -> None:
    table = bucket_reliability(BY_AGE, GRID, 1000)
    assert table[30.0]["text"].startswith("Predictions from 30 minutes after posting are good")
    assert table[30.0]["text"].endswith("With so few test videos, that figure is itself rough.")


@pytest.mark.parametrize(
    ("by_age", "age", "why"),
    [
        (None, 0.0, "saved without test results by age"),
        (BY_AGE, 60.0, "all went the same way"),  # no AUC: one class
        (BY_AGE, 1440.0, "no test video was still open"),  # no test rows at all
    ],
)
def test_an_age_without_a_test_figure_is_unknown(by_age, age: float, why: str) -> None:
    reliability = bucket_reliability(by_age, GRID, 1000)[age]
    assert reliability["band"] == "unknown"
    assert reliability["roc_auc"] is None
    assert why in reliability["text"]


def test_an_answer_is_judged_at_the_grid_age_at_or_below_its_age() -> None:
    # given answers at 0, 45 and 29.9 minutes, and one at 45 the counts decided
    table = bucket_reliability(BY_AGE, GRID, 1000)
    ages = np.array([0.0, 45.0, 29.9, 45.0])
    decided = np.array([False, False, False, True])
    # when each answer's reliability is looked up
    found = reliabilities(table, ages, decided)
    # then each gets its bucket's, and the decided one is a fact, not an estimate
    assert [r["age_bucket_minutes"] for r in found] == [0.0, 30.0, 0.0, 30.0]
    assert [r["band"] for r in found] == ["rough", "good", "rough", "settled"]
    assert "settle the outcome" in found[3]["text"]


@pytest.mark.parametrize(
    ("minutes", "words"), [(15, "15 分钟"), (60, "1 小时"), (360, "6 小时"), (5760, "4 天")]
)
def test_a_grid_age_in_chinese(minutes: float, words: str) -> None:
    assert age_in_words(minutes, "zh") == words


def test_every_reliability_sentence_has_a_chinese_twin() -> None:
    # given the same test figures worded in English and in Chinese
    english = bucket_reliability(BY_AGE, GRID, 1000, "en")
    chinese = bucket_reliability(BY_AGE, GRID, 1000, "zh")
    # then only the sentence differs: the band stays a stable key
    for age in GRID:
        assert {k: v for k, v in chinese[age].items() if k != "text"} == {
            k: v for k, v in english[age].items() if k != "text"
        }
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese[age]["text"])
    assert chinese[0.0]["text"].startswith("发布前的预测比较粗略")
    assert "64%" in chinese[0.0]["text"]
    assert "1,000 赞" in chinese[0.0]["text"]
    assert chinese[30.0]["text"].startswith("发布 30 分钟后起的预测可靠")
    assert chinese[30.0]["text"].endswith("这个数字本身也不太准。")
    assert "测试视频结果全都一样" in chinese[60.0]["text"]
    settled = reliabilities(chinese, np.array([45.0]), np.array([True]), "zh")[0]
    assert settled["text"] == "这不是估计：目前的数据已经决定了结果。"
