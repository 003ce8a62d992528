"""Loading a model bundle from a folder or from the MLflow registry.

Kept apart from ``training.tracking`` so that loading a model folder never imports MLflow
(seconds of imports): batch jobs and the service given a folder start at once, and the
registry path imports MLflow only when it is used.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from likecast.echo import shown
from likecast.errors import UserError
from likecast.settings import Settings
from likecast.target import Target
from models.bundle import BundleError, ModelBundle


@dataclass(frozen=True)
class LoadedModel:
    """A bundle and where it came from."""

    bundle: ModelBundle
    uri: str
    version: str | None  # registry version, when loaded through the registry
    run_id: str | None


def _bundle_dir(model_dir: Path) -> Path:
    """A bundle folder itself, or the bundle inside an MLflow model folder."""
    mlmodel = model_dir / "MLmodel"
    if mlmodel.is_file():
        try:
            conf = (yaml.safe_load(mlmodel.read_text()) or {}).get("flavors", {})
            data = conf.get("python_function", {}).get("data")
        except (yaml.YAMLError, OSError, AttributeError) as exc:
            reason = str(exc).splitlines()[0]
            raise BundleError(f"{mlmodel}: unreadable MLmodel file ({reason})") from exc
        if data is None:
            raise BundleError(f"{model_dir}: an MLflow model, but not a likecast one")
        inside = model_dir / str(data)
        if not inside.resolve().is_relative_to(model_dir.resolve()):
            # a version's files are what was registered: never a folder elsewhere on this
            # machine that its MLmodel names (../, an absolute path, a link out)
            raise BundleError(
                f"{mlmodel}: its data {shown(str(data))} lies outside the model's folder"
            )
        return inside
    return model_dir


def load_model(uri: str | None, settings: Settings) -> LoadedModel:
    """Load ``uri`` (a folder, ``models:/name@alias`` or ``models:/name/N``) as a bundle.

    With no URI, the registry's champion. The version is resolved here, so the caller can
    report which version it serves even though the alias may move later. A registry model
    is downloaded to a temporary folder that is removed once the bundle is in memory.
    """
    uri = uri or settings.champion_uri
    local = Path(uri)
    if not uri.startswith("models:/"):
        if not local.exists():
            raise UserError(f"{uri}: no such model folder")
        return LoadedModel(ModelBundle.load(_bundle_dir(local)), uri, None, None)
    from models.mlflow_client import connect

    version = resolve_version(connect(settings), uri)
    with tempfile.TemporaryDirectory(prefix="likecast-model-") as target:
        try:
            bundle = ModelBundle.load(_bundle_dir(download_version(version, uri, Path(target))))
        except BundleError as exc:  # name the version, not the temporary folder
            reason = str(exc).replace(f"{target}/", "")
            raise BundleError(f"{uri} (version {version.version}): {reason}") from exc
    return LoadedModel(bundle, uri, str(version.version), version.run_id)


def download_version(version: Any, uri: str, target: Path) -> Path:
    """A registered ModelVersion's files into ``target``; ``uri`` names it in errors."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from models.mlflow_client import TrackingError

    try:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{version.name}/{version.version}", dst_path=str(target)
        )
    except MlflowException as exc:
        raise TrackingError(f"{uri}: cannot download ({exc.message})") from exc
    return Path(path)


def resolve_version(client: Any, uri: str) -> Any:
    """``models:/name@alias`` or ``models:/name/N`` -> the ModelVersion it names now."""
    from mlflow.exceptions import MlflowException

    from models.mlflow_client import TrackingError

    body = uri.removeprefix("models:/")
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            return client.get_model_version_by_alias(name, alias)
        name, _, number = body.partition("/")
        return client.get_model_version(name, number)
    except MlflowException as exc:
        raise TrackingError(f"{uri}: not in the registry ({exc.message.splitlines()[0]})") from exc


def version_target(version: Any, settings: Settings) -> Target:
    """The target a registered ModelVersion predicts: from its tags, or, for a version
    registered before the target was tagged, from its bundle's feature spec."""
    tagged = Target.from_tags(version.tags or {})
    if tagged is not None:
        return tagged
    return load_model(f"models:/{version.name}/{version.version}", settings).bundle.spec.target


def champion_target(settings: Settings) -> tuple[Target, str] | None:
    """The target and version of the registry's champion; None when no version holds the
    alias (or nothing was ever tracked in the local store: it is not created to find out).

    Raises:
        TrackingError: The tracking server cannot be reached; the message says how to give the
            target instead.
    """
    from mlflow.exceptions import MlflowException

    from models.mlflow_client import TrackingError, connect

    uri = settings.resolved_tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return None
    try:
        client = connect(settings)
    except TrackingError as exc:
        raise TrackingError(
            f"{exc}; cannot read the champion's target: give --threshold and --horizon-days"
        ) from exc
    try:
        version = client.get_model_version_by_alias(settings.model_name, settings.alias)
    except MlflowException:  # no such model, or no version holds the alias
        return None
    return version_target(version, settings), str(version.version)
