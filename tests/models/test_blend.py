"""The blend: never worse than the simple rules, leaning on whichever knows better, with
intervals that hold their probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.blend import GROUP, INPUTS, KNOTS, LEVEL, MIN_AGE_ROWS, Blend, _range, fit_blend
from models.estimator import to_matrix
from training.train import BASELINES, TrainOutcome

MIN_ROWS = 100  # test rows an age needs before its metrics say anything


def _ages_with_evidence(trained: TrainOutcome) -> list[str]:
    table = trained.tables["lightgbm"]
    return [
        a
        for a in table.index
        if table.loc[a, "n"] >= MIN_ROWS and table.loc[a, "positive_rate"] > 0
    ]


@pytest.mark.parametrize("baseline", ["szabo_huberman", "logistic"])
def test_the_served_answer_is_never_worse_than_a_baseline_at_any_age(
    trained: TrainOutcome, baseline: str
) -> None:
    # given the test slice's metrics by age, of the served answers and of the baseline
    ours, theirs = trained.tables["lightgbm"], trained.tables[baseline]
    # then at every age with enough rows, its log loss is no worse (a hair of noise allowed)
    for age in _ages_with_evidence(trained):
        assert ours.loc[age, "log_loss"] <= theirs.loc[age, "log_loss"] * 1.01 + 1e-3, age


@pytest.mark.slow  # five blends fitted on the whole test slice
def test_the_blend_leans_on_the_baselines_when_lightgbm_knows_nothing(
    trained: TrainOutcome,
) -> None:
    # given held-out rows whose LightGBM log-odds are replaced by noise, five times over
    blend = trained.bundle.calibrator
    assert isinstance(blend, Blend)
    matrix = to_matrix(trained.test_features)
    y = trained.test_predictions["y"]
    videos = trained.test_rows["video_id"].to_numpy()
    spec = trained.bundle.spec
    weights = []
    for seed in range(5):
        noise = np.random.default_rng(seed).normal(size=len(y))
        # when a blend is fitted on them
        fitted = fit_blend(matrix, noise, y, videos, spec, blend.logistic, blend.prior)
        weights.append([age.weights for age in fitted.ages])
    # then the baselines carry every age, the noise at most a little on average (a few
    # hundred videos an age leave room for some chance fit in any one draw)
    mean = dict(zip(INPUTS, np.mean(weights, axis=0).T, strict=True))
    ages = [age.age for age in fitted.ages]
    assert (mean["lightgbm"] < 0.25).all(), dict(zip(ages, mean["lightgbm"], strict=True))
    assert (mean["szabo_huberman"] + mean["logistic"] > 2 * mean["lightgbm"]).all()


def test_weights_are_never_negative_so_answers_stay_monotone(trained: TrainOutcome) -> None:
    blend = trained.bundle.calibrator
    assert isinstance(blend, Blend)
    assert all(w >= 0 for age in blend.ages for w in age.weights)


def test_a_blend_answers_the_same_after_a_json_round_trip(trained: TrainOutcome) -> None:
    # given the trained blend, saved and read back
    blend = trained.bundle.calibrator
    assert isinstance(blend, Blend)
    again = Blend.from_json(blend.to_json())
    # then it answers and bounds every test row exactly as before
    matrix = to_matrix(trained.test_features)
    log_odds = trained.bundle.booster.predict(matrix, raw_score=True)
    spec = trained.bundle.spec
    p = blend.probability(matrix, log_odds, spec)
    assert np.array_equal(again.probability(matrix, log_odds, spec), p)
    ages = matrix[:, spec.positions["age_minutes"]]
    assert all(
        np.array_equal(a, b)
        for a, b in zip(again.interval(p, ages), blend.interval(p, ages), strict=True)
    )


def test_every_interval_holds_its_probability(trained: TrainOutcome) -> None:
    # given the served answers to the test rows
    answers = trained.bundle.answer_rows(trained.test_rows.drop(columns="label"))
    # then each interval lies in [0, 1] around its probability, a point where counts decide
    assert ((answers.low >= 0) & (answers.low <= answers.probability)).all()
    assert ((answers.high <= 1) & (answers.high >= answers.probability)).all()
    decided = answers.decided
    assert np.array_equal(answers.low[decided], answers.probability[decided])


def test_intervals_hold_the_hit_rate_of_most_groups_of_alike_videos(
    trained: TrainOutcome,
) -> None:
    # given the test rows of each age, sorted by probability into groups of 100
    matrix = to_matrix(trained.test_features)
    p, y = trained.test_predictions["lightgbm"], trained.test_predictions["y"]
    low, high = trained.bundle.interval(matrix, p)
    ages = trained.test_predictions["age_minutes"]
    held = []
    for age in np.unique(ages):
        order = np.flatnonzero(ages == age)[np.argsort(p[ages == age], kind="stable")]
        for group in np.array_split(order, max(1, len(order) // 100)):
            held.append(low[group].mean() <= y[group].mean() <= high[group].mean())
    # then the 80% intervals hold the observed rate of at least 80% of the groups
    assert np.mean(held) >= 0.8, f"{np.mean(held):.2f} of {len(held)} groups"


def test_a_baseline_table_exists_for_each_name(trained: TrainOutcome) -> None:
    assert set(BASELINES) <= set(trained.tables)
    assert isinstance(trained.tables["lightgbm"], pd.DataFrame)


@pytest.mark.parametrize("evidence", [0.5, 3.0, 40.0, 977.0, 250_000.0])
def test_interval_quantiles_are_scipys_beta_binomial_quantiles(evidence: float) -> None:
    # given scipy's own quantiles of the beta-binomial the intervals rest on
    from scipy.stats import betabinom

    knots = np.array(KNOTS)
    group = betabinom(GROUP, knots * evidence, (1 - knots) * evidence)
    tail = (1 - LEVEL) / 2
    # when the blend computes its table of them
    low, high = _range(evidence)
    # then they are the same, knot by knot
    assert low == tuple(group.ppf(tail) / GROUP)
    assert high == tuple(group.ppf(1 - tail) / GROUP)


@pytest.mark.parametrize("drafts", [None, MIN_AGE_ROWS - 1], ids=["own-fit", "all-ages-fit"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_drafts_are_still_ranked_when_no_fitted_blend_beats_the_rule(
    trained: TrainOutcome, drafts: int | None, seed: int
) -> None:
    # given draft rows (the early-count rule answers them all the base rate) whose labels
    # are coin flips at the base rate, so no fitted blend is measurably better than the rule:
    # all the test drafts (the age has its own fit) or too few for one (the all-ages fit)
    blend = trained.bundle.calibrator
    assert isinstance(blend, Blend)
    spec = trained.bundle.spec
    matrix = to_matrix(trained.test_features)
    at_zero = matrix[:, spec.positions["age_minutes"]] == 0
    matrix = matrix[at_zero][:drafts]
    log_odds = trained.bundle.booster.predict(matrix, raw_score=True)
    y = (np.random.default_rng(seed).random(len(matrix)) < blend.prior).astype(float)
    videos = trained.test_rows["video_id"].to_numpy()[at_zero][:drafts]
    # when a blend is fitted on them
    fitted = fit_blend(matrix, log_odds, y, videos, spec, blend.logistic, blend.prior)
    # then the drafts are answered in LightGBM's order, not all alike (ROC AUC 0.5)
    p = fitted.probability(matrix, log_odds, spec)
    assert np.unique(p).size > len(p) // 2
    assert np.corrcoef(p, log_odds)[0, 1] > 0.9
