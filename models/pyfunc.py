"""The MLflow pyfunc face of a bundle, for data scientists and `mlflow models` tooling.

Logged with ``loader_module`` and ``data_path`` (the bundle folder), so MLflow stores plain
files and loading imports this module instead of unpickling an object. The service never uses
this path: it loads the bundle into native LightGBM directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.arrays import TEXT_COLUMNS, TIME_COLUMNS
from features.rows import RAW_COLUMNS
from models.bundle import ModelBundle


def to_wire(rows: pd.DataFrame) -> pd.DataFrame:
    """Raw rows in plain JSON types (ISO strings, floats): the pyfunc's signature schema.

    A pandas category or nullable Int64 column breaks MLflow signatures, so none goes out.
    """
    out = pd.DataFrame(index=rows.index)
    for name in RAW_COLUMNS:
        column = rows[name]
        if name in TIME_COLUMNS:
            stamps = pd.to_datetime(column, utc=True)
            out[name] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S%z").fillna("").astype(object)
        elif name in TEXT_COLUMNS:
            out[name] = column.astype("string").fillna("").astype(object)
        else:
            out[name] = pd.to_numeric(column.astype("Float64"), errors="coerce").astype("float64")
    return out.reset_index(drop=True)


def from_wire(wire: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's plain-typed input back as raw rows (times and missing text restored)."""
    rows = wire.copy()
    for name in TIME_COLUMNS:
        rows[name] = pd.to_datetime(rows[name].replace("", None), utc=True, format="ISO8601")
    for name in TEXT_COLUMNS:
        # pandas-stubs reject NA as a replacement value; pandas takes it
        rows[name] = rows[name].astype("string").replace("", pd.NA)  # type: ignore[call-overload]
    return rows


class BundlePyfunc:
    """A bundle behind MLflow's pyfunc interface: raw rows in, probabilities out."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle

    def predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        """Probabilities, one per row (never class labels)."""
        return self.bundle.predict_rows(from_wire(pd.DataFrame(model_input)))


def _load_pyfunc(data_path: str) -> BundlePyfunc:
    """MLflow's loader_module hook."""
    return BundlePyfunc(ModelBundle.load(Path(data_path)))
