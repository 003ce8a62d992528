"""A batch's items: each a draft or an early request, or the problems that refuse it."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from likecast.echo import MAX_PROBLEMS, capped
from serving.core.problems import Problem, more_problems, problem
from serving.core.requests import Draft, Early, blank, unknown_fields


def parse_item(index: int, item: Any) -> Draft | list[Problem]:
    """A batch item as a Draft or an Early request (an item with likes is early), or its
    errors."""
    if not isinstance(item, dict):
        return [{"loc": ["items", index], "msg": "expected an object", "type": "dict_type"}]
    if "likes" in item and blank(item["likes"]):
        # likes given as null or "" are no counts, as likes left out: a draft
        item = {key: value for key, value in item.items() if key != "likes"}
    model = Early if "likes" in item else Draft
    # unknown keys found before pydantic would make (and the answer carry) an error each
    kept, count = unknown_fields(model, item, MAX_PROBLEMS)
    if count:
        found = [problem(loc, "Extra inputs are not permitted", "extra_forbidden") for loc in kept]
        return found + more_problems(count - len(kept))
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        return item_errors(exc)


def item_errors(exc: ValidationError | ValueError) -> list[Problem]:
    """An item's errors, each with the field (``loc``), the rule (``msg``) and its type."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        kept, more = capped(errors)
        return [problem(list(e["loc"]), e["msg"], e["type"]) for e in kept] + more_problems(more)
    return [problem([], str(exc))]
