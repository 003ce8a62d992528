"""Outputs never overwrite inputs: every path a command writes, checked against every path it reads.

`score --snapshots s.parquet --output s.parquet` replaced the snapshots, and
`evaluate --data D --output D/videos.parquet` the videos: a user's data lost to a typo.
Every command that writes calls ``check_outputs`` before any work (docs/adr/0004).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from likecast.errors import UserError

# what an option names: one path, several (a data folder's tables), or nothing given
Given = Path | Iterable[Path] | None


def check_outputs(inputs: Mapping[str, Given], outputs: Mapping[str, Given]) -> None:
    """Refuse, in one line, an output that is an input (after symlinks, or a hard link to
    it), lies inside an input folder, or is a folder holding an input; keys are the
    options' names as the user typed them."""
    read = [(name, path, _resolved(name, path)) for name, path in _each(inputs)]
    for out_name, out in _each(outputs):
        target = _resolved(out_name, out)
        for in_name, given, source in read:
            relation = _relation(target, source)
            if relation:
                raise UserError(
                    f"{out_name} {out} would overwrite the input: {relation} {in_name} "
                    f"({given}); choose another path"
                )


def model_folder(uri: str | None) -> Path | None:
    """A ``--model`` given as a folder, which is read like any input; a registry URI
    (``models:/...``) is no path here."""
    return None if uri is None or uri.startswith("models:/") else Path(uri)


def _each(paths: Mapping[str, Given]) -> list[tuple[str, Path]]:
    pairs = []
    for name, given in paths.items():
        if given is None:
            continue
        for path in [given] if isinstance(given, Path) else given:
            pairs.append((name, path))
    return pairs


def _resolved(name: str, path: Path) -> Path:
    """The path with every symlink followed; a loop is the user's to fix, in one line."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # Python 3.11 raises RuntimeError on a loop
        raise UserError(f"{name} {path}: cannot be resolved ({exc})") from exc


def _relation(output: Path, source: Path) -> str | None:
    """How an output collides with an input, in words; None when it does not."""
    if output == source or _same_file(output, source):
        return "it is"
    if source in output.parents:
        return "it lies inside"
    if output in source.parents:
        return "it holds"
    return None


def _same_file(a: Path, b: Path) -> bool:
    """Two names of one file (a hard link): only when both exist is there one to share."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
