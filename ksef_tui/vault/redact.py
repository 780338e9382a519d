"""Keeping secrets out of what a human or a log may read: reprs, error details and tracebacks.

A secret travels as ``Redacted`` (a ``str`` whose ``repr`` is its fingerprint), and an error's detail text
goes through ``scrub`` with the secrets that were in play, so neither a traceback with locals nor a careless
backend's message ever shows one.
"""

from __future__ import annotations

from ksef_tui.domain.session import fingerprint

__all__ = ["Redacted", "detail", "fingerprint", "scrub"]

DETAIL_LIMIT = 300


class Redacted(str):
    """A secret whose ``repr`` is its fingerprint, so tracebacks with locals and ``%r`` logs never show it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<secret sha256:{fingerprint(str(self))}>"


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every non-empty secret replaced by its fingerprint."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, f"<secret sha256:{fingerprint(secret)}>")
    return text


def detail(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """An error's type and message for the diagnostics screen: scrubbed, at most ``DETAIL_LIMIT`` characters."""
    return scrub(f"{type(exc).__name__}: {exc}", secrets)[:DETAIL_LIMIT]
