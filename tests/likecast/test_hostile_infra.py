"""Hostile infrastructure: a full, read-only or looping disk, kernel file systems, a Dask
scheduler that is away or is another service, and secrets in every form of address.

Every command fails in one line naming what to do, with an exit code that says which kind
of failure it was (likecast/failures.py), leaves nothing half-written, and never prints a
password or a URI's query values. In-process (the ``cli`` fixture); the full and read-only
disks are real tmpfs mounts (tests/disks.py).
"""

from __future__ import annotations

import errno
import re
import socket
import sqlite3
import threading
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from rich.text import Text

from likecast import dask_cluster
from likecast.errors import UserError
from likecast.failures import IO_ERROR, TRAINING_MODULES, UNAVAILABLE, explain
from likecast.redact import redact, redact_text
from tests.disks import fill, make_read_only, tiny_disk
from tests.helpers import Result, free_port

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"

SECRET = "hunter2-S3cret"


def one_line_failure(result: Result, code: int) -> str:
    """The failure's line, after checking it is one line, no traceback, no secret."""
    assert result.code == code, result.text
    assert "Traceback" not in result.err
    assert SECRET not in result.text
    lines = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.err
    return result.text


# -- secrets in every form ---------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        f"http://admin:{SECRET}@registry:5000/",
        f"postgresql://mlflow:{SECRET}@db:5432/mlflow",
        f"tcp://dask:{SECRET}@10.0.0.5:8786",
        f"https://registry/?token={SECRET}",
        f"https://registry/api?user=me&token={SECRET}&x=1",
        f"postgresql://u@db/mlflow?password={SECRET}",
        f"http://registry/?{SECRET}",
        f"see 'http://a:{SECRET}@h/x?k={SECRET}' and tcp://b:{SECRET}@g:1",
    ],
)
def test_no_form_of_secret_survives_redaction(given: str) -> None:
    # given an address carrying a secret as a password, a query value or a bare query
    # when it is redacted as a URI and as text quoting it
    # then the secret is gone both ways, and what remains still says where
    assert SECRET not in redact(given)
    assert SECRET not in redact_text(given)
    assert "***" in redact_text(given)


# -- the mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "code", "says"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/data/.scores.csv.tmp-4242"),
            IO_ERROR,
            "/data/scores.csv: no space left",
        ),
        (OSError(errno.EROFS, "Read-only file system", "/ro/x.csv"), IO_ERROR, "read-only"),
        (PermissionError(errno.EACCES, "Permission denied", "/root/x"), IO_ERROR, "permission"),
        (OSError(errno.ELOOP, "Too many levels of symbolic links", "/in"), IO_ERROR, "loop"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/out"), IO_ERROR, "is a folder"),
        (FileNotFoundError(errno.ENOENT, "No such file", "/proc/x.csv"), IO_ERROR, "kernel"),
        # pyarrow and SQLite word a full disk without an errno
        (OSError("Error writing bytes. Detail: No space left on device"), IO_ERROR, "space"),
        (sqlite3.OperationalError("database or disk is full"), IO_ERROR, "no space left"),
        (sqlite3.OperationalError("attempt to write a readonly database"), IO_ERROR, "read-only"),
    ],
)
def test_each_disk_failure_is_one_line_naming_the_path_given(
    failure: BaseException, code: int, says: str
) -> None:
    # given a failure of the file system, raised under another (as libraries wrap them)
    try:
        try:
            raise failure
        except BaseException as inner:
            raise RuntimeError("writing failed") from inner
    except RuntimeError as outer:
        # when it is explained
        explained = explain(outer)
    # then it is one line with what to do and the I/O exit code; a partial file is named
    # as the file the user gave
    assert explained is not None
    assert explained.exit_code == code
    assert says in explained.line
    assert ".tmp-" not in explained.line
    assert "\n" not in explained.line


def test_a_tracking_failure_quoting_its_uri_is_masked_and_unavailable() -> None:
    from mlflow.exceptions import MlflowException

    # given MLflow failing with a message that quotes its URI, password and token
    failure = MlflowException(f"cannot reach http://u:{SECRET}@h:1/?token={SECRET}")
    # when it is explained, then it says the tracking store failed, masked, exit 69
    explained = explain(failure)
    assert explained is not None
    assert explained.exit_code == UNAVAILABLE
    assert SECRET not in explained.line
    assert "tracking store" in explained.line


def test_a_bug_is_not_explained_away() -> None:
    # given an exception no infrastructure raises, then it keeps its traceback
    assert explain(KeyError("column")) is None
    assert explain(UserError("bad input")).exit_code == 2


# -- commands on a hostile disk ------------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real, full file system (tmpfs of 64 KB, filled)."""
    with tiny_disk(tmp_path / "full") as disk:
        fill(disk)
        yield disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system of 64 KB with room left: a first write starts, then fills it."""
    with tiny_disk(tmp_path / "small", size="16k") as disk:
        yield disk


def _score(cli, small_data: Path, bundle_dir: Path, output: Path, *more: str) -> Result:
    videos = str(small_data / "videos.parquet")
    return cli(
        "score", "--input", videos, "--output", str(output), "--model", str(bundle_dir), *more
    )


@pytest.mark.parametrize("name", ["scores.csv", "scores.parquet"])
def test_score_onto_a_disk_that_fills_fails_in_one_line_and_leaves_nothing(
    cli, small_data: Path, bundle_dir: Path, small_disk: Path, name: str
) -> None:
    # given a disk too small for the scores
    # when they are written to it
    result = _score(cli, small_data, bundle_dir, small_disk / name)
    # then one line names the output and what to do, exit 74, and no partial file is left
    text = one_line_failure(result, IO_ERROR)
    assert f"{small_disk / name}: no space left" in text
    assert list(small_disk.iterdir()) == []


def test_materialize_onto_a_full_disk_leaves_no_file_that_is_not_a_store(
    cli, small_data: Path, small_disk: Path
) -> None:
    # given a fresh store path on a disk too small for the store
    store = small_disk / "creator_store.sqlite"
    # when the store is materialized there
    result = cli("features", "materialize", "--data", str(small_data), "--store", str(store))
    # then one line naming the store, exit 74, and no 4 KB non-store file (nor its
    # journal) stays behind
    assert f"{store}: " in one_line_failure(result, IO_ERROR)
    assert list(small_disk.iterdir()) == []


def test_score_onto_a_read_only_disk_says_so(
    cli, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    with tiny_disk(tmp_path / "ro") as disk:
        # given a read-only file system
        make_read_only(disk)
        # when scores are written to it
        result = _score(cli, small_data, bundle_dir, disk / "scores.csv")
        # then one line says it is read-only, exit 74
        assert "read-only" in one_line_failure(result, IO_ERROR)


@pytest.mark.parametrize("where", ["/proc/likecast-scores.csv", "/sys/likecast-scores.csv"])
def test_an_output_in_a_kernel_file_system_is_refused(
    cli, small_data: Path, bundle_dir: Path, where: str
) -> None:
    # when scores are written under /proc or /sys, then one line says to write elsewhere
    result = _score(cli, small_data, bundle_dir, Path(where))
    assert "kernel file system" in one_line_failure(result, IO_ERROR)


def test_evaluate_with_a_folder_as_output_leaves_no_partial_file(
    cli, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    # given a folder where the metrics file would go
    folder = tmp_path / "metrics"
    folder.mkdir()
    # when evaluate writes its metrics to it
    result = cli(
        "evaluate", "--data", str(small_data), "--model", str(bundle_dir), "--output", str(folder)
    )
    # then one line says it is a folder, and no .metrics.tmp-PID is left beside it
    assert "is a folder" in one_line_failure(result, IO_ERROR)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_symlink_loop_as_input_is_one_line(cli, bundle_dir: Path, tmp_path: Path) -> None:
    # given an input that is a symbolic link to itself
    loop = tmp_path / "videos.parquet"
    loop.symlink_to(loop)
    # when it is scored, then one line, no traceback
    output = str(tmp_path / "s.csv")
    result = cli("score", "--input", str(loop), "--output", output, "--model", str(bundle_dir))
    assert result.code != 0
    assert "Traceback" not in result.err
    assert str(loop) in result.text


# -- a Dask scheduler that is away or is not one ------------------------------------------


@pytest.fixture
def not_dask() -> Iterator[tuple[str, str]]:
    """Two TCP servers in this process that are not Dask: one silent until asked (as an
    HTTP server is), one that speaks first in another protocol (as SSH does)."""
    servers = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    stop = threading.Event()

    def serve(server: socket.socket, greeting: bytes) -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(greeting)
                stop.wait(2)

    threads = [
        threading.Thread(target=serve, args=(servers[0], b""), daemon=True),
        threading.Thread(target=serve, args=(servers[1], b"SSH-2.0-OpenSSH_9.2\r\n"), daemon=True),
    ]
    for thread in threads:
        thread.start()
    yield tuple(f"tcp://127.0.0.1:{s.getsockname()[1]}" for s in servers)  # type: ignore[misc]
    stop.set()
    for thread in threads:
        thread.join()
    for server in servers:
        server.close()


def test_a_silent_service_as_scheduler_is_refused_within_the_timeout(
    not_dask: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an HTTP-like port that says nothing until asked, and a short wait for Dask
    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT_S", 0.5)
    # when it is checked as a scheduler, then it is refused before Dask reads from it
    with pytest.raises(UserError, match="said nothing in 0 s: not a Dask scheduler") as caught:
        dask_cluster.check_scheduler(not_dask[0])
    assert caught.value.exit_code == UNAVAILABLE


def test_a_service_speaking_another_protocol_is_refused_at_once(
    cli, small_data: Path, bundle_dir: Path, tmp_path: Path, not_dask: tuple[str, str]
) -> None:
    # given a port whose server greets in another protocol (its first 8 bytes, read as a
    # Dask length, would be exabytes)
    # when score runs on it as a Dask scheduler
    result = _score(
        cli, small_data, bundle_dir, tmp_path / "out", "--engine", "dask", "--scheduler",
        not_dask[1],
    )  # fmt: skip
    # then one line says it is not a Dask scheduler, exit 69, and no partial folder is left
    assert "not as a Dask scheduler" in one_line_failure(result, UNAVAILABLE)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


@pytest.mark.parametrize(
    ("address", "code", "says"),
    [
        (f"tcp://dask:{SECRET}@127.0.0.1:8786", 2, "carries no user or password"),
        ("tcp://127.0.0.1:PORT", UNAVAILABLE, "cannot be reached"),
        ("tcp://no-such-host.invalid:8786", UNAVAILABLE, "cannot be reached"),
        ("tcp://127.0.0.1:99999", 2, "expected tcp://HOST:PORT"),
        ("tcp://127.0.0.1", 2, "expected tcp://HOST:PORT"),
    ],
)
def test_a_bad_or_unreachable_scheduler_is_one_line_in_train_and_score(
    cli, small_data: Path, bundle_dir: Path, tmp_path: Path, address: str, code: int, says: str
) -> None:
    address = address.replace("PORT", str(free_port()))  # nothing listens there
    # when train and score are each pointed at it
    trained = cli("train", "--data", str(small_data), "--engine", "dask", "--scheduler", address)
    scored = _score(
        cli, small_data, bundle_dir, tmp_path / "out", "--engine", "dask", "--scheduler", address
    )
    # then each fails in one line saying why, without the password
    for result in (trained, scored):
        assert says in one_line_failure(result, code)


def test_a_real_scheduler_passes_the_check() -> None:
    from dask.distributed import LocalCluster

    # given a Dask scheduler in this process (no workers: the check only greets it)
    with LocalCluster(
        n_workers=0, processes=False, dashboard_address=None, protocol="tcp://"
    ) as cluster:
        # when its address is checked, then it passes (its handshake is a small length)
        dask_cluster.check_scheduler(cluster.scheduler_address)


def test_a_scheduler_dask_cannot_connect_to_is_one_line_from_dask(
    cli, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    # given a TLS address without TLS configured (Dask raises a plain TypeError for it)
    address = f"tls://127.0.0.1:{free_port()}"
    # when score runs on it, then one line says the Dask cluster failed, exit 69
    result = _score(
        cli, small_data, bundle_dir, tmp_path / "out", "--engine", "dask", "--scheduler", address
    )
    assert "the Dask cluster failed" in one_line_failure(result, UNAVAILABLE)


def test_a_cluster_without_workers_is_refused_instead_of_waiting_for_ever(
    cli, small_data: Path, bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dask.distributed import LocalCluster

    # given a real scheduler (in this process) that no worker has joined
    monkeypatch.setattr(dask_cluster, "WORKERS_TIMEOUT_S", 0.5)
    with LocalCluster(
        n_workers=0, processes=False, dashboard_address=None, protocol="tcp://"
    ) as cluster:
        # when score runs on it
        result = _score(
            cli, small_data, bundle_dir, tmp_path / "out", "--engine", "dask", "--scheduler",
            cluster.scheduler_address,
        )  # fmt: skip
    # then one line says it has no workers, exit 69
    assert "the cluster has no workers" in one_line_failure(result, UNAVAILABLE)


@pytest.mark.parametrize("store", ["/proc/likecast-store.sqlite", "/sys/likecast/store.sqlite"])
@pytest.mark.slow
def test_a_creator_store_in_a_kernel_file_system_is_refused(
    cli, small_data: Path, store: str
) -> None:
    # when the creator store is materialized under /proc or /sys
    result = cli("features", "materialize", "--data", str(small_data), "--store", store)
    # then one line says to write elsewhere, exit 74
    assert "kernel file system" in one_line_failure(result, IO_ERROR)


@pytest.mark.parametrize("missing", ["sklearn", "matplotlib.pyplot", "dask", "optuna"])
def test_a_command_without_the_training_packages_says_what_to_install(missing: str) -> None:
    # given an installation without the `train` extra (the serve image), when a command
    # imports one of its packages, then one line says what to install, exit 2
    explained = explain(ModuleNotFoundError(f"No module named '{missing}'", name=missing))
    assert explained is not None
    assert explained.exit_code == 2
    printed = Text.from_markup(explained.line).plain  # as the CLI prints it, through rich
    assert "install likecast[train], or use the `full` image" in printed
    assert missing in printed


def test_a_missing_module_outside_the_training_packages_keeps_its_traceback() -> None:
    # a module of our own or of the serving packages missing is a bug: no line hides it
    assert explain(ModuleNotFoundError("No module named 'pandas'", name="pandas")) is None


def test_the_training_modules_are_the_train_extras_packages() -> None:
    # given the `train` extra's distributions and the import names each installs here
    extra = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["train"]
    wanted = {re.split(r"[\[<>=]", requirement)[0] for requirement in extra}
    imports = packages_distributions()
    # then each distribution has an import name among TRAINING_MODULES
    for distribution in wanted:
        names = {name for name, dists in imports.items() if distribution in dists}
        assert names & TRAINING_MODULES, f"{distribution} ({names}) not in TRAINING_MODULES"
