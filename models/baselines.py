"""The baselines LightGBM has to beat, evaluated on the same split.

- Szabo-Huberman: the early count, projected log-linearly to the horizon, with the spread of
  that projection turned into a probability; the classic early-popularity baseline.
- Logistic regression on the same features: does boosting earn its complexity?
- The creator's own historical hit rate: what a creator would guess from their past.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from features.spec import FeatureSpec


def szabo_huberman(features: pd.DataFrame, spec: FeatureSpec, prior: float) -> np.ndarray:
    """P(ln(1+N_h) >= ln(1+T)) with ln(1+N_h) ~ Normal(projection, sigma(age)).

    A draft has no early count, so it gets the training base rate.
    """
    projected = features["projected_likes_log"].to_numpy()
    obs_age = (features["age_minutes"] - features["minutes_since_obs"]).to_numpy()
    sigma = spec.szabo_huberman_sigma(np.nan_to_num(obs_age, nan=1.0))
    z = (projected - np.log1p(spec.threshold)) / sigma
    p = np.where(np.isnan(projected), prior, ndtr(np.nan_to_num(z)))
    return np.clip(p, 1e-6, 1 - 1e-6)


def creator_hit_rate(features: pd.DataFrame, prior: float, strength: float = 5.0) -> np.ndarray:
    """The creator's recent hit rate, shrunk toward the base rate when history is short."""
    n = np.minimum(features["hist_videos"].to_numpy(), 30.0)
    rate = np.nan_to_num(features["hist_hit_rate"].to_numpy(), nan=prior)
    return np.clip((rate * n + prior * strength) / (n + strength), 1e-6, 1 - 1e-6)


# One BLAS thread: on fits this small, waking OpenBLAS's second thread for each small
# product costs more than it saves.
@threadpool_limits.wrap(limits=1, user_api="blas")
def fit_logistic(features: pd.DataFrame, y: np.ndarray, seed: int):
    """Median-imputed, standardized, one-hot categories; missingness is itself a signal."""
    numeric = [c for c in features.columns if c != "category"]
    prep = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["category"],
            ),
        ]
    )
    model = make_pipeline(prep, LogisticRegression(max_iter=500, C=1.0, random_state=seed))
    return model.fit(_for_sklearn(features), y)


def predict_logistic(model, features: pd.DataFrame) -> np.ndarray:
    return np.clip(model.predict_proba(_for_sklearn(features))[:, 1], 1e-6, 1 - 1e-6)


def _for_sklearn(features: pd.DataFrame) -> pd.DataFrame:
    out = features.copy()
    out["category"] = out["category"].astype(object).where(out["category"].notna(), "missing")
    return out
