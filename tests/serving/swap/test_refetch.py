"""A worker restarted over a corrupt local copy of the model downloads it again."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import psutil
import pytest

from serving.swap.fetch import FetchedVersion
from tests.helpers import DRAFT, Served, wait_until

pytestmark = pytest.mark.server


def _workers(served: Served) -> list[psutil.Process]:
    children = psutil.Process(served.process.pid).children(recursive=True)
    return [p for p in children if "_bentoml_impl.worker" in " ".join(p.cmdline())]


def _is_model(path: Path) -> bool:
    try:
        return path.read_bytes().startswith(b"tree")
    except OSError:
        return False


def test_a_restarted_worker_refetches_a_corrupt_model_copy(served: Served) -> None:
    # given the served version's local copy (serving.json names it) corrupted on disk;
    # earlier tests may have left other versions' copies beside it
    (serving_json,) = (served.home / "serving").glob("*/serving.json")
    served_folder = Path(FetchedVersion.from_json(serving_json.read_text()).folder)
    (model_txt,) = served_folder.rglob("model.txt")
    model_txt.write_text("corrupted")
    # when a worker dies and BentoML starts another
    victim = _workers(served)[0]
    os.kill(victim.pid, signal.SIGKILL)
    # then the new worker downloads the version again instead of crash-looping
    wait_until(lambda: _is_model(model_txt), 180, "download of the corrupt copy")
    # and the service answers on every connection, whichever worker takes it
    wait_until(lambda: len(_workers(served)) >= 2, 180, "second worker")
    replies = [httpx.post(f"{served.url}/predict_draft", json=DRAFT, timeout=30) for _ in range(20)]
    assert {r.status_code for r in replies} == {200}
