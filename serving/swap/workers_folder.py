"""How the workers of one service agree on the model they serve.

BentoML runs each worker as a process of its own, sharing nothing but the file system, so
the workers agree through a folder of small files (one folder per running service, chosen by
``likecast serve`` and given to the workers as ``LIKECAST_SERVICE_DIR``):

- ``serving.json``: the FetchedVersion every worker serves. Writing it is the switch.
- ``staged.json``: a FetchedVersion about to be served. Every worker loads it in the
  background and answers in ``ready-<worker>.json`` (loaded, or why not); the worker that
  staged it writes ``serving.json`` only when all have it loaded, and not at all if one failed.
- ``events.jsonl``: swaps and failures, whichever worker saw them, for ``GET /model``.
- ``registry-check.json``: when worker 1 last asked the registry where the alias points.
- ``swap.lock`` and ``reloading.json``: one reload at a time, and since when (and by which
  worker) the one under way runs, for the reloads it turns away.

Before each request a worker looks at ``serving.json``'s stat and switches to the model it
already has loaded, so once the switch is written no worker answers from the old one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from likecast.atomic import write_text
from serving.swap.fetch import FetchedVersion

ACK_TIMEOUT_S = 120.0


def service_folder(home: Path, supervisor_pid: int) -> Path:
    """The folder of the service whose supervisor process is ``supervisor_pid``.

    Its start time is part of the name, so a later service that happens to get the same
    process id never reads an old service's files, and a folder whose process is gone can
    be swept.
    """
    supervisor = psutil.Process(supervisor_pid)
    return home.resolve() / "serving" / f"{supervisor.pid}-{int(supervisor.create_time())}"


def sweep_stopped_services(folder: Path) -> None:
    """Remove the folders (and downloaded models) of services that no longer run."""
    for other in folder.parent.glob("*-*"):
        pid, _, started = other.name.partition("-")
        if other == folder or not (pid.isdigit() and started.isdigit()):
            continue
        try:
            alive = int(psutil.Process(int(pid)).create_time()) == int(started)
        except psutil.Error:
            alive = False
        if not alive:
            shutil.rmtree(other, ignore_errors=True)


def _write(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    write_text(text, path)


class WorkersFolder:
    """One worker's view of its service's folder: what is served, staged, and happened.

    Args:
        path: the service's folder (``Settings.service_dir``).
        worker: this worker's number, from 1 (0 for ``likecast serve`` itself).
        workers: how many workers the service runs.
    """

    def __init__(self, path: Path, worker: int, workers: int) -> None:
        self.path, self.worker, self.workers = path, worker, workers
        path.mkdir(parents=True, exist_ok=True)
        self._serving_path = path / "serving.json"
        self._staged_path = path / "staged.json"
        self._serving_stamp: tuple[int, int] | None = None
        self._serving: FetchedVersion | None = None
        self._staged_seen: str | None = None

    # -- the switch ---------------------------------------------------------------------

    def serving(self) -> FetchedVersion | None:
        """The FetchedVersion the service serves now; rereads the file only when it changed."""
        try:
            stat = os.stat(self._serving_path)
        except FileNotFoundError:
            return None
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp != self._serving_stamp:
            self._serving = FetchedVersion.from_json(self._serving_path.read_text())
            self._serving_stamp = stamp
        return self._serving

    def commit(self, fetched: FetchedVersion) -> None:
        """Make ``fetched`` the served version: the switch every worker follows."""
        before = self.serving()
        _write(self._serving_path, fetched.to_json())
        self._prune(keep={fetched.folder} | ({before.folder} if before else set()))

    # -- staging ------------------------------------------------------------------------

    def stage(self, fetched: FetchedVersion) -> str:
        """Ask every worker to load ``fetched``; returns the id their answers carry."""
        stage_id = uuid.uuid4().hex
        self._staged_seen = stage_id  # the stager has it loaded already
        _write(self._staged_path, json.dumps({"id": stage_id, "fetched": fetched.to_json()}))
        return stage_id

    def staged(self) -> tuple[str, FetchedVersion] | None:
        """A staging this worker has not answered yet, if any."""
        try:
            staged = json.loads(self._staged_path.read_text())
        except FileNotFoundError:
            return None
        if staged["id"] == self._staged_seen:
            return None
        self._staged_seen = staged["id"]
        return staged["id"], FetchedVersion.from_json(staged["fetched"])

    def answer(self, stage_id: str, error: str | None) -> None:
        """Tell the stager this worker loaded staging ``stage_id`` (``error`` None) or not."""
        _write(self.path / f"ready-{self.worker}.json", json.dumps([stage_id, error]))

    def wait_for_answers(self, stage_id: str, timeout_s: float = ACK_TIMEOUT_S) -> list[str]:
        """Every other worker's answer to ``stage_id``: the reasons of those that failed."""
        others = [w for w in range(1, self.workers + 1) if w != self.worker]
        deadline = time.monotonic() + timeout_s
        errors: dict[int, str | None] = {}
        while len(errors) < len(others):
            for worker in others:
                try:
                    answered, error = json.loads((self.path / f"ready-{worker}.json").read_text())
                except (FileNotFoundError, ValueError):
                    continue
                if answered == stage_id:
                    errors[worker] = error
            if time.monotonic() > deadline:
                return [f"worker {w} did not load it in {timeout_s:.0f} s" for w in others]
            time.sleep(0.05)
        return [f"worker {w}: {e}" for w, e in sorted(errors.items()) if e]

    @contextmanager
    def exclusive(self, wait: bool) -> Iterator[bool]:
        """One swap at a time across the workers; yields False if busy and not waiting."""
        with (self.path / "swap.lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def note_reloading(self, since: str) -> None:
        """Say that this worker holds the swap lock since ``since``, for those it turns away."""
        _write(self.path / "reloading.json", json.dumps({"since": since, "by": self.worker}))

    def reloading(self) -> dict | None:
        """The reload under way (``since``, ``by`` worker), as its worker last noted it."""
        try:
            return dict(json.loads((self.path / "reloading.json").read_text()))
        except (FileNotFoundError, ValueError):
            return None

    # -- events -------------------------------------------------------------------------

    def record(self, event: dict) -> None:
        """Append a swap event, stamped with this worker's number."""
        line = json.dumps({**event, "worker": self.worker}) + "\n"
        with (self.path / "events.jsonl").open("a") as log:  # one append: whole lines
            log.write(line)

    def events(self, last: int = 10) -> list[dict]:
        """The ``last`` events of every worker, oldest first."""
        try:
            lines = (self.path / "events.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines[-last:]]

    def note_registry_check(
        self, at: str, count: int, failures: int = 0, failing_since: float | None = None
    ) -> None:
        """Record that the registry's alias was checked, ``count`` times so far, at ``at``;
        ``failures``: the looks in a row that could not reach it, since ``failing_since``
        (seconds since the epoch)."""
        check: dict = {"at": at, "count": count}
        if failures:
            check |= {"failures": failures, "failing_since": failing_since}
        _write(self.path / "registry-check.json", json.dumps(check))

    def registry_check(self) -> dict | None:
        """The last check of the registry's alias (``at``, ``count``); None before the first."""
        try:
            return dict(json.loads((self.path / "registry-check.json").read_text()))
        except FileNotFoundError:
            return None

    def _prune(self, keep: set[str]) -> None:
        """Downloaded versions other than the one served and the one before go."""
        for model in self.path.glob("v*"):
            if str(model) not in keep:
                shutil.rmtree(model, ignore_errors=True)
