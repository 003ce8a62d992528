"""The split by posting time: later videos calibrate and test, earlier ones train."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from likecast.errors import UserError
from training.split import DEFAULT_SHARES, SLICES, split_by_time


def _labeled(n: int, seed: int = 5) -> pd.DataFrame:
    """``n`` videos one hour apart, in shuffled order, with labels alternating by time."""
    order = np.random.default_rng(seed).permutation(n)
    posted = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(order, unit="h")
    return pd.DataFrame(
        {"video_id": [f"v{i:05d}" for i in order], "posted_at": posted, "label": order % 2}
    )


@pytest.mark.parametrize("n", [200, 1_000, 4_321])
def test_slices_follow_posting_time_in_the_videos_own_order(n: int) -> None:
    # given labeled videos that do not come in posting order
    labeled = _labeled(n)
    # when they are split
    split = split_by_time(labeled)
    # then each video's slice is given in its own row, and each slice is posted after the last
    ranks = labeled["posted_at"].rank(method="first").to_numpy()
    for earlier, later in pairwise(SLICES):
        assert ranks[split.slices == earlier].max() < ranks[split.slices == later].min()
    # and the slices hold their shares of the videos
    for name, share in DEFAULT_SHARES.items():
        assert (split.slices == name).mean() == pytest.approx(share, abs=1 / n + 1e-9)
    first_test = labeled["posted_at"][split.slices == "test"].min()
    assert split.cutoffs["test"] == str(first_test)


@pytest.mark.parametrize("label", [0, 1])
def test_a_slice_with_one_class_is_refused(label: int) -> None:
    # given videos that all share one outcome
    labeled = _labeled(500).assign(label=label)
    # when they are split, then the error names the slice, its class and what to change
    with pytest.raises(
        UserError, match=f"the train slice has a single class \\({label}\\).*--threshold"
    ):
        split_by_time(labeled)


def test_too_few_videos_are_refused() -> None:
    # given fewer labeled videos than the split needs
    # when they are split, then the error says how many there are and how many it needs
    with pytest.raises(UserError, match="only 199 labeled videos; training needs at least 200"):
        split_by_time(_labeled(199))
