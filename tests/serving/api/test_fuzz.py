"""Schemathesis against the service's own OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import BIN, Served

pytestmark = [pytest.mark.server, pytest.mark.subprocess]  # `likecast serve`, `schemathesis`

CASES_PER_OPERATION = 150  # four POST operations: at least 500 generated cases in all


def test_generated_requests_never_get_a_server_error(served: Served, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "--no-color",
            "run",
            f"{served.url}/docs.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(CASES_PER_OPERATION),
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "7",
            "--workers",
            "2",
            "--include-method",
            "POST",
            "--exclude-path",
            "/admin/reload",
        ],
        cwd=tmp_path,  # its cache folder lands there, not in the checkout
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated, output[-2000:]
    assert int(generated.group(1)) >= 500, output[-2000:]
