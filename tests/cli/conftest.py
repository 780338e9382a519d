"""The command line sets the process-wide language from ``--lang``; no test may leave it set for the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ksef_tui import i18n


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    yield
    i18n.set_language(None)
