"""Hostile bundles (#32, items 9 and 13): numbers that are no numbers, a clock that is no
zone, an MLmodel whose data lies elsewhere. Every way of loading a bundle refuses them in one
line, and batch scoring never counts a row as scored without its probability.

In-process: bundle folders edited on disk, ``likecast`` through its ``main``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from likecast.settings import Settings
from models.bundle import BundleError, ModelBundle, read_calibration
from models.registry import load_model
from serving.batch.scoring import NoProbabilityError, Scorer, ScoringAge

SAVED = Path(__file__).parent / "data" / "bundle-2026-12-02" / "bundle"
NAN, INF = float("nan"), float("inf")


def edited(source: Path, into: Path, file: str, change: Callable[[dict], None]) -> Path:
    """A copy of the bundle at ``source`` whose JSON ``file`` went through ``change``."""
    folder = into / "bundle"
    shutil.copytree(source, folder)
    saved = json.loads((folder / file).read_text())
    change(saved)
    (folder / file).write_text(json.dumps(saved))  # NaN and Infinity, as Python writes them
    return folder


def _set(path: str, value: object) -> Callable[[dict], None]:
    """A change that sets the value at a dotted path (``ages.0.weights.1``)."""

    def change(saved: dict) -> None:
        *parents, last = path.split(".")
        node: object = saved
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]  # type: ignore[index]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value  # type: ignore[index]

    return change


# (bundle, calibrator place, value): the old Platt calibrator and the blend of today's bundles
BROKEN_CALIBRATORS = [
    ("saved", "a", NAN),
    ("saved", "b", INF),
    ("saved", "b", -INF),
    ("trained", "ages.0.weights.0", NAN),
    ("trained", "ages.1.intercept", INF),
    ("trained", "prior", NAN),
    ("trained", "ages.0.low.0", NAN),
]


@pytest.mark.parametrize(("which", "where", "value"), BROKEN_CALIBRATORS)
def test_a_calibrator_number_that_is_not_finite_is_refused_at_load(
    which: str, where: str, value: float, bundle_dir: Path, tmp_path: Path
) -> None:
    # given a bundle whose calibrator holds NaN or an infinity at one place
    source = SAVED if which == "saved" else bundle_dir
    folder = edited(source, tmp_path, "calibrator.json", _set(where, value))
    # when it is loaded, as a folder or through the registry's loader
    for load in (ModelBundle.load, lambda f: load_model(str(f), Settings(home=tmp_path))):
        # then it is refused in one line that says where the number is
        with pytest.raises(BundleError, match="not a finite number") as refused:
            load(folder)
        said = str(refused.value)
        assert f"= {value}" in said
        assert "\n" not in said


def test_the_check_names_the_place_of_the_first_bad_number(bundle_dir: Path) -> None:
    # given today's blend with one NaN weight deep inside
    saved = json.loads((bundle_dir / "calibrator.json").read_text())
    saved["ages"][2]["weights"][1] = NAN
    bundle = ModelBundle.load(bundle_dir)
    bundle.calibrator = read_calibration(json.dumps(saved))
    # when it is checked, then the place is said as a path into the JSON
    with pytest.raises(BundleError, match=r"ages\[2\]\.weights\[1\] = nan"):
        bundle.check()


@pytest.mark.parametrize("zone", ["Asia", "__pycache__", "Mars/Olympus", "localtime"])
def test_a_bundle_whose_clock_is_no_time_zone_is_refused(zone: str, tmp_path: Path) -> None:
    # given a bundle whose feature spec names a time zone that is none
    folder = edited(SAVED, tmp_path, "feature_spec.json", _set("timezone", zone))
    # when it is loaded, then it is refused, naming the zone
    with pytest.raises(BundleError, match=f"unknown time zone '{zone}'"):
        ModelBundle.load(folder)


def test_score_refuses_a_nan_calibrator_and_writes_nothing(
    bundle_dir: Path, tmp_path: Path, score
) -> None:
    # given a model folder whose blend weights are all NaN (a version registered broken)
    def poison(saved: dict) -> None:
        for age in saved["ages"]:
            age["weights"] = [NAN] * len(age["weights"])

    folder = edited(bundle_dir, tmp_path / "m", "calibrator.json", poison)
    # when a file is scored with it
    result = score("--model", str(folder))
    # then nothing is scored: one line, no output, no traceback
    assert result.code != 0
    assert "not a finite number" in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.text
    assert not (tmp_path / "scores.csv").exists()


def test_a_row_is_never_counted_as_scored_without_its_probability(
    bundle_dir: Path, small_dataset
) -> None:
    # given a bundle that answers NaN, put together in memory past the load's check
    bundle = ModelBundle.load(bundle_dir)
    saved = json.loads(bundle.calibrator.to_json())
    saved["prior"] = NAN
    for age in saved["ages"]:
        age["intercept"] = NAN
    bundle.calibrator = read_calibration(json.dumps(saved))
    scorer = Scorer(bundle, "7", None, ScoringAge(age_minutes=0.0))
    chunk = pd.DataFrame(small_dataset.videos.head(50))
    # when a chunk is scored, then the job stops, naming how many and the first video
    with pytest.raises(NoProbabilityError, match=r"model 7 gave no probability for 50 of 50"):
        scorer.score(chunk, first_row=0)


OUTSIDE = [
    ("../elsewhere/bundle", "relative, up and out"),
    ("{outside}", "absolute path"),
    ("data/link", "a link inside that points out"),
    ("data/../../elsewhere/bundle", "in, then out"),
]


@pytest.mark.parametrize(("data", "why"), OUTSIDE, ids=[why for _, why in OUTSIDE])
def test_an_mlmodel_whose_data_lies_outside_its_folder_is_refused(
    data: str, why: str, tmp_path: Path
) -> None:
    # given a working bundle elsewhere on the machine, and a downloaded MLflow model folder
    # whose MLmodel points its data there
    elsewhere = tmp_path / "elsewhere" / "bundle"
    shutil.copytree(SAVED, elsewhere)
    model = tmp_path / "download"
    (model / "data").mkdir(parents=True)
    (model / "data" / "link").symlink_to(elsewhere)
    target = data.format(outside=elsewhere)
    (model / "MLmodel").write_text(
        f"flavors:\n  python_function:\n    loader_module: models.pyfunc\n    data: {target}\n"
    )
    # when it is loaded (as the service loads a fetched version), then it is refused
    with pytest.raises(BundleError, match="lies outside the model's folder") as refused:
        load_model(str(model), Settings(home=tmp_path / "home"))
    assert "\n" not in str(refused.value)


BUNDLE_FILES = ["model.txt", "calibrator.json", "feature_spec.json", "meta.json", "reference.json"]


@pytest.mark.parametrize("file", BUNDLE_FILES)
def test_a_bundle_file_that_links_out_of_the_bundle_is_refused(file: str, tmp_path: Path) -> None:
    # given a bundle whose file is a link to a working copy elsewhere on the machine
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(SAVED, elsewhere)
    (elsewhere / "reference.json").write_text("{}")
    bundle = tmp_path / "download" / "bundle"
    shutil.copytree(SAVED, bundle)
    (bundle / file).unlink(missing_ok=True)
    (bundle / file).symlink_to(elsewhere / file)
    # when it is loaded, then it is refused in one line naming the file
    with pytest.raises(BundleError, match=f"its {file} links to a file outside") as refused:
        ModelBundle.load(bundle)
    assert "\n" not in str(refused.value)


def test_a_bundle_file_that_links_inside_the_bundle_loads(tmp_path: Path) -> None:
    # given a bundle whose booster is a link to a file inside it
    bundle = tmp_path / "bundle"
    shutil.copytree(SAVED, bundle)
    (bundle / "model.txt").rename(bundle / "booster-v1.txt")
    (bundle / "model.txt").symlink_to("booster-v1.txt")
    # when it is loaded, then it is
    assert ModelBundle.load(bundle).spec.features


def test_an_mlmodel_whose_data_lies_inside_loads(tmp_path: Path) -> None:
    # given an MLflow model folder holding its bundle, as MLflow downloads it
    model = tmp_path / "download"
    shutil.copytree(SAVED, model / "data" / "bundle")
    (model / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: models.pyfunc\n    data: data/bundle\n"
    )
    # when it is loaded, then it is
    assert load_model(str(model), Settings(home=tmp_path / "home")).bundle.spec.features
