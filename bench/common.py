"""What every benchmark shares: timing, peak memory, and writing its JSON result."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
CACHE = Path(__file__).parent / ".cache"
ROOT = Path(__file__).parent.parent
# the packages whose code decides what a trained model is
MODEL_CODE = ("features", "models", "training")


def model_code_key() -> str:
    """A short hash of the code that trains a model: a cached model made by older code is
    not reused (a bundle from before the blend once stood in for a current one)."""
    digest = hashlib.sha256()
    for path in sorted(p for package in MODEL_CODE for p in (ROOT / package).rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@contextmanager
def timed(into: dict[str, float], key: str) -> Iterator[None]:
    """Store the seconds the block took in ``into[key]``."""
    start = time.perf_counter()
    yield
    into[key] = round(time.perf_counter() - start, 4)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict[str, Any]:
    """What a result was measured on, and when."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_result(name: str, result: dict[str, Any], quick: bool = False, echo: bool = True) -> Path:
    """bench/results/<name>.json (smoke runs: <name>.quick.json), written whole or not at all."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}{'.quick' if quick else ''}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"benchmark": name, "machine": machine(), **result}, indent=2))
    tmp.replace(path)
    if echo:
        print(json.dumps(result, indent=2))
    return path
