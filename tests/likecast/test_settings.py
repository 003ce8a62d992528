"""Settings: documented defaults, the environment, and one-line errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from likecast.errors import UserError
from likecast.settings import FIRST_DAY_AGES_MINUTES, Settings, age_grid, get_settings
from serving.cli import main


def test_settings_defaults_match_the_documented_ones(monkeypatch) -> None:
    monkeypatch.delenv("LIKECAST_HOME")
    monkeypatch.delenv("LIKECAST_LGBM_THREADS", raising=False)  # one in tests (tests/__init__.py)
    settings = Settings()
    assert settings.home == Path(".likecast")
    assert settings.resolved_tracking_uri == f"sqlite:///{Path('.likecast').resolve()}/mlflow.db"
    assert (settings.model_name, settings.alias) == ("likecast", "champion")
    assert (settings.threshold, settings.horizon_days) == (1000, 7.0)
    assert (settings.host, settings.port) == ("127.0.0.1", 3000)
    assert settings.lgbm_threads == 2


def test_settings_read_the_environment_and_are_frozen(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIKECAST_HOME", str(tmp_path))
    monkeypatch.setenv("LIKECAST_THRESHOLD", "500")
    settings = get_settings()
    assert settings.threshold == 500
    assert settings.store_path == tmp_path / "creator_store.sqlite"
    with pytest.raises(ValueError, match="frozen"):
        settings.threshold = 10
    monkeypatch.setenv("LIKECAST_TIMEZONE", "Mars/Olympus")
    with pytest.raises(UserError, match=r"LIKECAST_TIMEZONE: .*unknown time zone"):
        get_settings()


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("LIKECAST_SERVICE_WORKERS", "0", "greater than or equal to 1"),
        ("LIKECAST_THRESHOLD", "many", "valid integer"),
        ("LIKECAST_TIMEZONE", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    monkeypatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, rule: str
) -> None:
    # given a bad value in the environment
    monkeypatch.setenv(variable, value)
    # when a command reads its settings
    code = main(["serve"])
    # then it exits 2 with one line naming the variable and the rule, no traceback
    err = capsys.readouterr().err
    assert code == 2
    assert variable in err
    assert rule in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("horizon_days", [0.5, 1, 7, 30])
def test_the_age_grid_runs_from_posting_to_the_horizon_doubling_after_a_day(
    horizon_days: float,
) -> None:
    # given a horizon
    horizon = horizon_days * 24 * 60
    # when the default training ages are derived from it
    ages = age_grid(horizon)
    # then they start at posting, rise, double after the first day, and end with the
    # horizon's last hour and the horizon
    assert ages[0] == 0
    assert ages[-2:] == (horizon - 60, horizon)
    assert list(ages) == sorted(set(ages))
    first_day = [a for a in FIRST_DAY_AGES_MINUTES if a < horizon]
    assert list(ages[: len(first_day)]) == first_day
    later = ages[len(first_day) : -2]
    assert all(b == 2 * a for a, b in zip(ages[len(first_day) - 1 : -3], later, strict=True))


def test_explicit_ages_are_sorted_and_deduplicated(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, ages_minutes=(60, 0, 15, 60))
    assert settings.training_ages == (0.0, 15.0, 60.0)
    assert settings.champion_uri == "models:/likecast@champion"
