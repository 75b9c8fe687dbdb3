"""The provider clients as the integration tests build them, against a simulator over real HTTP: the demo
credentials, quick retries that do not sleep, a token cache of their own, every exchange kept."""

from __future__ import annotations

from typing import Any

import requests

from integrations.http import Exchange, RetryPolicy
from integrations.recoveryconnect.client import RecoveryConnectClient
from integrations.suapi.client import SuApiClient
from integrations.tokens import TokenCache

TIMEOUT = 2.0


def rc_client(base_url: str, exchanges: list[Exchange], **options: Any) -> RecoveryConnectClient:
    """`options` replace the defaults (say `sleep=sleeps.append` to see the back-off)."""
    defaults: dict[str, Any] = {
        "username": "demo",
        "password": "demo-password",
        "timeout": (1.0, 1.0),
        "retry": RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.05),
        "token_cache": TokenCache(),
        "sleep": lambda seconds: None,
    }
    return RecoveryConnectClient(base_url=base_url, on_exchange=exchanges.append, **(defaults | options))


def su_client(base_url: str, exchanges: list[Exchange]) -> SuApiClient:
    return SuApiClient(
        base_url=base_url,
        app_id="demo-app",
        api_key="demo-key",
        timeout=(1.0, 5.0),
        retry=RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_max=0.01),
        on_exchange=exchanges.append,
    )


def rc_bearer(base_url: str) -> dict[str, str]:
    """The Authorization header of a fresh RecoveryConnect login, for calls made with plain `requests`."""
    response = requests.post(
        f"{base_url}/api/v140/auth", json={"username": "demo", "password": "demo-password"}, timeout=TIMEOUT
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
