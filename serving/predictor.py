"""Requests -> raw rows -> the shared feature step -> native LightGBM -> answers.

Kept free of HTTP so the same object answers the service, tests and the parity check.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from features.observations import HISTORY_COLUMNS, RAW_COLUMNS
from features.pipeline import feature_frame, feature_matrix, raw_records
from features.settings import Settings
from features.store import CreatorStore
from models.explain import top_factors
from serving.board import SwapBoard, service_folder, sweep_stopped_services
from serving.fetch import AliasWatch, Release, fetch
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
FOLLOW_INTERVAL_S = 0.2  # how often a worker looks for a staged model or a missed switch


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
    """The served Predictor, switched by all of a service's workers together.

    A request takes ``holder.current`` once and uses that object to the end, so requests in
    flight finish on the model they started with. A new champion is fetched (in a child
    process, see ``serving.fetch``), loaded and validated by every worker in the background,
    and switched to only when all have it (see ``serving.board``). A model that fails to
    load or validate anywhere is never switched to, and the old one keeps serving.
    """

    def __init__(self, settings: Settings, model_uri: str | None, worker: int = 1) -> None:
        self.settings = settings
        self.uri = model_uri or settings.champion_uri
        self.follows_registry = self.uri.startswith("models:/")
        self.worker = worker
        self.board = SwapBoard(service_folder(settings), worker, settings.service_workers)
        self.watch = AliasWatch(settings, self.uri)
        self._serving: Predictor | None = None
        self._ready: Predictor | None = None  # loaded for the next switch
        self._rejected: str | None = None  # a version that failed; not retried until it moves
        self._switching = threading.Lock()

    @property
    def current(self) -> Predictor | None:
        """The model to answer with: the one ``serving.json`` names, once it is loaded here."""
        if not self.follows_registry:
            return self._serving
        ready, committed = self._ready, self.board.serving()
        if ready is not None and committed is not None and ready.version == committed.version:
            self._switch(ready)
        return self._serving

    @property
    def events(self) -> list[dict]:
        return self.board.events()

    def start(self) -> None:
        """Load the model to serve before the worker takes requests."""
        if self.worker == 1:
            sweep_stopped_services(self.board.folder)
        if not self.follows_registry:
            self._serving = self._load(self.uri)
            return
        # a sibling worker may have fetched it already
        release = self.board.serving() or fetch(self.uri, self.board.folder)
        from serving.fetch import load_or_refetch  # a corrupt copy is downloaded again

        self._serving = load_or_refetch(self._load_release, release, self.board.folder)
        if self.board.serving() is None:
            self.board.commit(release)
        self.watch.mark()
        threading.Thread(target=self._follow, name="likecast-follow", daemon=True).start()

    # -- loading ------------------------------------------------------------------------

    def _load(self, uri: str, version: str | None = None, run_id: str | None = None) -> Predictor:
        loaded = load_model(uri, self.settings)
        if version is not None:
            loaded = replace(loaded, uri=self.uri, version=version, run_id=run_id)
        predictor = Predictor(loaded, CreatorStore(self.settings.store_path), self.settings)
        self._validate(predictor)
        return predictor

    def _load_release(self, release: Release) -> Predictor:
        return self._load(release.folder, release.version, release.run_id)

    @staticmethod
    def _validate(predictor: Predictor) -> None:
        """A model that cannot answer a plain draft never replaces a working one."""
        answer = predictor.predict(
            [Draft(creator_id="validation", category="food", duration_s=30.0)]
        )[0]
        if not 0.0 <= answer.probability <= 1.0:
            raise ValueError(f"validation draft got probability {answer.probability}")

    def _switch(self, fresh: Predictor) -> None:
        with self._switching:  # the request path and the follower may both get here
            before = self._serving
            if before is fresh:
                return
            self._serving, self._ready = fresh, None
        old = before.version if before else None
        self.board.record({"event": "swapped", "from": old, "to": fresh.version, "at": _now()})
        log.warning("now serving model version %s (was %s)", fresh.version, old)

    # -- swapping -----------------------------------------------------------------------

    def reload(self, wait: bool = True, rejected: str | None = None) -> dict:
        """Fetch the model the URI names now; switch every worker to it if it differs and works.

        The poller passes ``wait=False`` (it gives up at once while another worker swaps) and
        the version that failed last, which it does not try again until the alias moves.
        """
        with self.board.exclusive(wait) as mine:
            if not mine:
                return {"event": "busy"}
            before = self._serving.version if self._serving else None
            version = None
            try:
                if not self.follows_registry:
                    fresh = self._load(self.uri)
                else:
                    release = fetch(self.uri, self.board.folder)
                    version = release.version
                    if version in (before, rejected):
                        return {"event": "unchanged", "serving": before, "at": _now()}
                    fresh = self._load_release(release)
                    errors = self.board.wait_for_answers(self.board.stage(release))
                    if errors:
                        raise ValueError("; ".join(errors))
                    self.board.commit(release)
            except Exception as exc:  # any failure keeps the old model serving
                log.error("model reload failed, still serving %s: %s", before, exc)
                event = {
                    "event": "reload_failed",
                    "serving": before,
                    "version": version,
                    "error": str(exc)[:500],
                    "at": _now(),
                }
                self.board.record(event)
                return event
            self._switch(fresh)
            return {"event": "swapped", "from": before, "to": fresh.version, "at": _now()}

    def _follow(self) -> None:
        """Load what siblings stage; worker 1 also watches the registry's alias."""
        next_check = time.monotonic() + self.settings.reload_interval_s
        while True:  # a daemon thread: it ends with the worker
            time.sleep(FOLLOW_INTERVAL_S)
            self._answer_staged()
            self._catch_up()
            if self.worker == 1 and time.monotonic() >= next_check:
                next_check = time.monotonic() + self.settings.reload_interval_s
                known = {self._serving.version if self._serving else "", self._rejected or ""}
                if self.watch.may_have_moved(known):
                    event = self.reload(wait=False, rejected=self._rejected)
                    if event["event"] == "reload_failed" and event["version"]:
                        self._rejected = event["version"]

    def _answer_staged(self) -> None:
        staged = self.board.staged()
        if staged is None:
            return
        stage_id, release = staged
        if self._serving is not None and release.version == self._serving.version:
            self.board.answer(stage_id, None)  # e.g. a restarted worker seeing an old staging
            return
        try:
            self._ready = self._load_release(release)
        except Exception as exc:  # reported to the worker that staged it
            log.error("cannot load staged version %s: %s", release.version, exc)
            self.board.answer(stage_id, str(exc)[:300])
        else:
            self.board.answer(stage_id, None)

    def _catch_up(self) -> None:
        """A worker that missed a switch (restarted, or started mid-swap) loads what is served."""
        committed, serving = self.board.serving(), self._serving
        if committed is None or serving is None or committed.version == serving.version:
            return
        ready = self._ready
        if ready is None or ready.version != committed.version:
            try:
                ready = self._load_release(committed)
            except Exception as exc:  # keep serving what this worker has
                log.error("cannot load served version %s: %s", committed.version, exc)
                return
        self._switch(ready)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
