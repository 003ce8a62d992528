"""Hostile settings, params and broken models: one line and exit code 2, never a secret or
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import Result, broken_version, free_port

PASSWORD = "S3cretPassw0rd"


def _one_line_exit_2(result: Result) -> None:
    assert result.code == 2, result.text
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err


@pytest.mark.parametrize("command", [["models"], ["promote"], ["promote", "--force"]])
def test_a_password_in_the_tracking_uri_is_never_printed(command: list[str], cli) -> None:
    # given a tracking URI with credentials, to a server that is not there
    uri = f"http://admin:{PASSWORD}@127.0.0.1:{free_port()}/"
    # when a command connects to it
    result = cli(*command, env={"LIKECAST_TRACKING_URI": uri})
    # then it fails in one line naming the server, without the password
    _one_line_exit_2(result)
    assert "is unreachable" in result.text
    assert "127.0.0.1" in result.text
    assert PASSWORD not in result.out + result.err


def test_a_database_uri_without_its_driver_is_one_line(cli) -> None:
    # given a MySQL tracking URI, whose driver is not installed here (PostgreSQL's is: the
    # creator store's psycopg)
    uri = f"mysql://admin:{PASSWORD}@127.0.0.1:{free_port()}/mlflow"
    # when a command connects to it
    result = cli("models", env={"LIKECAST_TRACKING_URI": uri})
    # then one line says what is missing, without the password
    _one_line_exit_2(result)
    assert "driver" in result.text
    assert PASSWORD not in result.out + result.err


@pytest.mark.parametrize("model", ["/etc", "empty", "garbage", "bad-mlmodel", "registry"])
@pytest.mark.slow
def test_evaluate_with_a_model_that_is_not_one_exits_2(
    model: str, small_data: Path, tmp_path: Path, cli, tracking_store: Path
) -> None:
    # given a --model that is no likecast model (the registry's in a store whose tables
    # were made once per run)
    home = tracking_store
    folder = tmp_path / "model"
    folder.mkdir()
    target = str(folder)
    if model == "garbage":
        for name in ("model.txt", "calibrator.json", "feature_spec.json", "meta.json"):
            (folder / name).write_text("not a model \x00\xff")
    elif model == "bad-mlmodel":
        (folder / "MLmodel").write_text("flavors: [unclosed\n  : :")
    elif model == "registry":
        target = f"models:/likecast/{broken_version(home)}"
    elif model == "/etc":
        target = "/etc"
    # when it is evaluated
    result = cli(
        "evaluate", "--data", str(small_data), "--model", target, env={"LIKECAST_HOME": str(home)}
    )
    # then one line names it
    _one_line_exit_2(result)
    assert "not a likecast model" in result.text or "unreadable" in result.text


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"n_estimators": 100, "num_leaves": 31}, "unknown LightGBM parameters n_estimators"),
        ({"num_leaves": "many"}, "num_leaves must be a whole number"),
        ({"num_threads": 8}, "set by likecast, not by --params: num_threads"),
    ],
)
def test_a_params_file_with_a_wrong_key_or_value_is_refused_in_one_line(
    params: dict, named: str, tmp_path: Path, cli
) -> None:
    # given a params file with an unknown key, a non-numeric value or a fixed key
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    # when training is asked to use it
    result = cli("train", "--data", str(tmp_path), "--params", str(path))
    # then it stops before any work, in one line naming the file and the key
    _one_line_exit_2(result)
    assert named in result.text
    assert str(path) in result.text


def test_dask_only_options_are_refused_with_the_local_engine(cli, small_data: Path) -> None:
    # given the local engine, when a Dask-only option is given, then exit 2 naming the fix
    result = cli("train", "--data", str(small_data), "--negative-rate", "0.5")
    assert result.code == 2
    assert "--negative-rate needs --engine dask" in result.text
