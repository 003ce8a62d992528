"""`likecast serve` with a model that cannot load fails at once, not in a worker crash loop."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import BIN, broken_version, free_port

pytestmark = pytest.mark.subprocess


def _serve(model: str, home: Path, timeout: float) -> tuple[int | None, str]:
    """``likecast serve`` in its own process group, all of it killed if still up at ``timeout``."""
    leaked = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    env = {k: v for k, v in os.environ.items() if k not in leaked} | {"LIKECAST_HOME": str(home)}
    command = [str(BIN / "likecast"), "serve", "--port", str(free_port()), "--model", model]
    process = subprocess.Popen(
        command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the supervisor and its workers
        _, err = process.communicate()
        return None, err
    return process.returncode, err


@pytest.mark.parametrize("model", ["/etc", "empty", "garbage", "registry"])
def test_serve_with_a_model_that_cannot_load_exits_2_in_one_line(
    model: str, tmp_path: Path
) -> None:
    # given a model folder or registry version that is no likecast model
    home = tmp_path / "home"
    home.mkdir()
    folder = tmp_path / "model"
    folder.mkdir()
    target = {"/etc": "/etc", "empty": str(folder), "garbage": str(folder)}.get(model, "")
    if model == "garbage":
        for name in ("model.txt", "calibrator.json", "feature_spec.json", "meta.json"):
            (folder / name).write_text("{not a model")
    if model == "registry":
        target = f"models:/likecast/{broken_version(home)}"
    # when it is served
    code, err = _serve(target, home, timeout=60)
    # then the command ends with exit code 2 and one line, and serves nothing
    assert code == 2, err[-2000:]
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "not a likecast model" in err or "unreadable" in err
