"""One row at a time through LightGBM's single-row C API, for the service's hot path.

``Booster.predict`` sets a predictor up on every call (parameters parsed, buffers sized,
an OpenMP region entered); ``LGBM_BoosterPredictForMatSingleRowFast`` does that set-up once,
in ``...FastInit``, and then scores each row for a fraction of the cost. The HTTP service
predicts one draft per request, so the difference is per request. LightGBM's Python package
does not wrap this part of its C API; its ctypes handle to the library reaches it.
"""

from __future__ import annotations

import ctypes
import weakref

import lightgbm as lgb
import numpy as np
from lightgbm.basic import _LIB, _safe_call

RAW_SCORE = 1  # C_API_PREDICT_RAW_SCORE
FLOAT64 = 1  # C_API_DTYPE_FLOAT64


def _free(config: ctypes.c_void_p) -> None:
    _safe_call(_LIB.LGBM_FastConfigFree(config))


class RowScorer:
    """Log-odds scores of single rows, with the same trees ``Booster.predict`` would use."""

    def __init__(self, booster: lgb.Booster) -> None:
        # A copy of its own: LightGBM keeps the tree range of the last prediction in the
        # booster, and the fast path reads it, so one prediction elsewhere on the same
        # booster with other trees would change every answer after it. The fast config
        # points into the copy: it lives as long as the scorer.
        self._booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=-1))
        self._columns = booster.num_feature()
        self._config = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                self._booster._handle,
                ctypes.c_int(RAW_SCORE),
                ctypes.c_int(0),  # start at the first tree
                ctypes.c_int(booster.best_iteration),  # as Booster.predict: 0 = every tree
                ctypes.c_int(FLOAT64),
                ctypes.c_int32(self._columns),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        weakref.finalize(self, _free, self._config)

    def log_odds(self, row: np.ndarray) -> float:
        """The row's raw score (log-odds, before calibration)."""
        row = np.ascontiguousarray(row, dtype=np.float64)
        if row.shape != (self._columns,):
            raise ValueError(f"expected {self._columns} features, got shape {row.shape}")
        out = ctypes.c_double()
        written = ctypes.c_int64()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self._config,
                ctypes.c_void_p(row.ctypes.data),
                ctypes.byref(written),
                ctypes.byref(out),
            )
        )
        return out.value
