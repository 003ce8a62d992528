"""The target on the registered version, against a real `mlflow server`: its tags and
description, `likecast models`, `promote` refusing another target, and the commands that
build for the champion's target."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from features.loading import Dataset, fingerprint
from features.store import CreatorStore
from likecast.settings import Settings
from likecast.target import Target
from models.registry import champion_target
from tests.conftest import mlflow_server_in
from tests.helpers import UNMONITORED, materialize
from training.tracking import log_and_register
from training.train import TrainOutcome, fit

pytestmark = [pytest.mark.server, pytest.mark.subprocess]  # mlflow server, likecast CLI

OTHER = Target(2000, 5 * 1440)
TARGETS = {"1": Target(1000, 7 * 1440), "2": OTHER}


@dataclass(frozen=True)
class Registry:
    url: str
    client: MlflowClient

    def crown(self, version: str) -> None:
        """Make ``version`` the champion, as a forced promotion would."""
        self.client.set_registered_model_alias("likecast", "champion", version)


@pytest.fixture(scope="module")
def registry(
    trained: TrainOutcome,
    small_data: Path,
    small_dataset: Dataset,
    tmp_path_factory: pytest.TempPathFactory,
    empty_store: Path,
) -> Iterator[Registry]:
    """A server holding version 1 (1,000 likes within 7 days, the session's model) and
    version 2 (2,000 likes within 5 days, a few rounds on the same data)."""
    with mlflow_server_in(tmp_path_factory.mktemp("target-registry"), empty_store) as url:
        home = tmp_path_factory.mktemp("target-home")
        settings = Settings(home=home, tracking_uri=url, **UNMONITORED)
        prints = fingerprint(small_data, small_dataset)
        other = fit(small_dataset, OTHER.settings(settings), {"num_boost_round": 20})
        for outcome in (trained, other):
            # without plots and report: no test here reads them (test_cli.py checks them)
            log_and_register(outcome, prints, settings, "target-tests", report=False)
        yield Registry(url, MlflowClient(url, url))


@pytest.mark.parametrize("version", sorted(TARGETS))
def test_a_registered_version_carries_its_target(registry: Registry, version: str) -> None:
    # given a version registered by training, when the registry is asked about it
    held = registry.client.get_model_version("likecast", version)
    # then its tags and its description say what it predicts
    assert Target.from_tags(held.tags) == TARGETS[version]
    assert held.description == f"Predicts whether a video reaches {TARGETS[version]} of posting."


def test_models_lists_each_versions_target(registry: Registry, cli) -> None:
    # given two versions of different targets, when they are listed
    listed = cli("models", env={"LIKECAST_TRACKING_URI": registry.url, "COLUMNS": "200"})
    # then each row names its own target
    assert listed.code == 0, listed.err
    rows = {line.split("│")[1].strip(): line for line in listed.out.splitlines() if "│" in line}
    assert "1,000/7d" in rows["1"]
    assert "2,000/5d" in rows["2"]


def test_promote_refuses_another_target_unless_forced(registry: Registry, cli) -> None:
    # given version 1 (1,000 likes within 7 days) as champion
    registry.crown("1")
    env = {"LIKECAST_TRACKING_URI": registry.url}
    # when version 2, another target, is promoted, then forced
    refused = cli("promote", "--version", "2", env=env)
    kept = registry.client.get_model_version_by_alias("likecast", "champion").version
    forced = cli("promote", "--version", "2", "--force", env=env)
    moved = registry.client.get_model_version_by_alias("likecast", "champion").version
    # then it is refused with exit 3, in one line saying what differs; forced, it moves and
    # says the store must be built for the new target
    assert refused.code == 3
    assert str(kept) == "1"
    assert (
        "@champion kept on version 1: version 2 predicts 2,000 likes within 5 days, the "
        "champion (version 1) 1,000 likes within 7 days: threshold 2,000 vs 1,000 likes and "
        "horizon 5 vs 7 days; promote it with --force to change target"
    ) in refused.text
    assert len(refused.out.strip().splitlines()) == 1
    assert forced.code == 0, forced.err
    assert str(moved) == "2"
    assert "changing the target from 1,000 likes within 7 days to 2,000 likes" in forced.text
    assert "--threshold 2000 --horizon-days 5" in forced.text


@pytest.mark.parametrize("version", sorted(TARGETS))
def test_the_champions_target_is_read_from_the_registry(registry: Registry, version: str) -> None:
    # given a champion, when its target is asked for, then it is its version's
    registry.crown(version)
    settings = Settings(home=Path("/nonexistent"), tracking_uri=registry.url)
    assert champion_target(settings) == (TARGETS[version], version)


@pytest.mark.parametrize(
    ("options", "expected", "source"),
    [
        ((), OTHER, "(version 2's, the champion)"),
        (
            ("--threshold", "1500"),
            Target(1500, OTHER.horizon_minutes),
            "(given in part, the rest version 2's, the champion)",
        ),
        (("--threshold", "1000", "--horizon-days", "7"), TARGETS["1"], "(given)"),
    ],
)
def test_materialize_builds_for_the_champions_target_unless_given(
    registry: Registry,
    options: tuple[str, ...],
    expected: Target,
    source: str,
    small_data: Path,
    tmp_path: Path,
    cli,
) -> None:
    # given version 2 (2,000 likes within 5 days) as champion
    registry.crown("2")
    path = tmp_path / "s.sqlite"
    # when the creator store is materialized
    result = materialize(
        cli, small_data, path, *options, env={"LIKECAST_TRACKING_URI": registry.url}
    )
    # then it is built for the champion's target, or for what was given, and says which
    assert result.code == 0, result.err
    assert CreatorStore(path).target == expected
    assert f"for {expected} {source}" in result.text
