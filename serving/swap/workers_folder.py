"""How the workers of one service agree on the model they serve.

BentoML runs each worker as a process of its own, sharing nothing but the file system, so
the workers agree through a folder of small files (one folder per running service):

- ``serving.json``: the Release every worker serves. Writing it is the switch.
- ``staged.json``: a Release about to be served. Every worker loads it in the background and
  answers in ``ready-<worker>.json`` (loaded, or why not); the worker that staged it writes
  ``serving.json`` only when all have it loaded, and not at all if one failed.
- ``events.jsonl``: swaps and failures, whichever worker saw them, for ``GET /model``.

A request looks at ``serving.json``'s stat (about a microsecond) and switches to the model its
worker already has loaded, so once the switch is written no worker answers from the old one.
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

from likecast.settings import Settings
from serving.swap.fetch import Release

ACK_TIMEOUT_S = 120.0


def service_folder(settings: Settings, supervisor_pid: int | None = None) -> Path:
    """A service's folder: named by the supervisor process all its workers share (by default
    this process's parent, as seen from a worker).

    Its start time is part of the name, so a later service that happens to get the same
    process id never reads an old service's files.
    """
    supervisor = psutil.Process(supervisor_pid or os.getppid())
    return settings.home.resolve() / "serving" / f"{supervisor.pid}-{int(supervisor.create_time())}"


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
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(path)


class SwapBoard:
    def __init__(self, folder: Path, worker: int, workers: int) -> None:
        self.folder, self.worker, self.workers = folder, worker, workers
        folder.mkdir(parents=True, exist_ok=True)
        self._serving_path = folder / "serving.json"
        self._staged_path = folder / "staged.json"
        self._serving_stamp: tuple[int, int] | None = None
        self._serving: Release | None = None
        self._staged_seen: str | None = None

    # -- the switch ---------------------------------------------------------------------

    def serving(self) -> Release | None:
        """The Release the service serves now; rereads the file only when it changed."""
        try:
            stat = os.stat(self._serving_path)
        except FileNotFoundError:
            return None
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp != self._serving_stamp:
            self._serving = Release.from_json(self._serving_path.read_text())
            self._serving_stamp = stamp
        return self._serving

    def commit(self, release: Release) -> None:
        before = self.serving()
        _write(self._serving_path, release.to_json())
        self._prune(keep={release.folder} | ({before.folder} if before else set()))

    # -- staging ------------------------------------------------------------------------

    def stage(self, release: Release) -> str:
        """Ask every worker to load ``release``; returns the id their answers carry."""
        stage_id = uuid.uuid4().hex
        self._staged_seen = stage_id  # the stager has it loaded already
        _write(self._staged_path, json.dumps({"id": stage_id, "release": release.to_json()}))
        return stage_id

    def staged(self) -> tuple[str, Release] | None:
        """A staging this worker has not answered yet, if any."""
        try:
            staged = json.loads(self._staged_path.read_text())
        except FileNotFoundError:
            return None
        if staged["id"] == self._staged_seen:
            return None
        self._staged_seen = staged["id"]
        return staged["id"], Release.from_json(staged["release"])

    def answer(self, stage_id: str, error: str | None) -> None:
        _write(self.folder / f"ready-{self.worker}.json", json.dumps([stage_id, error]))

    def wait_for_answers(self, stage_id: str, timeout_s: float = ACK_TIMEOUT_S) -> list[str]:
        """Every other worker's answer to ``stage_id``: the reasons of those that failed."""
        others = [w for w in range(1, self.workers + 1) if w != self.worker]
        deadline = time.monotonic() + timeout_s
        errors: dict[int, str | None] = {}
        while len(errors) < len(others):
            for worker in others:
                try:
                    answered, error = json.loads((self.folder / f"ready-{worker}.json").read_text())
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
        with (self.folder / "swap.lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- events -------------------------------------------------------------------------

    def record(self, event: dict) -> None:
        line = json.dumps({**event, "worker": self.worker}) + "\n"
        with (self.folder / "events.jsonl").open("a") as log:  # one append: whole lines
            log.write(line)

    def events(self, last: int = 10) -> list[dict]:
        try:
            lines = (self.folder / "events.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines[-last:]]

    def _prune(self, keep: set[str]) -> None:
        """Downloaded versions other than the one served and the one before go."""
        for model in self.folder.glob("v*"):
            if str(model) not in keep:
                shutil.rmtree(model, ignore_errors=True)
