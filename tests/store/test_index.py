"""The columnar index: its file round-trips whatever the values, damage is detected, rows update in place."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ksef_tui.store.index import Column, ColumnIndex, IndexMismatch

COLUMNS = (Column("key", "text"), Column("name", "coded"), Column("amount", "text"), Column("day", "int"))

rows = st.lists(
    st.fixed_dictionaries(
        {
            "key": st.text(min_size=1, max_size=12),
            "name": st.text(max_size=8),
            "amount": st.text(max_size=6),
            "day": st.integers(-(2**63), 2**63 - 1),
        }
    ),
    max_size=30,
)


def build(groups: dict[str, list[dict[str, object]]]) -> ColumnIndex:
    index = ColumnIndex(COLUMNS, "key")
    for month, items in groups.items():
        index.put(month, items, ((1, 2, 3), None))  # type: ignore[arg-type]
    return index


def shown(value: object) -> object:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


@settings(max_examples=150, deadline=None)
@given(first=rows, second=rows)
def test_the_file_round_trips_any_rows(first: list[dict[str, object]], second: list[dict[str, object]]) -> None:
    taken = {shown(r["key"]) for r in first}
    second = [r for r in second if shown(r["key"]) not in taken]  # a key lives in one month
    index = build({"2026-01": first, "2026-02": second})
    again = ColumnIndex.from_bytes(index.to_bytes(), COLUMNS, "key")
    assert len(again) == len(index)
    assert [again.get(i) for i in range(len(again))] == [index.get(i) for i in range(len(index))]
    assert [again.month_of(i) for i in range(len(again))] == [index.month_of(i) for i in range(len(index))]
    assert again.signatures == index.signatures and again.counts == index.counts
    expected = {shown(r["key"]): {k: shown(v) for k, v in r.items()} for r in first + second}  # last one wins
    assert {again.get(i)["key"]: again.get(i) for i in range(len(again))} == expected


def test_rows_are_updated_in_place_and_a_key_never_changes_month() -> None:
    index = build({"2026-01": [{"key": "a", "name": "X", "amount": "1.00", "day": 1}]})
    index.put("2026-01", [{"key": "a", "name": "Y", "amount": "2.00", "day": 2}], None)
    assert len(index) == 1 and index.get(0) == {"key": "a", "name": "Y", "amount": "2.00", "day": 2}
    assert index.counts == {"2026-01": 1}
    with pytest.raises(IndexMismatch):
        index.put("2026-02", [{"key": "a", "name": "Y", "amount": "2.00", "day": 2}], None)


def test_damage_and_other_layouts_are_refused() -> None:
    raw = build({"2026-01": [{"key": "a", "name": "X", "amount": "1.00", "day": 1}]}).to_bytes()
    for broken in (b"", raw[:10], raw[:-1], b"x" + raw[1:], raw.replace(b'"rows":1', b'"rows":2')):
        with pytest.raises((ValueError, KeyError, TypeError, IndexError)):
            ColumnIndex.from_bytes(broken, COLUMNS, "key")
    with pytest.raises(ValueError, match="other columns"):
        ColumnIndex.from_bytes(raw, (*COLUMNS, Column("more", "int")), "key")
