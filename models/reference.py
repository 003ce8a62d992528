"""The drift reference a bundle carries (reference.json): what its inputs and answers looked like.

Built at training from held-out rows (``training.monitor.reference``), read by ``likecast
monitor drift``. Only counts in bins are kept, never rows: it stays a few tens of KB and
holds nothing a caller sent.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# 2: ``periods`` (the reference's own pace of change); a version 1 reference has none
FORMAT_VERSION = 2
# the answers' distribution is kept beside the features' under this name
ANSWER = "answer"
# the feature whose bins are the category mix: one bin per code, named by ``categories``
CATEGORY = "category"


class Bins(BaseModel):
    """How to bin one quantity: ascending cut points (``numpy.searchsorted(..., side="right")``
    gives ``len(edges) + 1`` value bins), then one bin for unknown values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    edges: list[float]

    @property
    def size(self) -> int:
        return len(self.edges) + 2


class Population(BaseModel):
    """The reference's rows of one age bucket: counts per bin of every quantity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: int = Field(ge=0)
    counts: dict[str, list[int]] = Field(description="Feature (or the answer) -> its bins' counts.")


class Period(BaseModel):
    """One of the reference's successive slices by posting time: its shares per bin of every
    quantity, ages mixed like the whole reference's, so periods differ by time alone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    posted_from: AwareDatetime
    posted_until: AwareDatetime
    middle: AwareDatetime = Field(description="The median posting time of its rows.")
    rows: int = Field(ge=0)
    videos: int = Field(ge=0)
    shares: dict[str, list[float]] = Field(description="Quantity -> its bins' shares.")


class Reference(BaseModel):
    """Binned distributions per age bucket, and how much the model leans on each feature."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = FORMAT_VERSION
    source: str = Field(description="Which rows it was built from, in words.")
    rows: int = Field(ge=0)
    videos: int = Field(
        ge=0, description="Distinct videos among the rows: one video is a row at each age."
    )
    bins: dict[str, Bins] = Field(description="Feature (and the answer) -> its bins.")
    categories: list[str] = Field(description="The category codes' names, in code order.")
    by_age: dict[str, Population] = Field(description="Age bucket (minutes, as '%g') -> rows.")
    attribution: dict[str, float] = Field(
        description="Feature -> mean |SHAP| (log-odds) on the reference's rows."
    )
    periods: list[Period] = Field(
        default_factory=list,
        description="Successive slices by posting time, oldest first; empty in a reference "
        "built before they were kept (its drift thresholds then have no pace part).",
    )

    @property
    def middle(self) -> datetime | None:
        """The reference's middle in time: its periods' middles averaged (equal rows each)."""
        if not self.periods:
            return None
        first = self.periods[0].middle
        return first + sum((p.middle - first for p in self.periods), first - first) / len(
            self.periods
        )

    @model_validator(mode="after")
    def _counts_fit_bins(self) -> Reference:
        for age, population in self.by_age.items():
            for name, counts in population.counts.items():
                if name not in self.bins or len(counts) != self.bins[name].size:
                    raise ValueError(f"age {age}: {name}'s counts do not fit its bins")
        for k, period in enumerate(self.periods):
            for name, shares in period.shares.items():
                if name not in self.bins or len(shares) != self.bins[name].size:
                    raise ValueError(f"period {k}: {name}'s shares do not fit its bins")
        return self

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Reference:
        return cls.model_validate_json(text)
