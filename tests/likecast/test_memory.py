"""The batch commands' allocator setting: a freed big array's memory is reused, not refaulted."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys
import numpy as np
from likecast.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
np.ones(50_000_000).sum()  # 400 MB, touched, then freed
before = faults()
np.ones(50_000_000).sum()  # the same again
print(faults() - before)
"""


def page_faults_of_second_array(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


@pytest.mark.subprocess  # a fresh Python for each allocator setting
def test_a_freed_big_array_is_reused_instead_of_faulted_in_again() -> None:
    # given a process that allocates, touches and frees a 400 MB array, then does it again
    # when its allocator keeps freed memory
    kept = page_faults_of_second_array("keep")
    default = page_faults_of_second_array("default")
    # then the second array costs (almost) no page faults, where by default it costs one
    # per page it touches (2 MB pages where the kernel gives numpy huge pages: ~200)
    assert default > 100
    assert kept < default / 20
