"""The answers a monitor command judges: the log's window, and where its summary goes."""

from __future__ import annotations

import fcntl
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from features.prediction_log import log_folder, read_log
from likecast.atomic import write_text
from likecast.errors import UserError

MONITORING = "monitoring"
LAST = "last.json"


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


def last_path(home: Path) -> Path:
    return home / MONITORING / LAST


def record_last(home: Path, key: str, summary: dict[str, Any]) -> Path:
    """Replace ``key`` of ``home/monitoring/last.json`` (what ``/metrics`` shows), keeping the
    other checks' keys; written atomically, so a reader never sees half of it, and under a
    lock, so two checks finishing at once do not drop each other's key."""
    path = last_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{LAST}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = {}
        if not isinstance(current, dict):
            current = {}
        current[key] = summary
        write_text(json.dumps(current, indent=2, allow_nan=False), path)
    return path
