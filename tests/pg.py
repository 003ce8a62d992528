"""A PostgreSQL server of the tests' own: ``initdb`` and ``pg_ctl`` in a temporary folder,
on a free loopback port, one per test session (each pytest-xdist worker starts its own:
a cluster starts in about two seconds, and none is left running after its session).

The binaries are Debian's ``postgresql`` package (``make postgres`` installs it); ``initdb``
refuses to run as root, so as root the server runs as the package's ``postgres`` user.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.helpers import free_port


def binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: on the PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(folders[-1]) if folders else None


@dataclass(frozen=True)
class Postgres:
    """A running server: ``url`` is its maintenance database."""

    host: str
    port: int
    user: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/postgres"

    def new_database(self) -> str:
        """The URL of a database of its own, empty: one test's store or registry."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return f"postgresql://{self.user}@{self.host}:{self.port}/{name}"


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A fresh cluster (trust authentication, loopback only, no fsync: a test's data need
    not survive a crash), stopped and removed on exit."""
    folder = binaries()
    if folder is None:
        raise RuntimeError("PostgreSQL's initdb is not installed: run `make postgres`")
    as_user: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="likecast-pg-"))
    if os.geteuid() == 0:  # initdb refuses root
        owner = pwd.getpwnam("postgres")
        os.chown(scratch, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port, user = scratch / "data", free_port(), "likecast"
    run = [*as_user, str(folder / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*as_user, str(folder / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-N"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {scratch} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run, "-o", options, "-l", str(scratch / "server.log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield Postgres("127.0.0.1", port, user)
    finally:
        subprocess.run([*run, "-m", "fast", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    """This session's PostgreSQL server (tests that use it are marked ``server``), stopped
    when the test process exits: a session fixture's teardown runs within the process's last
    test, which need not be one marked as starting a server."""
    stack = ExitStack()
    server = stack.enter_context(postgres_server())
    atexit.register(stack.close)
    return server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test's creator store goes, on each backend: a SQLite file, or a database of
    its own on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "store.sqlite"
    server: Postgres = request.getfixturevalue("postgres")
    return server.new_database()
