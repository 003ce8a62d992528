"""The prediction log at volume: writing a million answers, and reading them back.

Target (issue #29): a 1M-answer log is summarized in < 60 s within 2 GB. Two shapes of the
same ``--answers`` answers (40 inputs each, a quarter unknown, seeded) are written by the
service's own writer (``serving.core.answer_log``): as batches (1,000 answers an entry, as
``/predict_batch`` and ``likecast score`` log them) and as single answers (an entry each, as
``/predict_draft`` logs them; the writer puts a cycle's answers of one model on one line,
and here a cycle finds up to ``ROUND`` of them waiting, a busier service than most). Each
log is then read by ``read_log`` in a fresh process
(so its peak RSS is the reading's alone) and summarized: answers, mean probability per
route and model version. Writing is timed too: the writer thread's CPU per answer is what
the service pays for the log (docs/adr/0047).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.common import ROOT, write_result
from features.prediction_log import log_files
from serving.core.answer_log import AnswerLog, Entry

FEATURES = 40
SHAPES = {"batches": 1000, "singles": 1}  # answers per entry
ROUND = 20_000  # answers made, then logged and timed, at a time

READER = """
import json, resource, sys, time
from collections.abc import Iterator
from pathlib import Path
from features.prediction_log import read_log
started = time.perf_counter()
read = read_log(Path(sys.argv[1]))
answers = read.answers
mean = answers.groupby(["route", "model_version"])["probability"].mean()
print(json.dumps({
    "answers": len(answers),
    "broken_lines": read.broken_lines,
    "seconds": round(time.perf_counter() - started, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "groups": len(mean),
}))
"""


def entries(answers: int, per_entry: int, seed: int = 5) -> Iterator[Entry]:
    """``answers`` made-up answers in entries of ``per_entry``, their inputs seeded (made
    as they are logged: a million entries at once would measure this bench's memory)."""
    rng = np.random.default_rng(seed)
    names = tuple(f"x{j:02d}" for j in range(FEATURES))
    block = rng.lognormal(size=(per_entry, FEATURES))
    block[rng.random(block.shape) < 0.25] = np.nan  # unknown inputs are logged as null
    probability = rng.random(per_entry)
    at = time.time()
    for i in range(answers // per_entry):
        yield Entry(
            at=at + i * 0.01,
            request_id=f"r{i}",
            model_version="3",
            threshold=1000,
            horizon_days=7.0,
            names=names,
            matrix=block + i,  # each entry's own numbers
            route=["batch" if per_entry > 1 else "draft"] * per_entry,
            item=list(range(per_entry)) if per_entry > 1 else None,
            video_id=[f"v{i}-{k}" for k in range(per_entry)],
            creator_id=[f"c{i % 997}"] * per_entry,
            category=["food"] * per_entry,
            posted_ns=np.full(per_entry, int(at * 1e9) - 3_600_000_000_000, dtype="int64"),
            age_minutes=np.full(per_entry, 60.0),
            probability=probability,
            low=probability * 0.9,
            high=np.minimum(probability * 1.1, 1.0),
            reached=np.zeros(per_entry, dtype=bool),
            decided=np.zeros(per_entry, dtype=bool),
            warnings=None,
        )


def write(folder: Path, made: Iterator[Entry], per_entry: int) -> dict[str, float]:
    """Log the entries as the service does; the writer's CPU per answer and the files.

    Entries are made in rounds of about ``ROUND`` answers outside the timed part, so the
    CPU measured is the recording, formatting and writing alone."""
    log = AnswerLog(folder, 64 * 2**20, 3600.0, 100_000)
    answers, cpu, started = 0, 0.0, time.perf_counter()
    while batch := list(itertools.islice(made, max(1, ROUND // per_entry))):
        begun = time.process_time()
        for entry in batch:
            log.record(entry, wait=True)
        log.flush()
        cpu += time.process_time() - begun
        answers += sum(len(entry) for entry in batch)
    log.close()
    files = log_files(folder)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        # the process's CPU while the log takes the entries: recording, formatting, writing
        "cpu_us_per_answer": round(cpu / answers * 1e6, 2),
        "files": len(files),
        "megabytes": round(sum(p.stat().st_size for p in files) / 2**20, 1),
    }


def read(folder: Path) -> dict[str, float]:
    """``read_log`` and a summary in a fresh process: seconds and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", READER, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=1_000_000, help="answers per log")
    parser.add_argument("--quick", action="store_true", help="100k answers")
    args = parser.parse_args(argv)
    answers = 100_000 if args.quick else args.answers
    result: dict = {"answers": answers, "features": FEATURES}
    with tempfile.TemporaryDirectory() as tmp:
        for shape, per_entry in SHAPES.items():
            folder = Path(tmp) / shape
            written = write(folder, entries(answers, per_entry), per_entry)
            result[shape] = {"answers_per_entry": per_entry, "write": written, "read": read(folder)}
    result["targets"] = {"read_seconds": 60, "read_peak_rss_mb": 2048}
    result["meets_targets"] = all(
        result[shape]["read"]["seconds"] < 60 and result[shape]["read"]["peak_rss_mb"] < 2048
        for shape in SHAPES
    )
    write_result("prediction_log", result, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
