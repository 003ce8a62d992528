"""The model a service's worker answers with, and how all workers switch to a new one."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from features.store import open_store
from likecast.settings import Settings
from models.blend import EPS
from models.registry import load_model
from serving.core.answer_log import AnswerLog
from serving.core.predictor import Predictor
from serving.core.requests import Draft, Early
from serving.swap.fetch import AliasWatch, FetchedVersion, fetch, load_or_refetch
from serving.swap.workers_folder import WorkersFolder

log = logging.getLogger("likecast.serving")
FOLLOW_INTERVAL_S = 0.2  # how often a worker looks for a staged model or a missed switch
# the check rows' likes, as shares of the threshold: from none to near it, at one age
CHECK_LIKE_SHARES = (0.0, 0.02, 0.2, 0.8)
CHECK_AGE_MINUTES = 120.0


class ModelHolder:
    """The served Predictor, switched by all of a service's workers together.

    A request calls ``switch_to_committed()`` once and uses the Predictor it returns to the
    end, so requests in flight finish on the model they started with. A new champion is
    fetched in a child process (``serving.swap.fetch``), loaded and validated by every
    worker in the background, and switched to only when all have it
    (``serving.swap.workers_folder``). A model that fails to load or validate anywhere is
    never switched to. A model folder is reloaded the same way: each reload is a swap of
    its own (its key a fresh ``local-...`` name in ``serving.json``), so every worker
    answers from the folder as it is now, never one worker alone.

    Args:
        settings: the service's settings; ``model_uri`` (or the champion) names the model.
        folder: the service's folder, shared by its workers (``Settings.service_dir``).
        worker: this worker's number, from 1.
        answer_log: where the served model's answers are recorded (none: not recorded).
    """

    def __init__(
        self, settings: Settings, folder: Path, worker: int = 1, answer_log: AnswerLog | None = None
    ) -> None:
        self.settings = settings
        self.answer_log = answer_log
        self.uri = settings.model_uri or settings.champion_uri
        self.follows_registry = self.uri.startswith("models:/")
        self.worker = worker
        self.shared = WorkersFolder(folder, worker, settings.service_workers)
        self.watch = AliasWatch(settings, self.uri)
        self._serving: Predictor | None = None
        # the swap key (``FetchedVersion.version``) of what serves and of what is loaded for
        # the next switch: a registry version, or a folder's reload
        self._serving_key: str | None = None
        self._ready: tuple[str, Predictor] | None = None
        self._rejected: str | None = None  # a version that failed; not retried until it moves
        self._switching = threading.Lock()
        self._checks = 0  # of the registry's alias, by worker 1
        self._failures = 0  # of those checks, in a row
        self._failing_since: float | None = None

    def switch_to_committed(self) -> Predictor | None:
        """Switch to the model ``serving.json`` names if it is loaded here; the model to use.

        The request path calls this before each answer: once the switch is written, no
        worker answers from the old model, even before its follower thread looks.
        """
        ready, committed = self._ready, self.shared.serving()
        if ready is not None and committed is not None and ready[0] == committed.version:
            self._switch(*ready)
        return self._serving

    @property
    def serving(self) -> Predictor | None:
        """The model this worker answers with now (None before ``start``); switches nothing."""
        return self._serving

    @property
    def events(self) -> list[dict]:
        """The service's latest swap events, whichever worker saw them."""
        return self.shared.events()

    def start(self) -> None:
        """Load the model to serve before the worker takes requests."""
        if self.follows_registry:
            # `likecast serve` or a sibling worker has fetched it already
            fetched = self.shared.serving() or fetch(self.uri, self.shared.path)
            self._serving = load_or_refetch(self._load_fetched, fetched, self.shared.path)
        else:  # the reload the folder serves (after a restart), or its first
            fetched = self.shared.serving() or self._folder_version("local")
            self._serving = self._load_fetched(fetched)
        self._serving_key = fetched.version
        if self.shared.serving() is None:
            self.shared.commit(fetched)
        self.watch.mark()
        threading.Thread(target=self._follow, name="likecast-follow", daemon=True).start()

    def _folder_version(self, key: str) -> FetchedVersion:
        """The served folder as a swap: what ``serving.json`` names for a folder's reload."""
        return FetchedVersion(key, self.uri, self.uri, None)

    # -- loading ------------------------------------------------------------------------

    def _load(self, uri: str, version: str | None = None, run_id: str | None = None) -> Predictor:
        loaded = load_model(uri, self.settings)
        if version is not None:
            loaded = replace(loaded, uri=self.uri, version=version, run_id=run_id)
        predictor = Predictor(loaded, open_store(self.settings), self.settings)
        self.validate(predictor)
        predictor.log = self.answer_log  # after the checks: they are not answers
        return predictor

    def _load_fetched(self, fetched: FetchedVersion) -> Predictor:
        if not self.follows_registry:  # a folder has no version: its answers say "local"
            return self._load(fetched.folder)
        return self._load(fetched.folder, fetched.version, fetched.run_id)

    @staticmethod
    def validate(predictor: Predictor) -> None:
        """A model that cannot answer never replaces a working one: a plain draft and a video
        at one age with likes from none to near the threshold must get probabilities, and
        not one constant answer, nor only 0s and 1s (a broken or degenerate model)."""
        base = {"creator_id": "validation", "category": "food", "duration_s": 30.0}
        spec = predictor.loaded.bundle.spec
        age = min(CHECK_AGE_MINUTES, spec.horizon_minutes / 2)
        checks: list[Draft] = [Draft.model_validate(base)]
        checks += [
            Early.model_validate({**base, "age_minutes": age, "likes": int(share * spec.threshold)})
            for share in CHECK_LIKE_SHARES
        ]
        answers = [answer.probability for answer in predictor.predict(checks)]
        if not all(0.0 <= p <= 1.0 for p in answers):
            raise ValueError(f"check rows got probabilities {answers}: not probabilities")
        if max(answers) - min(answers) < EPS:
            raise ValueError(
                f"answers {answers[0]:.4g} to a draft and to videos with 0 to "
                f"{int(CHECK_LIKE_SHARES[-1] * spec.threshold):,} likes alike: a constant model"
            )
        if all(p <= EPS or p >= 1 - EPS for p in answers):
            raise ValueError("answers only 0 or 1 to the check rows: a degenerate model")

    def _switch(self, key: str, fresh: Predictor) -> None:
        with self._switching:  # the request path and the follower may both get here
            before = self._serving
            if before is fresh:
                return
            self._serving, self._serving_key, self._ready = fresh, key, None
        old = before.version if before else None
        self.shared.record({"event": "swapped", "from": old, "to": fresh.version, "at": _now()})
        log.warning("now serving model version %s (was %s)", fresh.version, old)

    # -- swapping -----------------------------------------------------------------------

    def reload(self, wait: bool = True, rejected: str | None = None) -> dict:
        """Fetch the model the URI names now (a folder: load it again); switch every worker
        to it if it differs and works.

        One reload at a time across the workers: with ``wait=False`` (the poller, and
        ``/admin/reload``) a reload under way elsewhere is answered ``busy`` at once, with
        who started it and when. The poller also passes the version that failed last, which
        it does not try again until the alias moves.
        """
        with self.shared.exclusive(wait) as mine:
            if not mine:
                going_on = self.shared.reloading() or {}
                return {
                    "event": "busy",
                    "detail": "another reload is under way; GET /model lists its outcome "
                    "among the events",
                    **going_on,
                    "at": _now(),
                }
            self.shared.note_reloading(_now())
            before = self._serving.version if self._serving else None
            version = None
            try:
                if self.follows_registry:
                    fetched = fetch(self.uri, self.shared.path)
                    version = fetched.version
                    if version in (before, rejected):
                        return {"event": "unchanged", "serving": before, "at": _now()}
                else:  # a folder may have changed in place: every reload is a swap
                    fetched = self._folder_version(f"local-{uuid.uuid4().hex[:12]}")
                fresh = self._load_fetched(fetched)
                errors = self.shared.wait_for_answers(self.shared.stage(fetched))
                if errors:
                    raise ValueError("; ".join(errors))
                self.shared.commit(fetched)
            except Exception as exc:  # any failure keeps the old model serving
                log.error("model reload failed, still serving %s: %s", before, exc)
                event = {
                    "event": "reload_failed",
                    "serving": before,
                    "version": version,
                    "error": str(exc)[:500],
                    "at": _now(),
                }
                self.shared.record(event)
                return event
            self._switch(fetched.version, fresh)
            return {"event": "swapped", "from": before, "to": fresh.version, "at": _now()}

    def _follow(self) -> None:
        """Load what siblings stage; worker 1 also watches the registry's alias."""
        next_check = time.monotonic() + self.settings.reload_interval_s
        while True:  # a daemon thread: it ends with the worker
            time.sleep(FOLLOW_INTERVAL_S)
            self._answer_staged()
            self._catch_up()
            if self.follows_registry and self.worker == 1 and time.monotonic() >= next_check:
                next_check = time.monotonic() + self.settings.reload_interval_s
                known = {self._serving.version if self._serving else "", self._rejected or ""}
                moved = self.watch.may_have_moved(known)
                error = self.watch.error
                if moved:
                    event = self.reload(wait=False, rejected=self._rejected)
                    if event["event"] == "reload_failed" and event["version"]:
                        self._rejected = event["version"]
                    elif event["event"] == "reload_failed":  # no version: the fetch failed
                        error = event["error"]
                self._note_check(error)

    def _note_check(self, error: str | None) -> None:
        """Count a look at the registry and, if it failed, how long looks have failed."""
        self._checks += 1
        if error is None:
            self._failures, self._failing_since = 0, None
        else:
            self._failures += 1
            self._failing_since = self._failing_since or time.time()
        self.shared.note_registry_check(_now(), self._checks, self._failures, self._failing_since)

    @property
    def not_ready(self) -> str | None:
        """Why this worker should not take requests, in one line; None when it may.

        Besides the model's own reasons (``Predictor.not_ready``): a registry the alias
        watcher has not reached for ``registry_unreachable_s``, so a promotion would go
        unnoticed while the service looks healthy.
        """
        if self._serving is None:
            return "no model loaded"
        check = (self.shared.registry_check() if self.follows_registry else None) or {}
        limit = self.settings.registry_unreachable_s
        since = check.get("failing_since")
        if limit and since is not None and time.time() - since >= limit:
            return (
                f"the model registry has not answered the alias watcher for "
                f"{time.time() - since:.0f} s ({check['failures']} looks); still serving "
                f"version {self._serving.version}, a promotion would not reach it; see the log"
            )
        return self._serving.not_ready

    @property
    def readiness(self) -> str:
        """What this worker, once ready, answers with (``Predictor.readiness``), in one line."""
        return "no model loaded" if self._serving is None else self._serving.readiness

    def _answer_staged(self) -> None:
        staged = self.shared.staged()
        if staged is None:
            return
        stage_id, fetched = staged
        if fetched.version == self._serving_key:
            self.shared.answer(stage_id, None)  # e.g. a restarted worker seeing an old staging
            return
        try:
            self._ready = (fetched.version, self._load_fetched(fetched))
        except Exception as exc:  # reported to the worker that staged it
            log.error("cannot load staged version %s: %s", fetched.version, exc)
            self.shared.answer(stage_id, str(exc)[:300])
        else:
            self.shared.answer(stage_id, None)

    def _catch_up(self) -> None:
        """A worker that missed a switch (restarted, or started mid-swap) loads what is served."""
        committed = self.shared.serving()
        if committed is None or self._serving is None or committed.version == self._serving_key:
            return
        ready = self._ready
        if ready is None or ready[0] != committed.version:
            try:
                ready = (committed.version, self._load_fetched(committed))
            except Exception as exc:  # keep serving what this worker has
                log.error("cannot load served version %s: %s", committed.version, exc)
                return
        self._switch(*ready)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
