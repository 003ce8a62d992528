"""The model a service's worker answers with, and how all workers switch to a new one."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from features.store import CreatorStore
from likecast.settings import Settings
from models.registry import load_model
from serving.api.schemas import Draft
from serving.predictor import Predictor
from serving.swap.fetch import AliasWatch, FetchedVersion, fetch, load_or_refetch
from serving.swap.workers_folder import WorkersFolder

log = logging.getLogger("likecast.serving")
FOLLOW_INTERVAL_S = 0.2  # how often a worker looks for a staged model or a missed switch


class ModelHolder:
    """The served Predictor, switched by all of a service's workers together.

    A request calls ``switch_to_committed()`` once and uses the Predictor it returns to the
    end, so requests in flight finish on the model they started with. A new champion is
    fetched in a child process (``serving.swap.fetch``), loaded and validated by every
    worker in the background, and switched to only when all have it
    (``serving.swap.workers_folder``). A model that fails to load or validate anywhere is
    never switched to.

    Args:
        settings: the service's settings; ``model_uri`` (or the champion) names the model.
        folder: the service's folder, shared by its workers (``Settings.service_dir``).
        worker: this worker's number, from 1.
    """

    def __init__(self, settings: Settings, folder: Path, worker: int = 1) -> None:
        self.settings = settings
        self.uri = settings.model_uri or settings.champion_uri
        self.follows_registry = self.uri.startswith("models:/")
        self.worker = worker
        self.shared = WorkersFolder(folder, worker, settings.service_workers)
        self.watch = AliasWatch(settings, self.uri)
        self._serving: Predictor | None = None
        self._ready: Predictor | None = None  # loaded for the next switch
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
        if not self.follows_registry:
            return self._serving
        ready, committed = self._ready, self.shared.serving()
        if ready is not None and committed is not None and ready.version == committed.version:
            self._switch(ready)
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
        if not self.follows_registry:
            self._serving = self._load(self.uri)
            return
        # `likecast serve` or a sibling worker has fetched it already
        fetched = self.shared.serving() or fetch(self.uri, self.shared.path)
        self._serving = load_or_refetch(self._load_fetched, fetched, self.shared.path)
        if self.shared.serving() is None:
            self.shared.commit(fetched)
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

    def _load_fetched(self, fetched: FetchedVersion) -> Predictor:
        return self._load(fetched.folder, fetched.version, fetched.run_id)

    @staticmethod
    def _validate(predictor: Predictor) -> None:
        """A model that cannot answer a plain draft never replaces a working one."""
        draft = Draft.model_validate(
            {"creator_id": "validation", "category": "food", "duration_s": 30.0}
        )
        answer = predictor.predict([draft])[0]
        if not 0.0 <= answer.probability <= 1.0:
            raise ValueError(f"validation draft got probability {answer.probability}")

    def _switch(self, fresh: Predictor) -> None:
        with self._switching:  # the request path and the follower may both get here
            before = self._serving
            if before is fresh:
                return
            self._serving, self._ready = fresh, None
        old = before.version if before else None
        self.shared.record({"event": "swapped", "from": old, "to": fresh.version, "at": _now()})
        log.warning("now serving model version %s (was %s)", fresh.version, old)

    # -- swapping -----------------------------------------------------------------------

    def reload(self, wait: bool = True, rejected: str | None = None) -> dict:
        """Fetch the model the URI names now; switch every worker to it if it differs and works.

        The poller passes ``wait=False`` (it gives up at once while another worker swaps) and
        the version that failed last, which it does not try again until the alias moves.
        """
        with self.shared.exclusive(wait) as mine:
            if not mine:
                return {"event": "busy"}
            before = self._serving.version if self._serving else None
            version = None
            try:
                if not self.follows_registry:
                    fresh = self._load(self.uri)
                else:
                    fetched = fetch(self.uri, self.shared.path)
                    version = fetched.version
                    if version in (before, rejected):
                        return {"event": "unchanged", "serving": before, "at": _now()}
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

    def _answer_staged(self) -> None:
        staged = self.shared.staged()
        if staged is None:
            return
        stage_id, fetched = staged
        if self._serving is not None and fetched.version == self._serving.version:
            self.shared.answer(stage_id, None)  # e.g. a restarted worker seeing an old staging
            return
        try:
            self._ready = self._load_fetched(fetched)
        except Exception as exc:  # reported to the worker that staged it
            log.error("cannot load staged version %s: %s", fetched.version, exc)
            self.shared.answer(stage_id, str(exc)[:300])
        else:
            self.shared.answer(stage_id, None)

    def _catch_up(self) -> None:
        """A worker that missed a switch (restarted, or started mid-swap) loads what is served."""
        committed, serving = self.shared.serving(), self._serving
        if committed is None or serving is None or committed.version == serving.version:
            return
        ready = self._ready
        if ready is None or ready.version != committed.version:
            try:
                ready = self._load_fetched(committed)
            except Exception as exc:  # keep serving what this worker has
                log.error("cannot load served version %s: %s", committed.version, exc)
                return
        self._switch(ready)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
