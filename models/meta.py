"""What a bundle records about its training (meta.json), typed and with a format version.

An older bundle's record is brought to the current form in one step at load (``upgrade``),
so nothing that reads it handles old forms (docs/adr/0043).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

# 1: bundles saved before the version was written (no ``format_version``; ``by_age``,
# ``draft_choices`` and ``category_rates`` absent from the oldest). 2: every field named.
FORMAT_VERSION = 2


class MetaError(ValueError):
    """A bundle's record cannot be read; the message names the field, in one line."""


class BundleMeta(BaseModel):
    """When a model was trained, for what target, how well, and what its answers quote.

    A field's default is its "not recorded" value: what a bundle saved before training
    recorded it says, and what a bundle has while it is being trained.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    format_version: int = FORMAT_VERSION
    trained_at: str | None = None  # ISO 8601, UTC
    threshold: int | None = None
    horizon_days: float | None = None
    calibration: str | None = None  # the last step's method: "blend", or an older calibrator's
    best_iteration: int | None = None
    # the run's test metrics, LightGBM's (``test_*``) and the baselines', without per-age ones
    metrics: dict[str, float] = {}
    # LightGBM's test metrics per age bucket (``str(age)``), None where undefined
    by_age: dict[str, dict[str, float | None]] | None = None
    split_cutoffs: dict[str, str] = {}  # each slice's first posting time
    base_rate: float | None = None  # the train slice's hit rate
    # median engagement rates: feature -> category (and "_all") -> median
    typical: dict[str, dict[str, float]] = {}
    # what the what-if may advise on: choice -> loss_increase, standard_error, measurable
    draft_choices: dict[str, dict[str, float | bool]] = {}
    # each category's share of training videos that reached the threshold: rate, videos
    category_rates: dict[str, dict[str, float | int]] | None = None

    def to_json(self, indent: int | None = None) -> str:
        """The record as meta.json: every field named, so a reader sees what was absent."""
        return json.dumps(self.model_dump(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> BundleMeta:
        """The record from meta.json of any format up to ``FORMAT_VERSION``.

        Raises:
            MetaError: the text is no JSON object, is from a newer format, or a field is
                missing, unknown or of the wrong type (named).
        """
        try:
            saved = json.loads(text)
        except ValueError as exc:
            raise MetaError(f"meta.json is not JSON ({exc})") from exc
        if not isinstance(saved, dict):
            raise MetaError(f"meta.json holds a {type(saved).__name__}, not an object")
        current = upgrade(saved)
        missing = sorted(set(cls.model_fields) - set(current))
        if missing:
            raise MetaError(f"meta.json: {missing[0]}: missing")
        try:
            return cls.model_validate(current)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise MetaError(f"meta.json: {where}: {first['msg']}") from exc


# the values a bundle of format 1 means by leaving a field out
_NOT_RECORDED: dict[str, Any] = {
    name: field.default for name, field in BundleMeta.model_fields.items()
}


def upgrade(saved: dict[str, Any]) -> dict[str, Any]:
    """``saved`` (a parsed meta.json) in the current format's form.

    Format 1 wrote no version and left out what training did not record yet; format 2
    names every field. A newer format than this code knows is refused: its fields may mean
    what this code cannot tell.
    """
    version = saved.get("format_version", 1)
    if type(version) is not int or version < 1:
        raise MetaError(f"meta.json: format_version: {version!r} is no format version")
    if version > FORMAT_VERSION:
        raise MetaError(
            f"meta.json is bundle format {version}, newer than this likecast reads "
            f"({FORMAT_VERSION}): upgrade likecast to load it"
        )
    if version == 1:
        return {**_NOT_RECORDED, **saved, "format_version": FORMAT_VERSION}
    return saved
