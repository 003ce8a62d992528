"""Fetching a registry version into a local folder, in a process of its own.

The service's workers never import MLflow, which would make each of them much bigger
(docs/adr/0019). A short-lived child process
(``python -m serving.swap.fetch URI FOLDER``) resolves the URI and downloads the version
instead, and the worker loads the folder like any model folder. Whether the alias may have
moved is checked in the worker, cheaply: the tracking server's REST API, or the SQLite
file's stamp.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from likecast.atomic import creating
from likecast.redact import redact_text
from likecast.settings import Settings, get_settings
from models.tracking_http import get_json

log = logging.getLogger("likecast.serving")
FETCH_TIMEOUT_S = 300.0
T = TypeVar("T")


class FetchError(RuntimeError):
    """The registry could not give the model the URI names."""


@dataclass(frozen=True)
class FetchedVersion:
    """A registry version, downloaded to ``folder``, which the workers load it from."""

    version: str
    folder: str
    uri: str
    run_id: str | None

    def to_json(self) -> str:
        """One line of JSON, as ``serving.json`` and the fetch child hold it."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> FetchedVersion:
        """The inverse of ``to_json``."""
        return cls(**json.loads(text))


def download(uri: str, settings: Settings, into: Path) -> FetchedVersion:
    """Resolve ``uri`` now and download that version to ``into/v<version>`` (once).

    Two workers may fetch the same version at once: each downloads to a folder of its own
    and renames it into place, and the second finds the place taken and uses it.
    """
    from models.mlflow_client import connect
    from models.registry import download_version, resolve_version

    version = resolve_version(connect(settings), uri)
    final = into / f"v{version.version}"
    into.mkdir(parents=True, exist_ok=True)
    if not final.exists():
        with creating(final) as partial:
            partial.mkdir()
            download_version(version, uri, partial)
    return FetchedVersion(str(version.version), str(final), uri, version.run_id)


def fetch(uri: str, into: Path, timeout_s: float = FETCH_TIMEOUT_S) -> FetchedVersion:
    """``download`` in a child process; its failure comes back as one line."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "serving.swap.fetch", uri, str(into)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"{uri}: no answer from the registry in {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise FetchError(f"{uri}: {reason}")
    return FetchedVersion.from_json(done.stdout.strip().splitlines()[-1])


def refetch(fetched: FetchedVersion, into: Path) -> FetchedVersion:
    """Download ``fetched``'s version again, its local copy being unusable (say, corrupt).

    Without this a worker restarted over a broken copy would fail the same way each time,
    and BentoML would restart it for ever.
    """
    log.warning(
        "model version %s: the local copy does not load; downloading it again", fetched.version
    )
    shutil.rmtree(fetched.folder, ignore_errors=True)
    name = fetched.uri.removeprefix("models:/").partition("@")[0].partition("/")[0]
    fresh = fetch(f"models:/{name}/{fetched.version}", into)
    return FetchedVersion(fresh.version, fresh.folder, fetched.uri, fresh.run_id)


def load_or_refetch(load: Callable[[FetchedVersion], T], fetched: FetchedVersion, into: Path) -> T:
    """``load(fetched)``; if its local copy is no usable bundle, download it again first."""
    from models.bundle import BundleError

    try:
        return load(fetched)
    except BundleError:
        return load(refetch(fetched, into))


class AliasWatch:
    """Says cheaply whether an alias may have moved since the last look.

    A fetch starts a process that imports MLflow (seconds of CPU), too much for every poll.
    A tracking server is asked through its REST API, with MLflow's credentials
    (``models.tracking_http``); a SQLite store can only have moved an alias if its file
    changed. Other stores are fetched every time. ``error`` says why the last look could not
    reach the registry (None when it could), for the service's readiness.
    """

    def __init__(self, settings: Settings, uri: str) -> None:
        self.tracking = settings.resolved_tracking_uri
        self.name, _, self.alias = uri.removeprefix("models:/").partition("@")
        self._stamp: tuple | None = None
        self.error: str | None = None

    def mark(self) -> None:
        """Remember the store as it is now: the served model matches it."""
        self._stamp = self._sqlite_stamp()

    def may_have_moved(self, known: set[str]) -> bool:
        """``known``: the versions already served or rejected."""
        self.error = None
        if not self.alias:  # models:/name/N names one version for good
            return False
        if self.tracking.startswith(("http://", "https://")):
            version = self._server_version()
            return version is not None and version not in known
        if self.tracking.startswith("sqlite:///"):
            stamp = self._sqlite_stamp()
            moved, self._stamp = stamp != self._stamp, stamp
            return moved
        return True

    def _sqlite_stamp(self) -> tuple | None:
        if not self.tracking.startswith("sqlite:///"):
            return None
        db = Path(self.tracking.removeprefix("sqlite:///"))
        stamps: list[tuple[int, int] | None] = []
        for path in (db, db.with_name(db.name + "-wal")):
            try:
                stat = path.stat()
            except FileNotFoundError:
                stamps.append(None)
            else:
                stamps.append((stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def _server_version(self) -> str | None:
        query = urllib.parse.urlencode({"name": self.name, "alias": self.alias})
        path = f"api/2.0/mlflow/registered-models/alias?{query}"
        try:
            answer = get_json(self.tracking, path, timeout_s=10)
            return str(answer["model_version"]["version"])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:  # the registry answered: no such model or alias (yet)
                return None
            self.error = f"the registry answered {exc.code} {exc.reason}"
        except (OSError, ValueError, KeyError, TypeError) as exc:  # not JSON, not MLflow's
            self.error = redact_text(str(exc) or type(exc).__name__)
        log.warning("cannot check the registry: %s", self.error)  # the registry being away
        return None  # is not fatal: the service goes on serving what it has


def main(argv: list[str] | None = None) -> int:
    """The child: print the FetchedVersion as JSON, or one line saying why not."""
    uri, into = argv if argv is not None else sys.argv[1:]
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    try:
        fetched = download(uri, get_settings(), Path(into))
    except Exception as exc:  # any failure is reported to the worker, which keeps serving
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        print(redact_text(reason), file=sys.stderr)  # the worker logs it
        return 1
    print(fetched.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
