"""A bundle's record (meta.json): typed, versioned, an older one upgraded at load, a newer
or malformed one refused in one line naming the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models.bundle import BundleError, ModelBundle
from models.meta import FORMAT_VERSION, BundleMeta

SAVED = Path(__file__).parent / "data" / "bundle-2026-12-02" / "bundle"


def _copy_with_meta(tmp_path: Path, meta: object) -> Path:
    """The saved old bundle, copied, with ``meta`` as its meta.json (a str is written as is)."""
    folder = tmp_path / "bundle"
    shutil.copytree(SAVED, folder)
    text = meta if isinstance(meta, str) else json.dumps(meta)
    (folder / "meta.json").write_text(text)
    return folder


def _current(**changes: object) -> dict[str, object]:
    """The old bundle's record in the current format, with ``changes``."""
    return {**ModelBundle.load(SAVED).meta.model_dump(), **changes}


def test_a_record_without_a_version_is_upgraded_at_load() -> None:
    # given the bundle saved on 2026-12-02: no format version, no by_age, no draft choices,
    # no category rates, and an older calibrator than the blend
    saved = json.loads((SAVED / "meta.json").read_text())
    assert "format_version" not in saved
    assert not {"by_age", "draft_choices", "category_rates"} & set(saved)
    # when it is loaded
    meta = ModelBundle.load(SAVED).meta
    # then its record is the current format's, what it held kept, the rest "not recorded"
    assert meta.format_version == FORMAT_VERSION
    assert meta.trained_at == saved["trained_at"]
    assert meta.metrics == saved["metrics"]
    assert meta.typical == saved["typical"]
    assert meta.calibration == "platt"
    assert meta.by_age is None
    assert meta.category_rates is None
    assert meta.draft_choices == {}


def test_an_upgraded_record_is_saved_in_the_current_format(tmp_path: Path) -> None:
    # given an old bundle loaded (its record upgraded)
    bundle = ModelBundle.load(SAVED)
    # when it is saved again
    folder = bundle.save(tmp_path / "again")
    # then meta.json names its version and every field, and reads back the same
    written = json.loads((folder / "meta.json").read_text())
    assert written["format_version"] == FORMAT_VERSION
    assert set(written) == set(BundleMeta.model_fields)
    assert ModelBundle.load(folder).meta == bundle.meta


def test_a_bundle_of_a_newer_format_is_refused_in_one_line(tmp_path: Path) -> None:
    # given a bundle whose record is of a format after this code's
    folder = _copy_with_meta(tmp_path, _current(format_version=FORMAT_VERSION + 1))
    # when it is loaded, then it is refused, saying which format and what to do
    with pytest.raises(BundleError) as refused:
        ModelBundle.load(folder)
    message = str(refused.value)
    assert f"bundle format {FORMAT_VERSION + 1}, newer than this likecast reads" in message
    assert "upgrade likecast" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"metrics": {"test_roc_auc": "high"}}, r"meta\.json: metrics\.test_roc_auc: "),
        ({"threshold": 1000.5}, r"meta\.json: threshold: "),
        ({"by_age": {"0": {"roc_auc": "n/a"}}}, r"meta\.json: by_age\.0\.roc_auc"),
        ({"format_version": "2"}, r"meta\.json: format_version: '2' is no format version"),
        ({"favourite_colour": "blue"}, r"meta\.json: favourite_colour: Extra inputs"),
    ],
)
def test_a_wrongly_typed_record_is_refused_naming_the_field(
    tmp_path: Path, changes: dict[str, object], named: str
) -> None:
    # given a current-format record with one field of the wrong type, or one unknown
    folder = _copy_with_meta(tmp_path, _current(**changes))
    # when it is loaded, then the error names the bundle and the field
    with pytest.raises(BundleError, match=named) as refused:
        ModelBundle.load(folder)
    assert str(folder) in str(refused.value)


def test_a_current_record_missing_a_field_is_refused_naming_it(tmp_path: Path) -> None:
    # given a current-format record without its by_age field
    meta = _current()
    del meta["by_age"]
    folder = _copy_with_meta(tmp_path, meta)
    # then loading it names the field
    with pytest.raises(BundleError, match=r"meta\.json: by_age: missing"):
        ModelBundle.load(folder)


@pytest.mark.parametrize(
    ("text", "said"),
    [("{not json", r"meta\.json is not JSON"), ("[1, 2]", r"meta\.json holds a list")],
)
def test_an_unreadable_record_is_refused(tmp_path: Path, text: str, said: str) -> None:
    folder = _copy_with_meta(tmp_path, text)
    with pytest.raises(BundleError, match=said):
        ModelBundle.load(folder)


def test_a_shipped_bundle_upgrades_its_record_the_same_way() -> None:
    # given an old bundle's files as texts, as shipped to another process
    texts = {path.name: path.read_text() for path in SAVED.iterdir()}
    # when they are read back, then the record is upgraded as a folder's is
    assert ModelBundle.from_texts(texts).meta == ModelBundle.load(SAVED).meta
