"""The target a model predicts (a like threshold within a horizon), carried from command to command.

A model answers one question: does a video reach ``threshold`` likes within
``horizon_minutes`` of posting? Everything built for a model (its labels, the creator store's
hit rates, the tuning search, the words of its answers) must be built for that same question,
so the target travels with the model: in its bundle, on its registry version, in the store.
A command that builds something for the model takes the target, in this order, from what the
user gave (an option, or a ``LIKECAST_THRESHOLD``/``LIKECAST_HORIZON_DAYS`` setting), from the
registry's champion, and only then from the settings' defaults (docs/adr/0037).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from likecast.settings import Settings

THRESHOLD_TAG = "likecast.threshold"
HORIZON_TAG = "likecast.horizon_days"


@dataclass(frozen=True)
class Target:
    """A like threshold and the horizon a video has to reach it."""

    threshold: int
    horizon_minutes: float

    def __post_init__(self) -> None:
        # days and minutes convert with float noise (0.1 * 24 * 60 != 0.1 * 1440): rounded to
        # a microminute, the same horizon compares equal whichever way it was written down
        object.__setattr__(self, "threshold", int(self.threshold))
        object.__setattr__(self, "horizon_minutes", round(float(self.horizon_minutes), 6))

    @classmethod
    def of(cls, settings: Settings) -> Target:
        """The target ``settings`` name."""
        return cls(settings.threshold, settings.horizon_minutes)

    @property
    def horizon_days(self) -> float:
        """The horizon in days, the unit a user gives it in."""
        return self.horizon_minutes / 1440

    def __str__(self) -> str:
        return f"{self.threshold:,} likes within {self.horizon_days:g} days"

    def options(self) -> str:
        """The command-line options that ask for this target, for commands printed to a user."""
        return f"--threshold {self.threshold} --horizon-days {self.horizon_days:.10g}"

    def tags(self) -> dict[str, str]:
        """The target as registry tags of a model version."""
        return {THRESHOLD_TAG: str(self.threshold), HORIZON_TAG: f"{self.horizon_days:.10g}"}

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> Target | None:
        """The target a version's tags record; None when they do not (versions registered
        before the target was tagged)."""
        try:
            return cls(int(tags[THRESHOLD_TAG]), float(tags[HORIZON_TAG]) * 1440)
        except (KeyError, ValueError):
            return None

    def differences(self, other: Target) -> str:
        """What differs from ``other``, in words ("" when nothing does)."""
        parts = []
        if self.threshold != other.threshold:
            parts.append(f"threshold {self.threshold:,} vs {other.threshold:,} likes")
        if self.horizon_minutes != other.horizon_minutes:
            parts.append(f"horizon {self.horizon_days:g} vs {other.horizon_days:g} days")
        return " and ".join(parts)

    def settings(self, settings: Settings) -> Settings:
        """``settings`` asking for this target."""
        return settings.model_copy(
            update={"threshold": self.threshold, "horizon_days": self.horizon_days}
        )


# The champion's target and version, or None when no version holds the serving alias. Read from
# the registry (``models.registry.champion_target``), which only the packages right of
# ``features`` may import: the CLI root hands it to the feature commands (``TargetSource``).
ChampionTarget = Callable[[Settings], tuple[Target, str] | None]


@dataclass(frozen=True)
class TargetSource:
    """Where a command finds the champion's target; the CLI root passes it as click's ``obj``."""

    champion: ChampionTarget | None = None


def resolve_target(
    settings: Settings,
    threshold: int | None,
    horizon_days: float | None,
    champion: ChampionTarget | None,
) -> tuple[Settings, str]:
    """``settings`` with the target to build for, and where it came from, in words.

    Each part is taken from the option when given, else from an explicit setting, else from
    the champion (asked only when a part is still open), else from the settings' default.
    """
    given = {
        "threshold": threshold if threshold is not None else _set(settings, "threshold"),
        "horizon_days": (
            horizon_days if horizon_days is not None else _set(settings, "horizon_days")
        ),
    }
    held = champion(settings) if champion and None in given.values() else None
    if held is not None:
        target, version = held
        taken = {"threshold": target.threshold, "horizon_days": target.horizon_days}
        source = f"version {version}'s, the champion"
    else:
        taken = {"threshold": settings.threshold, "horizon_days": settings.horizon_days}
        source = "the default"
    if None not in given.values():
        source = "given"
    elif given["threshold"] is not None or given["horizon_days"] is not None:
        source = f"given in part, the rest {source}"
    chosen = {k: v if v is not None else taken[k] for k, v in given.items()}
    return settings.model_copy(update=chosen), source


def _set(settings: Settings, name: str) -> float | None:
    """A setting's value when the environment set it explicitly; None for a default."""
    return getattr(settings, name) if name in settings.model_fields_set else None
