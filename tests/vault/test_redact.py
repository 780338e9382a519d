"""The vault's redaction: a secret never reaches a repr, an error detail or a traceback in clear."""

from __future__ import annotations

import hashlib

from ksef_tui.vault.redact import DETAIL_LIMIT, Redacted, detail, scrub

from .support import make_token


def _marker(secret: str) -> str:
    return f"<secret sha256:{hashlib.sha256(secret.encode()).hexdigest()[:8]}>"  # computed here, independently


def test_redacted_repr_is_the_fingerprint_and_its_value_is_intact() -> None:
    token = make_token()
    secret = Redacted(token)
    assert repr(secret) == _marker(token)
    assert repr([secret]) == f"[{_marker(token)}]"
    assert repr({"token": secret}) == f"{{'token': {_marker(token)}}}"
    assert "%r" % (secret,) == _marker(token)  # noqa: UP031 - what logging does with %r
    assert f"{secret!r}" == _marker(token)
    assert secret == token and f"{secret}" == token and str(secret) == token
    assert type(str(secret)) is str and repr(str(secret)) == repr(token)  # a plain str again where needed
    assert Redacted("abc").__repr__() == "<secret sha256:ba7816bf>"  # sha256("abc"), a published vector


def test_scrub_replaces_every_occurrence_of_every_secret() -> None:
    one, two = make_token(), make_token()
    text = f"a {one} b {two} c {one}"
    scrubbed = scrub(text, (one, two))
    assert scrubbed == f"a {_marker(one)} b {_marker(two)} c {_marker(one)}"
    assert scrub(text, (one,)) == f"a {_marker(one)} b {two} c {_marker(one)}"
    assert scrub(text, ()) == text
    assert scrub(text, ("",)) == text  # an empty secret is not a secret to replace everywhere
    assert scrub("nothing here", (one,)) == "nothing here"


def test_detail_is_type_and_message_scrubbed_then_cut() -> None:
    token = make_token()
    assert detail(RuntimeError(f"cannot store {token}"), (token,)) == f"RuntimeError: cannot store {_marker(token)}"
    assert detail(OSError(5, "I/O error")) == "OSError: [Errno 5] I/O error"
    assert detail(KeyError("x")) == "KeyError: 'x'"
    long = detail(ValueError("x" * 1000))
    assert len(long) == DETAIL_LIMIT == 300
    assert long.startswith("ValueError: xxx")
    # a secret straddling the cut is replaced before cutting: not even its first characters remain
    padding = "p" * (DETAIL_LIMIT - len("ValueError: ") - 10)
    cut = detail(ValueError(padding + token), (token,))
    assert token[:10] not in cut
    assert len(cut) == DETAIL_LIMIT
    assert detail(ValueError(padding + token)).endswith(token[:10])  # the same text unscrubbed would show it
