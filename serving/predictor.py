"""Requests -> raw rows -> the shared feature step -> native LightGBM -> answers.

Kept free of HTTP so the same object answers the service, tests and the parity check.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from features.observations import HISTORY_COLUMNS, RAW_COLUMNS
from features.pipeline import feature_frame, feature_matrix, raw_records
from features.settings import Settings
from features.store import CreatorStore
from models.explain import top_factors
from serving.schemas import (
    Draft,
    DurationOption,
    Early,
    HourOption,
    Prediction,
    WhatIf,
)
from training.registry import LoadedModel, load_model

log = logging.getLogger("likecast.serving")
WHATIF_DURATIONS = (10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0)


BLANK_ROW = dict.fromkeys(RAW_COLUMNS, np.nan)  # what a request does not say is missing


def _utc(stamp: datetime, zone: str) -> datetime:
    """A request's time in UTC; a time without an offset is read in the creator's zone.

    Plain datetimes, not pandas Timestamps: a batch builds a thousand of these, and a
    wall-clock time that a DST change makes ambiguous takes its first occurrence instead
    of failing the request.
    """
    local = stamp.replace(tzinfo=ZoneInfo(zone)) if stamp.tzinfo is None else stamp
    return local.astimezone(UTC)


@dataclass
class Predictor:
    """One loaded model plus the creator store: everything a request needs."""

    loaded: LoadedModel
    store: CreatorStore
    settings: Settings
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def version(self) -> str:
        return self.loaded.version or "local"

    # -- rows ---------------------------------------------------------------------------

    def histories(self, requests: list[Draft]) -> dict[str, dict[str, object]]:
        """The store's history of each requester, in one query for a whole batch."""
        return self.store.get_many({r.creator_id for r in requests})

    def history_for(
        self, request: Draft, posted_at: datetime, stored: dict[str, object] | None
    ) -> tuple[dict, str]:
        values: dict[str, object] = (
            dict(stored)
            if stored
            else {
                "hist_videos": 0.0,
                "hist_median_likes": np.nan,
                "hist_p90_likes": np.nan,
                "hist_hit_rate": np.nan,
                "hist_last_posted_at": None,
            }
        )
        given = request.history.model_dump(exclude_none=True) if request.history else {}
        had_request = bool(given)
        if "hist_days_since_prev_post" in given:
            days = given.pop("hist_days_since_prev_post")
            values["hist_last_posted_at"] = posted_at - timedelta(days=days)
        values.update(given)
        source = (
            "store+request"
            if stored and had_request
            else "request"
            if had_request
            else "store"
            if stored
            else "cold_start"
        )
        return values, source

    def row(self, request: Draft, histories: dict[str, dict[str, object]]) -> tuple[dict, str]:
        """The raw row of one request, in the exact shape training rows have.

        ``histories`` are the store's answers for the requests at hand (``histories()``).
        """
        zone = request.timezone or self.settings.timezone
        age = 0.0
        if isinstance(request, Early):
            if request.observed_at is not None:
                observed = _utc(request.observed_at, zone)
                posted = _utc(request.posted_at, zone) if request.posted_at else None
                if posted is None:
                    raise ValueError("posted_at is required with observed_at")
                age = (observed - posted).total_seconds() / 60.0
                if age <= 0:
                    raise ValueError("observed_at must be after posted_at")
            else:
                age = float(request.age_minutes)
                posted = (
                    _utc(request.posted_at, zone)
                    if request.posted_at
                    else datetime.now(UTC) - timedelta(minutes=age)
                )
        else:
            posted = _utc(request.posted_at, zone) if request.posted_at else datetime.now(UTC)
        history, source = self.history_for(request, posted, histories.get(request.creator_id))
        row: dict[str, object] = dict(BLANK_ROW)
        row.update(
            creator_id=request.creator_id,
            category=request.category,
            duration_s=request.duration_s,
            posted_at=posted,
            caption=request.caption,
            hashtags=request.hashtags,
            creator_followers=request.creator_followers,
            music_trending=request.music_trending,
            age_minutes=age,
            **{k: history[k] for k in HISTORY_COLUMNS},
        )
        if isinstance(request, Early):
            row.update(
                obs_age_minutes=age,
                views=request.views,
                likes=request.likes,
                comments=request.comments,
                replies=request.replies,
                shares=request.shares,
                follows=request.follows,
                completion_rate=request.completion_rate,
                retention_3s=request.retention_3s,
            )
            earlier = sorted(request.earlier, key=lambda s: s.age_minutes, reverse=True)
            for lag, snap in zip((1, 2), earlier, strict=False):
                row[f"lag{lag}_age_minutes"] = snap.age_minutes
                row[f"lag{lag}_likes"] = snap.likes
        return row, source

    def features(self, rows: list[dict]) -> np.ndarray:
        """Request rows -> the model's feature matrix, by the same code batch rows take."""
        # every request row is its own video (the pipeline shares draft features by id)
        raw = raw_records([{**row, "video_id": i} for i, row in enumerate(rows)])
        return feature_matrix(raw, self.loaded.bundle.spec)

    # -- answers ------------------------------------------------------------------------

    def predict(
        self, requests: list[Draft], built: list[tuple[dict, str]] | None = None
    ) -> list[Prediction]:
        """Answers in order; ``built`` are the requests' rows when the caller made them."""
        return [Prediction.model_validate(a) for a in self.answers(requests, built)]

    def answers(
        self, requests: list[Draft], built: list[tuple[dict, str]] | None = None
    ) -> list[dict]:
        """Answers as plain dicts in the shape of ``Prediction``.

        A batch validates a thousand of these in one call (``BatchResponse``) instead of
        building three models per item, which was a fifth of its time.
        """
        if built is None:
            histories = self.histories(requests)
            built = [self.row(r, histories) for r in requests]
        bundle = self.loaded.bundle
        matrix = self.features([row for row, _ in built])
        probabilities = bundle.predict_matrix(matrix)
        explain = [i for i, r in enumerate(requests) if r.explain]
        factors = {}
        if explain:
            features = feature_frame(matrix, bundle.spec)
            contributions = bundle.contributions(features.iloc[explain])
            typical = bundle.meta.get("typical", {})
            for position, i in enumerate(explain):
                factors[i] = top_factors(features.iloc[i], contributions.iloc[position], typical)
        return [
            self._answer(row, source, float(p), factors.get(i))
            for i, ((row, source), p) in enumerate(zip(built, probabilities, strict=True))
        ]

    def _answer(self, row: dict, source: str, p: float, factors: object) -> dict:
        spec = self.loaded.bundle.spec
        last = row["hist_last_posted_at"]
        days = None if last is None else (row["posted_at"] - last).total_seconds() / 86400
        return {
            "probability": p,
            "threshold": spec.threshold,
            "horizon_days": spec.horizon_minutes / 1440,
            "age_minutes": float(row["age_minutes"]),
            "model_version": self.version,
            "history": {
                "source": source,
                "hist_videos": float(row["hist_videos"]),
                **{
                    k: (None if row[k] != row[k] else float(row[k]))  # NaN -> None
                    for k in ("hist_median_likes", "hist_p90_likes", "hist_hit_rate")
                },
                "hist_days_since_prev_post": days,
            },
            "factors": factors,
        }

    def whatif(self, draft: Draft) -> WhatIf:
        """The same draft at each hour of the next day and at a few durations."""
        base, _ = self.row(draft, self.histories([draft]))
        zone = draft.timezone or self.settings.timezone
        start = pd.Timestamp(base["posted_at"]).tz_convert(zone).floor("h")
        hours = [start + timedelta(hours=h) for h in range(24)]
        rows = [{**base, "posted_at": h.tz_convert("UTC")} for h in hours]
        rows += [{**base, "duration_s": d} for d in WHATIF_DURATIONS]
        rows.append(base)
        p = self.loaded.bundle.predict_matrix(self.features(rows))
        hour_options = [
            HourOption(posted_at=h.to_pydatetime(), local_hour=h.hour, probability=float(p[i]))
            for i, h in enumerate(hours)
        ]
        duration_options = [
            DurationOption(duration_s=d, probability=float(p[24 + i]))
            for i, d in enumerate(WHATIF_DURATIONS)
        ]
        return WhatIf(
            current=float(p[-1]),
            hours=hour_options,
            durations=duration_options,
            best_hour=max(hour_options, key=lambda o: o.probability),
            best_duration=max(duration_options, key=lambda o: o.probability),
            model_version=self.version,
        )

    def describe(self) -> dict:
        bundle = self.loaded.bundle
        return {
            "model_version": self.version,
            "model_uri": self.loaded.uri,
            "run_id": self.loaded.run_id,
            "loaded_at": self.loaded_at,
            "threshold": bundle.spec.threshold,
            "horizon_days": bundle.spec.horizon_minutes / 1440,
            "features": list(bundle.spec.features),
            "categories": list(bundle.spec.categories),
            "metrics": bundle.meta.get("metrics", {}),
            "trained_at": bundle.meta.get("trained_at"),
            "store_creators": self.store.creators(),
        }


class ModelHolder:
    """The served Predictor, swapped atomically when the champion alias moves.

    A request takes ``holder.current`` once and uses that object to the end, so requests in
    flight finish on the model they started with while a new one loads in the background.
    """

    def __init__(self, settings: Settings, model_uri: str | None) -> None:
        self.settings = settings
        self.model_uri = model_uri
        self.current: Predictor | None = None
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rejected: str | None = None  # a version that failed; not retried until it moves

    @property
    def follows_registry(self) -> bool:
        return self.model_uri is None or self.model_uri.startswith("models:/")

    def load(self) -> Predictor:
        loaded = load_model(self.model_uri, self.settings)
        predictor = Predictor(loaded, CreatorStore(self.settings.store_path), self.settings)
        self._validate(predictor)
        return predictor

    @staticmethod
    def _validate(predictor: Predictor) -> None:
        """A model that cannot answer a plain draft never replaces a working one."""
        answer = predictor.predict(
            [Draft(creator_id="validation", category="food", duration_s=30.0)]
        )[0]
        if not 0.0 <= answer.probability <= 1.0:
            raise ValueError(f"validation draft got probability {answer.probability}")

    def reload(self) -> dict:
        """Load the model the URI names now; swap only if it differs and works."""
        with self._lock:
            before = self.current.version if self.current else None
            try:
                fresh = self.load()
            except Exception as exc:  # any failure keeps the old model serving
                event = {"event": "reload_failed", "serving": before, "error": str(exc)[:500]}
                log.error("model reload failed, still serving %s: %s", before, exc)
            else:
                if self.current is not None and self.follows_registry and fresh.version == before:
                    event = {"event": "unchanged", "serving": before}
                else:
                    self.current = fresh
                    event = {"event": "swapped", "from": before, "to": fresh.version}
                    log.warning("now serving model version %s (was %s)", fresh.version, before)
            event["at"] = datetime.now(UTC).isoformat(timespec="seconds")
            self.events.append(event)
            del self.events[:-50]
            return event

    def poll_forever(self) -> None:
        while not self._stop.wait(self.settings.reload_interval_s):
            if not self.follows_registry:
                continue
            version = self._alias_version()
            serving = self.current.version if self.current else None
            if version is not None and version not in (serving, self._rejected):
                event = self.reload()
                self._rejected = version if event["event"] == "reload_failed" else None

    def _alias_version(self) -> str | None:
        from training.connection import connect
        from training.registry import resolve_version

        try:
            uri = self.model_uri or f"models:/{self.settings.model_name}@{self.settings.alias}"
            return str(resolve_version(connect(self.settings), uri).version)
        except Exception as exc:  # the registry being away must not stop the service
            log.warning("cannot check the registry: %s", exc)
            return None

    def start_polling(self) -> threading.Thread:
        thread = threading.Thread(target=self.poll_forever, name="likecast-reload", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
