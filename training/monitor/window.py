"""The answers a monitor command judges: the log's window."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from features.prediction_log import log_folder, read_log
from likecast.errors import UserError


def read_window(home: Path, since: datetime | None, until: datetime | None) -> pd.DataFrame:
    """The logged answers with ``since <= logged_at < until``; a UserError when there are none
    (nothing to judge is the user's to fix: a wrong home or window)."""
    folder = log_folder(home)
    read = read_log(folder, since, until)
    if read.answers.empty:
        window = f" between {since or 'the start'} and {until or 'now'}" if since or until else ""
        raise UserError(f"{folder}: no logged answers{window}; is LIKECAST_HOME right?")
    answers = read.answers
    answers["model_version"] = answers["model_version"].astype(str)
    return answers
