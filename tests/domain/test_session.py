"""Session tokens: validity with the refresh margin, the stored form, damaged blobs named without quoting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ksef_tui.domain.session import SessionTokens, fingerprint

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCESS = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJUb2tlbiJ9.access-signature-0123456789"
REFRESH = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJSZWZyZXNoIn0.refresh-signature-0123456789"


def tokens(**changes: object) -> SessionTokens:
    values: dict[str, object] = {
        "access_token": ACCESS,
        "access_valid_until": NOW + timedelta(minutes=15),
        "refresh_token": REFRESH,
        "refresh_valid_until": NOW + timedelta(days=7),
        "reference_number": "20260301-AU-2DFC46C000-3AC6D5877F-D4",
    }
    values.update(changes)
    return SessionTokens(**values)  # type: ignore[arg-type]


def test_fingerprint_is_the_start_of_the_sha256() -> None:
    # sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    assert fingerprint("abc") == "ba7816bf"
    assert fingerprint("zażółć") == fingerprint("zażółć".encode().decode("utf-8"))


def test_validity_keeps_a_margin_and_ends_strictly_before_the_deadline() -> None:
    session = tokens()
    until = session.access_valid_until
    margin = timedelta(seconds=60)
    assert session.access_valid(until - margin - timedelta(microseconds=1))
    assert not session.access_valid(until - margin)  # exactly at the margin: refresh now
    assert not session.access_valid(until)
    assert session.access_valid(until - timedelta(seconds=10), margin=timedelta(0))
    refresh_until = session.refresh_valid_until
    assert session.refresh_valid(refresh_until - margin - timedelta(microseconds=1))
    assert not session.refresh_valid(refresh_until - margin)
    assert not session.refresh_valid(refresh_until - timedelta(seconds=30))  # inside the margin
    assert not session.refresh_valid(refresh_until + timedelta(seconds=30))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"access_token": ""}, "session tokens: empty token"),
        ({"refresh_token": ""}, "session tokens: empty token"),
        ({"access_valid_until": datetime(2026, 3, 1, 12, 15)}, "session tokens: valid_until must carry a time zone"),
        ({"refresh_valid_until": datetime(2026, 3, 8, 12, 0)}, "session tokens: valid_until must carry a time zone"),
    ],
)
def test_an_empty_token_or_a_naive_deadline_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        tokens(**changes)
    assert str(caught.value) == message


def test_the_stored_form_round_trips_and_repr_shows_fingerprints_only() -> None:
    session = tokens()
    assert SessionTokens.from_json(session.to_json()) == session
    assert json.loads(session.to_json())["v"] == 1
    shown = repr(session)
    assert ACCESS not in shown
    assert REFRESH not in shown
    assert f"sha256:{fingerprint(ACCESS)}" in shown
    assert f"sha256:{fingerprint(REFRESH)}" in shown


def blob(**changes: object) -> str:
    data = json.loads(tokens().to_json())
    for name, value in changes.items():
        if value is None:
            del data[name]
        else:
            data[name] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json " + ACCESS, "session tokens: not JSON"),
        (json.dumps([ACCESS]), "session tokens: unknown format"),
        (blob(v=2), "session tokens: unknown format"),
        (blob(access_token=None), "session tokens: access_token is missing"),
        (blob(refresh_token=17), "session tokens: refresh_token is missing"),
        (blob(reference_number=None), "session tokens: reference_number is missing"),
        (blob(access_valid_until=None), "session tokens: access_valid_until is missing"),
        (blob(refresh_valid_until="next week"), "session tokens: refresh_valid_until is not an ISO 8601 instant"),
        (blob(access_valid_until="2026-03-01T12:15:00"), "session tokens: access_valid_until has no time zone"),
        (blob(access_token=""), "session tokens: empty token"),
    ],
)
def test_a_damaged_blob_names_the_field_and_never_quotes_a_token(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        SessionTokens.from_json(text)
    assert str(caught.value) == message
    assert ACCESS not in str(caught.value)
    assert REFRESH not in str(caught.value)
