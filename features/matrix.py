"""Raw rows -> the model's feature matrix and frame: the one code path for training, batch
and serving.

Rows that share a video share its draft and history features, computed once per video and
broadcast; engagement features are computed one at a time, each written into the matrix
before the next, so one is alive at a time instead of all of them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd

from features.arrays import RowArrays, VideoArrays, frame_arrays
from features.catalog import BY_NAME, Feature, Inputs, features_schema, inputs_of
from features.examples import Grid
from features.rows import EXAMPLE_COLUMNS, RAW_COLUMNS, VIDEO_COLUMNS
from features.spec import FeatureSpec, grid_index

_PER_VIDEO_COLUMNS = inputs_of("draft", "history")


@lru_cache(maxsize=16)
def _plan(features: tuple[str, ...]) -> tuple[list[tuple[int, Feature]], list[tuple[int, Feature]]]:
    """(per-video features, per-row features) of a feature list, with their columns.

    Raises:
        ValueError: a feature the catalogue does not declare.
    """
    unknown = [name for name in features if name not in BY_NAME]
    if unknown:
        raise ValueError(f"features not in the catalogue: {unknown}")
    placed = [(j, BY_NAME[name]) for j, name in enumerate(features)]
    per_video = [(j, f) for j, f in placed if f.group != "engagement"]
    return per_video, [(j, f) for j, f in placed if f.group == "engagement"]


def _per_video(arrays: RowArrays, codes: np.ndarray) -> VideoArrays:
    """The draft and history columns at each video's first row.

    ``codes`` number the videos in order of first appearance (``pd.factorize``), so a
    video's first row is where the running maximum of the codes grows: no sort needed.
    """
    reached = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.r_[True, reached[1:] > reached[:-1]])
    return {k: arrays[k][first] for k in _PER_VIDEO_COLUMNS}


def feature_matrix(
    arrays: RowArrays,
    spec: FeatureSpec,
    videos: tuple[VideoArrays, np.ndarray] | None = None,
    out: np.ndarray | None = None,
    clamped: bool = True,
) -> np.ndarray:
    """The model's input matrix, columns in the spec's order, categories as float codes.

    Rows that share a ``video_id`` share their draft and history (a video seen at several
    ages), so those features are computed once per video and broadcast: training rows repeat
    each video once per prediction age, and text work per row would dominate the cost.

    Args:
        arrays: the rows' raw arrays; only the observation columns when ``videos`` is given.
        spec: the fitted spec, whose feature list sets the columns.
        videos: the draft and history columns once per video, and each row's video (a
            ``Grid``), already apart.
        out: the matrix to fill (a block of rows of a larger one); a new one if None.
        clamped: values beyond the spec's training ranges set to the range's edge; False
            for a caller that first asks which were (``beyond``), then clamps.

    Raises:
        ValueError: ``out`` has the wrong shape, or the spec lists an unknown feature.
    """
    if videos is None and out is None and len(arrays["video_id"]) == 1:
        return _one_row(arrays, spec, clamped)
    if videos is None:
        ids = arrays["video_id"]
        codes = np.zeros(1, dtype=np.int64) if len(ids) == 1 else pd.factorize(ids)[0]
        once = len(codes) == 0 or codes.max() == len(codes) - 1
        per_video = arrays if once else _per_video(arrays, codes)
    else:
        (per_video, codes), once = videos, False
    # column-major: each feature is written as one contiguous run
    shape = (len(codes), len(spec.features))
    matrix = np.empty(shape, dtype="float64", order="F") if out is None else out
    if matrix.shape != shape:
        raise ValueError(f"out has shape {matrix.shape}, the features need {shape}")
    video_features, row_features = _plan(spec.features)
    with np.errstate(divide="ignore", invalid="ignore"):
        video_inputs = Inputs(per_video, spec)
        for j, feature in video_features:
            values = feature.transform(video_inputs)
            if once:
                matrix[:, j] = values
            else:  # per video -> per row, straight into the matrix
                # mode="clip": codes are in range, and "raise" would buffer the copy
                np.take(values, codes, out=matrix[:, j], mode="clip")
        del video_inputs
        row_inputs = Inputs(arrays, spec)
        for j, feature in row_features:
            matrix[:, j] = feature.transform(row_inputs)
    fill_unknown_rates(matrix, spec)
    if clamped:
        clamp(matrix, spec)
    return matrix


def _one_row(arrays: RowArrays, spec: FeatureSpec, clamped: bool) -> np.ndarray:
    """``feature_matrix`` of one row (a served request): the same transforms, given the
    row's values as numpy scalars, where numpy's per-call cost on one-element arrays
    would be most of the work. Scalars go through the same ufunc loops, so the values are
    the batch path's to the bit (tests/serving/test_one_row_parity.py)."""
    video_features, row_features = _plan(spec.features)
    row = np.empty((1, len(spec.features)), dtype="float64")
    # over: int64 scalars warn where arrays wrap silently (a blank time minus a time), and
    # the transforms discard that value either way
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inputs = Inputs({name: values[0] for name, values in arrays.items()}, spec)
        for j, feature in (*video_features, *row_features):
            row[0, j] = feature.transform(inputs)
    fill_unknown_rates(row, spec)
    if clamped:
        clamp(row, spec)
    return row


def fill_unknown_rates(matrix: np.ndarray, spec: FeatureSpec) -> None:
    """Blank rates of counted rows set, in place, to the median of their category and age
    in training (``FeatureSpec.rate_medians``): a blank is unknown, not the best case."""
    if not spec.rate_medians:
        return
    at = spec.positions
    counted = ~np.isnan(matrix[:, at["likes_log"]])
    if not counted.any():  # drafts: no count, no rate to fill
        return
    grid = np.array(sorted(spec.ages))
    for name, table in spec.rate_medians.items():
        j = at[name]
        blank = counted & np.isnan(matrix[:, j])
        if not blank.any():
            continue
        codes = matrix[blank, at["category"]]
        codes = np.where(np.isnan(codes), -1, codes).astype(int)
        ages = grid_index(matrix[blank, at["age_minutes"]], grid)
        matrix[blank, j] = np.asarray(table)[codes, ages]


def beyond(matrix: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Which values (rows x features) lie outside the spec's training ranges."""
    if spec.edges is None:
        return np.zeros(matrix.shape, dtype=bool)
    lows, highs = spec.edges
    with np.errstate(invalid="ignore"):
        return (matrix < lows) | (matrix > highs)


def clamp(matrix: np.ndarray, spec: FeatureSpec) -> None:
    """Values beyond the spec's training ranges set to the range's edge, in place (missing
    values and unranged features untouched)."""
    if spec.edges is None:
        return
    lows, highs = spec.edges
    # one call for the whole matrix (a loop over columns cost a request 0.25 ms); a missing
    # value stays missing, and an unranged feature (NaN edges) is left out by ``where``
    np.clip(matrix, lows, highs, out=matrix, where=~np.isnan(lows))


def feature_frame(
    matrix: np.ndarray, spec: FeatureSpec, index: pd.Index | None = None
) -> pd.DataFrame:
    """The matrix as a typed frame (category back to its labels), checked by the schema.

    Category leads the feature list, so the float columns are one zero-copy slice of the
    column-major matrix and the frame costs no copy of the data.
    """
    if spec.features[0] != "category":
        raise ValueError(f"feature list must start with category, got {spec.features[0]}")
    frame = pd.DataFrame(matrix[:, 1:], columns=list(spec.features[1:]), index=index, copy=False)
    codes = np.nan_to_num(matrix[:, 0], nan=-1).astype("int64")
    categories = pd.Index(list(spec.categories))
    # pandas-stubs leave Categorical out of insert's values; pandas takes any array-like
    frame.insert(0, "category", pd.Categorical.from_codes(codes, categories))  # type: ignore[arg-type]
    return features_schema(spec.features).validate(frame, inplace=True)


def build_features(rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Batch raw rows -> the model's feature frame; unseen categories become missing."""
    return feature_frame(feature_matrix(frame_arrays(rows, RAW_COLUMNS), spec), spec, rows.index)


def build_grid_features(grid: Grid, spec: FeatureSpec, threads: int) -> pd.DataFrame:
    """The training examples' feature frame: equal to ``build_features(grid.rows(), spec)``
    (tested), without the flat rows.

    The videos are split into ``threads`` runs whose rows are built at once, each into its
    own block of the matrix: numpy and Arrow release the GIL in their loops, and much of the
    time is the kernel handing out the matrix's memory, which threads also share out.
    """
    videos = frame_arrays(grid.videos, VIDEO_COLUMNS)
    observed = frame_arrays(grid.observed, EXAMPLE_COLUMNS)
    matrix = np.empty((len(grid), len(spec.features)), dtype="float64", order="F")

    def build(first: int, last: int) -> None:
        rows = slice(first * grid.ages, last * grid.ages)
        codes = np.repeat(np.arange(last - first), grid.ages)
        part = {name: values[first:last] for name, values in videos.items()}
        observed_part = {name: values[rows] for name, values in observed.items()}
        feature_matrix(observed_part, spec, (part, codes), out=matrix[rows])

    bounds = np.linspace(0, len(grid.videos), max(threads, 1) + 1).astype(int)
    with ThreadPoolExecutor(max(threads, 1)) as pool:
        list(pool.map(build, bounds[:-1], bounds[1:]))  # list(): re-raises a thread's error
    return feature_frame(matrix, spec, grid.observed.index)


def clamp_frame(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """A feature frame with values beyond the spec's training ranges set to their edges."""
    if spec.edges is None:
        return frame
    lows, highs = spec.edges
    clipped = {
        name: frame[name].clip(lows[j], highs[j])
        for j, name in enumerate(spec.features)
        if not np.isnan(lows[j])
    }
    return frame.assign(**clipped)
