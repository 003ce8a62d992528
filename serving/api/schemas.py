"""What the HTTP batch route accepts: the envelope around the core's requests.

Every bound here becomes a 4xx naming the field; the requests themselves are
``serving.core.requests``'s.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH_ITEMS = 10_000  # the ceiling of LIKECAST_BATCH_MAX_ITEMS


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are checked one by one only after the count: a ceiling in the schema refuses a
    # huge list before any per-item work (BentoML validates the body before the method runs,
    # which then applies LIKECAST_BATCH_MAX_ITEMS), and Any keeps junk items out of the
    # schema's own error list.
    items: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="Drafts and early requests; an item with likes (not null or empty) is early.",
    )
