"""Fixtures for the auth integration tests: a real OIDC issuer on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.integration.auth.oidc_stand_in import Issuer, running_issuer


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as state:
        yield state
