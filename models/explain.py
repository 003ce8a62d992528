"""Explanations in a creator's words: which factors pushed the probability up or down.

Contributions are LightGBM's exact per-feature SHAP values (log-odds). They are computed
only when a request asks, because they cost far more than the prediction itself. Each
feature's words and the way its value is shown come from the feature catalogue, in English
(the default) or Chinese.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalog import BY_NAME, Language, Words

TOP = 3
TYPICAL_FEATURES = ("completion_rate", "retention_3s")
TECHNICAL = ("age_minutes", "minutes_since_obs")
UNKNOWN = Words("unknown", "未知")
ABOVE = Words("above typical", "高于常见水平")
BELOW = Words("below typical", "低于常见水平")
# Chinese punctuation is full-width on purpose
COMPARED = Words(", {side}", "，{side}")  # noqa: RUF001
FOR_CATEGORY = Words(" for {}", "（{}类）")  # noqa: RUF001


def typical_values(features: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Median of each engagement rate by category (and overall), for 'above typical' words."""
    out: dict[str, dict[str, float]] = {}
    for name in TYPICAL_FEATURES:
        column = features[name]
        medians = column.groupby(features["category"], observed=True).median().dropna()
        out[name] = {str(k): float(v) for k, v in medians.items()}
        if column.notna().any():
            out[name]["_all"] = float(column.median())
    return out


def describe(
    name: str,
    value: object,
    category: object,
    typical: dict[str, dict[str, float]],
    language: Language = "en",
) -> str:
    """One factor in plain words: its name, its value, and how it compares with typical."""
    feature = BY_NAME.get(name)
    label = feature.words[language] if feature else name.replace("_", " ")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f"{label} {UNKNOWN[language]}"
    shown = feature.show(value, language) if feature else str(value)  # type: ignore[arg-type]
    text = f"{label} {shown}"
    known = typical.get(name, {})
    where = str(category) if isinstance(category, str) and category in known else "_all"
    if where in known:
        side = ABOVE if float(value) > known[where] else BELOW  # type: ignore[arg-type]
        text += COMPARED[language].format(side=side[language])
        if where != "_all":
            text += FOR_CATEGORY[language].format(where)
    return text


def top_factors(
    features: pd.Series,
    contributions: pd.Series,
    typical: dict[str, dict[str, float]],
    language: Language = "en",
) -> dict[str, list[dict]]:
    """The strongest pushes up and down, each named in plain words with its value.

    Args:
        features: one row of the feature frame.
        contributions: its SHAP values, with the base value as ``_base``.
        typical: ``typical_values`` of the training set, as the bundle keeps them.
        language: ``en`` or ``zh``, the language of each factor's ``text``.
    """
    # A draft's engagement features are all missing: their pushes only say "this is a
    # draft", which a creator cannot act on. Show factors that have a value.
    given = [n for n in features.index if not pd.isna(features[n]) and n not in TECHNICAL]
    pushes = contributions.drop("_base")[given]
    category = features.get("category")
    category = None if pd.isna(category) else str(category)

    def pick(ordered: pd.Series) -> list[dict]:
        return [
            {
                "feature": name,
                "contribution": float(push),
                "text": describe(name, features[name], category, typical, language),
            }
            for name, push in zip(ordered.index.astype(str), ordered.to_numpy(), strict=True)
        ]

    return {
        "up": pick(pushes[pushes > 0].sort_values(ascending=False).head(TOP)),
        "down": pick(pushes[pushes < 0].sort_values().head(TOP)),
    }
