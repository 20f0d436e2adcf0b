"""Fixtures shared across the test packages."""

from __future__ import annotations

import pytest

from tests.fakes import PROXY_ENV_VARS


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy from the environment: slack-sdk and aiohttp clients that read it would send
    requests for the local doubles to a proxy."""
    for name in PROXY_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
