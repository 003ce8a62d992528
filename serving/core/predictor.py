"""The model and the creator store behind every answer: the one object the service, tests
and the parity check ask, free of HTTP.

Each job has its module: a request's row (``serving.core.building``), its answer
(``serving.core.answering``), the what-if (``serving.core.whatif``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from features.catalog import LANGUAGES, Language, category_name
from features.store import StoreReader
from likecast.settings import Settings
from models.registry import LoadedModel
from serving.core.answer_log import AnswerLog, Entry, request_id
from serving.core.answering import answers
from serving.core.answers import BatchResponse, Interval, Prediction, WhatIf
from serving.core.building import Built, build
from serving.core.items import item_errors, parse_item
from serving.core.one_row import OneRow
from serving.core.reliability import bucket_reliability
from serving.core.requests import Draft, Early
from serving.core.whatif import whatif


@dataclass
class Predictor:
    """One loaded model plus the creator store: everything a request needs."""

    loaded: LoadedModel
    store: StoreReader
    settings: Settings
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    # each age bucket's reliability in each language, worded once per model rather than
    # once per answer
    reliability: dict[Language, dict[float, dict[str, Any]]] = field(init=False)
    # where every answer is recorded (set once the model is validated: its checks are not
    # answers); None records nothing
    log: AnswerLog | None = None
    # a plain draft asked alone is answered from tables worked out once (None: this model
    # answers every request by the batch path)
    one_row: OneRow | None = field(init=False)

    def __post_init__(self) -> None:
        bundle = self.loaded.bundle
        by_age, spec = bundle.meta.by_age, bundle.spec
        self.reliability = {
            language: bucket_reliability(by_age, spec.ages, spec.threshold, language)
            for language in LANGUAGES
        }
        self.one_row = OneRow.of(
            bundle, self.version, self.reliability, self.settings.history_window
        )

    @property
    def version(self) -> str:
        return self.loaded.version or "local"

    @property
    def not_ready(self) -> str | None:
        """Why this model cannot answer as it was trained to, in one line; None when it can.

        Without a store file every creator would be a cold start; a store built for another
        target would hand the model hit rates of another question (PewDiePie served 0 past
        videos at 50,000 likes from a store built for 1,000).
        """
        problem = self.store.target_problem(self.loaded.bundle.spec.target)  # refreshes it
        if not self.store.loaded and self.settings.require_store:
            return (
                f"no creator store at {self.store.where}{self.store.trouble}: materialize it "
                f"(likecast features materialize --data DIR "
                f"{self.loaded.bundle.spec.target.options()}), or set "
                "LIKECAST_REQUIRE_STORE=false to serve every creator's history as unknown"
            )
        return problem

    @property
    def readiness(self) -> str:
        """What a ready model answers with, in one line for /readyz: its version and its
        creator store (backend, generation), or the store it lacks."""
        if not self.store.loaded:
            return (
                f"model {self.version}; no creator store at {self.store.where}"
                f"{self.store.trouble} (LIKECAST_REQUIRE_STORE=false): every creator's history "
                "is unknown, answered as a new creator's"
            )
        return f"model {self.version}; creator store {self.store.describe()}"

    def build(self, requests: list[Draft]) -> Built:
        """The requests' rows, and for each that cannot be answered, why."""
        return build(requests, self.loaded.bundle.spec, self.store)

    def answers(self, built: Built, language: Language = "en") -> list[Prediction]:
        """The answers to ``built``'s requests, their texts in ``language``."""
        return answers(
            built,
            self.loaded.bundle,
            self.version,
            self.reliability[language],
            self.settings.history_window,
            language,
        )

    def predict(self, requests: list[Draft], language: Language = "en") -> list[Prediction]:
        """Answers in order, their texts in ``language``; a request the model cannot answer
        raises its ``ValueError``."""
        built = self.build(requests)
        for refused in built.refused:
            if refused is not None:
                raise refused
        alone = None
        if self.one_row is not None and len(built.requests) == 1 and OneRow.takes(requests[0]):
            alone = self.one_row.answer(built, language)
        said = self.answers(built, language) if alone is None else [alone]
        routes = ["early" if isinstance(r, Early) else "draft" for r in built.requests]
        self._logged(built, routes, [_said(a) for a in said])
        return said

    def predict_batch(self, items: list[Any], language: Language = "en") -> BatchResponse:
        """Answers to drafts and early requests (an item with likes is early), in order;
        an item that is invalid or cannot be answered gets its own error instead.

        Raises:
            ValueError: the whole batch is refused: more items than ``batch_max_items``, or
                more than ``batch_max_explain`` of them set explain.
        """
        limit = self.settings.batch_max_items
        if len(items) > limit:
            raise ValueError(f"items: at most {limit} per request, got {len(items)}")
        results: list[dict[str, Any]] = []  # BatchItemResult fields, checked together at the end
        parsed: list[tuple[int, Draft]] = []
        for i, item in enumerate(items):
            request = parse_item(i, item)
            if isinstance(request, Draft):
                parsed.append((i, request))
            else:
                results.append({"index": i, "error": request})
        explaining = sum(request.explain for _, request in parsed)
        if explaining > self.settings.batch_max_explain:
            # explanations are slow enough that a batch of them would outlive the request
            # timeout (batch scoring's --explain has no such limit)
            raise ValueError(
                f"items: at most {self.settings.batch_max_explain} may set explain, "
                f"got {explaining}"
            )
        built = self.build([request for _, request in parsed])
        answered = []
        for (i, _), refused in zip(parsed, built.refused, strict=True):
            if refused is None:
                answered.append(i)
            else:
                results.append({"index": i, "error": item_errors(refused)})
        if answered:
            answers = self.answers(built, language)
            self._logged(built, ["batch"] * len(answers), [_said(a) for a in answers], answered)
            results += [
                {"index": i, "prediction": a} for i, a in zip(answered, answers, strict=True)
            ]
        results.sort(key=lambda r: r["index"])
        return BatchResponse.model_validate({"results": results})

    def whatif(self, draft: Draft, language: Language = "en") -> WhatIf:
        """The same draft at each hour of the next day and at a few durations; the advice in
        ``language``."""
        built = self.build([draft])
        if built.refused[0] is not None:
            raise built.refused[0]
        said = whatif(draft, built, self.loaded.bundle, self.version, language)
        self._logged(
            built, ["whatif"], [(said.current, said.current_interval, False, False, said.warnings)]
        )
        return said

    def _logged(
        self,
        built: Built,
        routes: list[str],
        said: list[tuple[float, Interval | None, bool, bool, list[str]]],
        items: list[int] | None = None,
    ) -> None:
        """Hand the answers (probability, interval, reached, decided, warnings) to the
        prediction log: a few look-ups here, the formatting and writing in its thread."""
        if self.log is None or not said:
            return
        spec, raw = self.loaded.bundle.spec, built.rows.arrays
        probability, intervals, reached, decided, warnings = zip(*said, strict=True)
        self.log.record(
            Entry(
                at=time.time(),
                request_id=request_id(),
                model_version=self.version,
                threshold=spec.threshold,
                horizon_days=spec.horizon_minutes / 1440,
                names=spec.features,
                matrix=built.rows.matrix,
                route=routes,
                item=items,
                video_id=[r.video_id for r in built.requests],
                creator_id=raw["creator_id"],
                category=raw["category"],
                posted_ns=raw["posted_at"],
                age_minutes=raw["age_minutes"],
                probability=probability,
                low=[i.low if i else math.nan for i in intervals],
                high=[i.high if i else math.nan for i in intervals],
                reached=reached,
                decided=decided,
                warnings=warnings,
            )
        )

    def describe(self, language: Language = "en") -> dict[str, Any]:
        """What ``GET /model`` shows: the version, where it came from, its metrics, and the
        category names in ``language``."""
        bundle = self.loaded.bundle
        return {
            "model_version": self.version,
            "model_uri": self.loaded.uri,
            "run_id": self.loaded.run_id,
            "loaded_at": self.loaded_at,
            "threshold": bundle.spec.threshold,
            "horizon_days": bundle.spec.horizon_minutes / 1440,
            "features": list(bundle.spec.features),
            "categories": list(bundle.spec.categories),
            "category_names": {c: category_name(c, language) for c in bundle.spec.categories},
            "metrics": bundle.meta.metrics,
            # absent (null) in bundles saved before training recorded them
            "metrics_by_age": bundle.meta.by_age,
            # each category's share of training videos that reached the threshold; null
            # in bundles saved before training recorded it
            "category_rates": bundle.meta.category_rates,
            "trained_at": bundle.meta.trained_at,
            "store_creators": self.store.creators(),
        }


def _said(answer: Prediction) -> tuple[float, Interval | None, bool, bool, list[str]]:
    """What the prediction log records of an answer, beside its inputs."""
    return answer.probability, answer.interval, answer.reached, answer.decided, answer.warnings
