"""From a model's draft to the public result: evidence references become verified Evidence.

The draft of any schema (``schemas.draft_model``) holds references where the schema holds Evidence;
:func:`public` walks the schema and resolves each list of references with the resolver it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel

from ..schemas import Evidence, is_evidence_list

__all__ = ["Resolver", "public"]

T = TypeVar("T", bound=BaseModel)
Resolver = Callable[[list[str]], list[Evidence]]


def public(
    model: type[T], draft: BaseModel, resolve: Resolver, *, drop_unsupported: bool, meta: dict[str, Any] | None
) -> T:
    """``draft`` as a ``model``; with ``drop_unsupported``, list items left without evidence are dropped."""
    data = _convert(draft.model_dump(), model, resolve, drop_unsupported)
    if meta:
        data.update(meta)
    return model.model_validate(data)


def _convert(value: Any, ann: Any, resolve: Resolver, drop: bool) -> Any:
    if value is None:
        return None
    if is_evidence_list(ann):
        return [e.model_dump() for e in resolve([v for v in value if isinstance(v, str)])]
    origin = get_origin(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel) and isinstance(value, dict):
        return {
            name: _convert(value[name], f.annotation, resolve, drop)
            for name, f in ann.model_fields.items()
            if name in value
        }
    if origin is list and isinstance(value, list):
        (inner,) = get_args(ann) or (Any,)
        items = [_convert(v, inner, resolve, drop) for v in value]
        if drop and isinstance(inner, type) and issubclass(inner, BaseModel):
            ev_fields = [n for n, f in inner.model_fields.items() if is_evidence_list(f.annotation)]
            if ev_fields:
                items = [it for it in items if any(it.get(n) for n in ev_fields)]
        return items
    args = get_args(ann)
    if args and isinstance(value, dict):
        for a in args:
            if isinstance(a, type) and issubclass(a, BaseModel):
                return _convert(value, a, resolve, drop)
    return value
