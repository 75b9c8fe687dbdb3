"""What the integration tests share as fixtures (their helpers are in `clients.py`)."""

from __future__ import annotations

import pytest

from integrations.http import Exchange


@pytest.fixture
def exchanges() -> list[Exchange]:
    """Every exchange a client reports (its `on_exchange`), in order."""
    return []
