"""Validation from many threads at once: one compiled schema is shared, and each result is its own document's.

The compiled XSD keeps one error log that every validation clears and fills; shared without care, a document
would be reported with another's errors (or none). Every threaded result must be exactly the single-thread one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from ksef_tui.fa import validate
from ksef_tui.fa.validate import Problem, Schema, ValidationResult, validate_bytes

FIXTURES = Path(__file__).parent.parent / "fixtures"
GOOD = [
    path.read_bytes() for path in sorted((FIXTURES / "fa3").glob("*.xml")) + sorted((FIXTURES / "fa2").glob("*.xml"))
]
P_15 = re.compile(rb"<P_15>[^<]*</P_15>")
P_1 = re.compile(rb"<P_1>[^<]*</P_1>")


def broken(data: bytes, index: int) -> bytes:
    """``data`` with errors of its own, so that no two documents share their findings: a P_15 (the total) naming
    ``index`` and, for every other one, a P_1 (the issue date) naming it too."""
    data = P_15.sub(f"<P_15>bad{index}</P_15>".encode(), data, count=1)
    if index % 2:
        data = P_1.sub(f"<P_1>day{index}</P_1>".encode(), data, count=1)
    return data


BAD = [broken(data, index) for index, data in enumerate(GOOD)]
OTHER = [b"", b"<a><b></a>", b"<Faktura/>", b"\xef\xbb\xbf" + GOOD[0]]  # refused before the XSD
DOCUMENTS = [doc for pair in zip(GOOD, BAD, strict=True) for doc in pair] + OTHER

Outcome = tuple[Schema | None, tuple[tuple[Problem, int | None, str], ...]]


def outcome(result: ValidationResult) -> Outcome:
    return result.schema, tuple((f.problem, f.line, f.english) for f in result.findings)


@pytest.fixture(scope="module")
def expected() -> list[Outcome]:
    return [outcome(validate_bytes(doc)) for doc in DOCUMENTS]


def test_the_documents_tell_their_results_apart(expected: list[Outcome]) -> None:
    good = expected[0 : 2 * len(GOOD) : 2]
    bad = expected[1 : 2 * len(GOOD) : 2]
    assert all(findings == () for _, findings in good)
    assert all(findings and all(p is Problem.XSD for p, _, _ in findings) for _, findings in bad)
    assert len(set(bad)) == len(bad)  # no two bad documents share their findings
    assert all(len(findings) == 2 for _, findings in bad[1::2])


def test_eight_threads_get_each_document_its_own_result(expected: list[Outcome]) -> None:
    jobs = [index % len(DOCUMENTS) for index in range(8 * 50)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda index: outcome(validate_bytes(DOCUMENTS[index])), jobs))
    wrong = [(index, got) for index, got in zip(jobs, results, strict=True) if got != expected[index]]
    assert wrong == []


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Schema]]:
    """Every compile from now on, with the shared schemas forgotten."""
    seen: list[Schema] = []
    real = validate._compile

    def counting(schema: Schema) -> etree.XMLSchema:
        seen.append(schema)
        return real(schema)

    monkeypatch.setattr(validate, "_shared", {})
    monkeypatch.setattr(validate, "_compile", counting)
    yield seen


def test_new_threads_reuse_the_one_compiled_schema(compiles: list[Schema]) -> None:
    """A thread worker (a new thread for each job) no longer compiles the XSD for each validation."""
    for data in (GOOD[0], BAD[1], GOOD[-1]):
        thread = threading.Thread(target=validate_bytes, args=(data,))
        thread.start()
        thread.join()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(validate_bytes, GOOD * 4))
    assert sorted(compiles, key=lambda s: s.name) == [Schema.FA2, Schema.FA3]
