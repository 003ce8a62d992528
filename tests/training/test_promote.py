"""Promotion under concurrency, against the baselines, and its exit codes, against a real
`mlflow server`."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from features.loading import fingerprint, load_dataset
from features.simulation.config import SimConfig
from features.simulation.generate import simulate
from features.simulation.writing import write_platform
from likecast.settings import Settings
from models.mlflow_client import connect
from tests.helpers import UNMONITORED, mlflow_server_in
from training.promote import promote
from training.tracking import log_and_register
from training.train import StageClock, fit_set, training_set

pytestmark = [pytest.mark.server, pytest.mark.subprocess]  # an mlflow server; `git` at logging

WEAK = {"num_boost_round": 2, "num_leaves": 2}
MEDIUM = {"num_boost_round": 12, "num_leaves": 4}
# 100 rounds already beat every baseline here, in a tenth of the defaults' time (600 rounds)
STRONG = {"num_boost_round": 100}


# the smallest simulated platform tried on which default LightGBM beats every baseline at
# every age (on 4,000-12,000 videos logistic wins somewhere: docs/adr/0024)
BIG_ENOUGH = SimConfig(videos=20_000, seed=7, pilot_videos=4000)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, empty_store: Path):
    """A server holding v1 (weak), v2 (medium), both beaten by baselines, and v3, which
    beats them all."""
    data = tmp_path_factory.mktemp("promote-data")
    write_platform(simulate(BIG_ENOUGH), data)
    dataset = load_dataset(data)
    with mlflow_server_in(tmp_path_factory.mktemp("promote-registry"), empty_store) as url:
        home = tmp_path_factory.mktemp("promote-home")
        settings = Settings(home=home, tracking_uri=url, **UNMONITORED)
        prints = fingerprint(data, dataset)
        # the examples and features once: the three models differ only in their parameters
        examples = training_set(dataset, settings)
        for params in (WEAK, MEDIUM, STRONG):
            outcome = fit_set(examples, settings, params, StageClock(lambda _stage: None))
            # without plots and report: promotion reads neither (test_cli.py checks them)
            log_and_register(outcome, prints, settings, "promote-tests", report=False)
        yield url, home


def _champion(url: str) -> str:
    return str(MlflowClient(url, url).get_model_version_by_alias("likecast", "champion").version)


class _Ordered(MlflowClient):
    """The real client, with points where a test can order two promotions' steps."""

    def __init__(self, url: str, on_read=None, before_set=None) -> None:
        super().__init__(url, url)
        self.on_read, self.before_set, self.reads = on_read, before_set, 0

    def get_model_version_by_alias(self, name: str, alias: str):
        found = super().get_model_version_by_alias(name, alias)
        self.reads += 1
        if self.on_read:
            self.on_read(self.reads)
        return found

    def set_registered_model_alias(self, name: str, alias: str, version) -> None:
        if self.before_set:
            self.before_set(str(version))
        super().set_registered_model_alias(name, alias, version)


def test_two_promotes_at_once_leave_the_better_model_champion(registry) -> None:
    # given v1 holds @champion, and v3 is better than v2, which is better than v1
    url, home = registry
    settings = Settings(home=home, tracking_uri=url)
    connect(settings).set_registered_model_alias("likecast", "champion", "1")
    v3_read, v3_set = threading.Event(), threading.Event()
    decisions: dict[str, object] = {}

    def run(version: str, client: MlflowClient) -> None:
        decisions[version] = promote(client, settings, "champion", version)

    # when v3 is promoted, and v2 once v3 has read the alias, with v2's move (if any)
    # after v3's: the order that, unguarded, let the worse v2 end up champion
    first = _Ordered(url, on_read=lambda n: v3_read.set(), before_set=lambda v: v3_set.set())
    second = _Ordered(url, before_set=lambda v: v3_set.wait(120))
    best = threading.Thread(target=run, args=("3", first))
    best.start()
    assert v3_read.wait(120)
    worse = threading.Thread(target=run, args=("2", second))
    worse.start()
    best.join(300)
    worse.join(300)
    # then v3 holds the alias: v2 was compared with v3, not with the v1 it first saw
    assert _champion(url) == "3", decisions
    assert decisions["3"].moved
    assert not decisions["2"].moved
    assert decisions["2"].champion == "3"


def test_an_alias_moved_during_the_comparison_is_compared_again(registry) -> None:
    # given v1 holds @champion and v3 is being compared with it
    url, home = registry
    settings = Settings(home=home, tracking_uri=url)
    connect(settings).set_registered_model_alias("likecast", "champion", "1")

    def someone_else_moves_it(reads: int) -> None:
        if reads == 1:  # after the first look, before the move
            MlflowClient(url, url).set_registered_model_alias("likecast", "champion", "2")

    # when someone outside likecast moves the alias to v2 meanwhile
    decision = promote(_Ordered(url, on_read=someone_else_moves_it), settings, "champion", "3")
    # then v3 is compared with v2 too, and moved over it
    assert decision.moved, decision.reason
    assert decision.champion == "2"
    assert _champion(url) == "3"


def test_a_version_no_baseline_beats_takes_an_unset_alias(registry, cli) -> None:
    # given an alias no version holds
    url, home = registry
    env = {"LIKECAST_HOME": str(home), "LIKECAST_TRACKING_URI": url}
    # when v3, which every baseline loses to, is promoted to it
    promoted = cli("promote", "--version", "3", "--alias", "canary", env=env)
    # then it moves
    assert promoted.code == 0, promoted.text
    assert "@canary moved on version 3: no version held @canary" in promoted.text
    # and v2, which the baselines beat, is refused where no version holds the alias either
    refused = cli("promote", "--version", "2", "--alias", "canary-2", env=env)
    assert refused.code == 3, refused.text
    assert "not moved to version 2: version 2 loses to a baseline:" in refused.text


def test_a_refused_promotion_exits_3_and_force_overrides(registry, cli) -> None:
    # given v3 holds @champion
    url, home = registry
    env = {"LIKECAST_HOME": str(home), "LIKECAST_TRACKING_URI": url}
    assert cli("promote", "--version", "3", "--force", env=env).code == 0
    # when the weaker v1 is promoted
    refused = cli("promote", "--version", "1", env=env)
    # then it is refused with exit code 3, for both reasons, and the alias stays
    assert refused.code == 3, refused.text
    assert "@champion kept on version 3: measurably worse" in refused.text
    assert "; version 1 loses to a baseline: " in refused.text
    assert _champion(url) == "3"
    # and --force moves it anyway
    forced = cli("promote", "--version", "1", "--force", env=env)
    assert forced.code == 0, forced.text
    assert _champion(url) == "1"
