"""Reading every page of a KSeF query answered with ``hasMore`` (``pageOffset`` is the page's index)."""

from __future__ import annotations

from typing import Any

from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.client import field
from ksef_tui.ksef.errors import ProtocolViolation

#: More pages than any real list has: a server that always says ``hasMore`` cannot keep us reading forever.
MAX_PAGES = 1000


async def page(
    api: KsefApi, path: str, body: dict[str, Any], items: str, *, offset: int, size: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page: its items (JSON objects) and whether more follow."""
    # A query changes nothing at KSeF: safe to repeat after a lost answer.
    params = {"pageOffset": offset, "pageSize": size}
    answer = await api.call_json("POST", path, params=params, json=body, idempotent=True)
    found = field(answer, items)
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise ProtocolViolation(f"{path}: {items} is not a list of objects")
    return found, bool(answer.get("hasMore"))


async def all_pages(api: KsefApi, path: str, body: dict[str, Any], items: str, *, size: int) -> list[dict[str, Any]]:
    """The items of every page, in KSeF's order."""
    result: list[dict[str, Any]] = []
    for offset in range(MAX_PAGES):
        found, more = await page(api, path, body, items, offset=offset, size=size)
        result.extend(found)
        if not more or not found:
            return result
    raise ProtocolViolation(f"{path}: more than {MAX_PAGES} pages")
