"""What each model version in the log had on its test slice, and its age grid.

The log names a version; its bundle (from ``--model``, else the registry's version of that
number) records the test figures per age bucket (``models.meta``). A version whose bundle
cannot be found is still reported, with the settings' age grid and no test figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from likecast.errors import UserError
from likecast.settings import Settings
from models.meta import BundleMeta
from models.registry import LoadedModel, load_model

# the figures compared with the test slice's, as meta.json names them
COMPARED = ("roc_auc", "log_loss", "calibration_gap")


@dataclass(frozen=True)
class VersionFigures:
    """A version's age grid and test figures per bucket ("all" included), and whence."""

    version: str
    grid: tuple[float, ...]
    test: dict[str, dict[str, float | None]] = field(default_factory=dict)
    source: str = "no bundle"
    reference: bool = False


def from_meta(version: str, grid: tuple[float, ...], meta: BundleMeta, source: str) -> dict:
    """The test figures of a bundle's record, per bucket, overall under "all"."""
    test: dict[str, dict[str, float | None]] = {
        "all": {name: meta.metrics.get(f"test_{name}") for name in COMPARED}
    }
    for bucket, figures in (meta.by_age or {}).items():
        test[bucket] = {name: figures.get(name) for name in COMPARED}
    return {"version": version, "grid": grid, "test": test, "source": source}


def version_models(
    versions: Iterable[str], model: str | None, settings: Settings
) -> dict[str, LoadedModel | str]:
    """Each logged version's model, or why it has none.

    With ``model``: its bundle stands for its own registry version, or, when it is a folder
    (no version), for every version in the log: the user named it. Otherwise each version's
    bundle is looked up in the registry.
    """
    found: dict[str, LoadedModel | str] = {}
    given = None
    if model is not None:
        given = load_model(model, settings)
    for version in versions:
        if given is not None and given.version in (None, version):
            found[version] = given
            continue
        try:
            found[version] = load_model(f"models:/{settings.model_name}/{version}", settings)
        except UserError as exc:
            found[version] = f"no bundle ({exc})"
    return found


def figures_of(
    models: dict[str, LoadedModel | str], settings: Settings
) -> dict[str, VersionFigures]:
    """Each version's figures from its model; one without gets the settings' age grid and
    no test figures."""
    return {
        version: VersionFigures(version, settings.training_ages, source=loaded)
        if isinstance(loaded, str)
        else _figures(version, loaded)
        for version, loaded in models.items()
    }


def version_figures(
    versions: Iterable[str], model: str | None, settings: Settings
) -> dict[str, VersionFigures]:
    """Each logged version's figures (``version_models``, then ``figures_of``)."""
    return figures_of(version_models(versions, model, settings), settings)


def _figures(version: str, loaded: LoadedModel) -> VersionFigures:
    bundle = loaded.bundle
    return VersionFigures(
        **from_meta(version, bundle.spec.ages, bundle.meta, loaded.uri),
        reference=bundle.reference is not None,
    )
