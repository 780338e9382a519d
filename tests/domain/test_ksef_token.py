"""The shape of a KSeF token, checked before any call: each problem is named, the token never repeated."""

from __future__ import annotations

import pytest

from ksef_tui.domain.ksef_token import (
    MAX_TOKEN_LENGTH,
    InvalidTokenShape,
    KsefTokenInfo,
    TokenShapeProblem,
    parse_token_shape,
    token_shape_problem,
)

REFERENCE = "20251001-EC-220B0CE000-E228129563-96"  # a KSeF token reference from the OpenAPI examples
SECRET = "5606b7adbb64d2f9d51b25be72deba492a7131c222ca0a6faac8f995356a739b"
TOKEN = f"{REFERENCE}|nip-5265877635|{SECRET}"


def test_a_nip_token_gives_its_public_parts() -> None:
    assert token_shape_problem(TOKEN) is None
    info = parse_token_shape(TOKEN)
    assert info == KsefTokenInfo(REFERENCE, "Nip", "5265877635")
    assert info.nip == "5265877635"
    assert SECRET not in repr(info)


def test_an_internal_id_token_names_the_unit() -> None:
    info = parse_token_shape(f"{REFERENCE}|internalId-5265877635-00001|{SECRET.upper()}")
    assert info == KsefTokenInfo(REFERENCE, "InternalId", "5265877635-00001")
    assert info.nip == "5265877635"


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("", TokenShapeProblem.EMPTY),
        (f" {TOKEN}", TokenShapeProblem.WHITESPACE),
        (f"{TOKEN}\n", TokenShapeProblem.WHITESPACE),
        (TOKEN.replace("|nip", "| nip"), TokenShapeProblem.WHITESPACE),
        (TOKEN + "0" * (MAX_TOKEN_LENGTH + 1 - len(TOKEN)), TokenShapeProblem.TOO_LONG),
        (SECRET, TokenShapeProblem.LEGACY_1_0),  # a bare KSeF 1.0 token
        ("x" * 64, TokenShapeProblem.PARTS),
        (f"{REFERENCE}|nip-5265877635", TokenShapeProblem.PARTS),
        (f"{TOKEN}|extra", TokenShapeProblem.PARTS),
        (TOKEN.replace("-EC-", "-AU-"), TokenShapeProblem.REFERENCE),  # a reference, but not of a token
        (TOKEN.replace("20251001-", "2025101-"), TokenShapeProblem.REFERENCE),
        (TOKEN.replace("nip-", "NIP-"), TokenShapeProblem.CONTEXT),
        (TOKEN.replace("nip-5265877635", "nip-526587763"), TokenShapeProblem.CONTEXT),
        (TOKEN.replace("nip-5265877635", "internalId-5265877635"), TokenShapeProblem.CONTEXT),
        (TOKEN.replace("5265877635", "5265877636"), TokenShapeProblem.CONTEXT_NIP),
        (f"{REFERENCE}|internalId-5265877636-00001|{SECRET}", TokenShapeProblem.CONTEXT_NIP),
        (TOKEN[:-1], TokenShapeProblem.SECRET),
        (TOKEN[:-1] + "g", TokenShapeProblem.SECRET),
    ],
)
def test_each_problem_is_named_and_the_error_never_holds_the_token(token: str, problem: TokenShapeProblem) -> None:
    assert token_shape_problem(token) is problem
    with pytest.raises(InvalidTokenShape) as caught:
        parse_token_shape(token)
    assert caught.value.problem is problem
    assert str(caught.value) == f"KSeF token has the wrong shape: {problem.value}"
    assert SECRET not in repr(caught.value)


def test_the_longest_token_allowed() -> None:
    padded = TOKEN.replace("nip-5265877635", "internalId-5265877635-00001")
    assert len(padded) <= MAX_TOKEN_LENGTH
    assert token_shape_problem(padded) is None
