"""Bearer tokens: a process-wide cache, and the client base class whose calls carry one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, Unpack

import requests

from integrations.errors import ProviderError
from integrations.http import ProviderSession, Transport

T = TypeVar("T")


class TokenCache:
    """Bearer tokens shared by every client in the process, kept until shortly before they expire."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # Held while a client logs in (BearerTokenClient._token_once); never while _lock is.
        self.fetching = threading.Lock()
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}

    def get(self, key: tuple[str, ...]) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None or entry[1] <= self._clock():
                return None
            return entry[0]

    def put(self, key: tuple[str, ...], token: str, expires_in: float) -> None:
        # Renew a minute early (or a tenth of a short lifetime) so a token never expires mid-request.
        margin = min(60.0, expires_in / 10)
        with self._lock:
            self._tokens[key] = (token, self._clock() + expires_in - margin)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def discard(self, key: tuple[str, ...], token: str) -> None:
        with self._lock:
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]


class BearerTokenClient:
    """A provider client whose calls carry a bearer token, cached per process and asked for again once
    when a call answers 401. Subclasses say how a token is obtained (`new_token`)."""

    provider = ""

    def __init__(
        self, *, base_url: str, identity: str, token_cache: TokenCache, **transport: Unpack[Transport]
    ) -> None:
        self._session = ProviderSession(provider=self.provider, base_url=base_url, **transport)
        self._tokens = token_cache
        self._token_key = (self.provider, self._session.base_url, identity)

    def new_token(self) -> str:
        raise NotImplementedError

    def _token_once(self) -> str:
        """A new token, asked for by one thread of the process at a time: threads that find none at
        once (a worker's calls in parallel) wait for the first one's login instead of each logging in."""
        with self._tokens.fetching:
            return self._tokens.get(self._token_key) or self.new_token()

    def _remember(self, token: str, expires_in: float) -> str:
        self._tokens.put(self._token_key, token, expires_in)
        return token

    def _authorized(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        check: Callable[[requests.Response], T],
        extra_headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> T:
        token = self._tokens.get(self._token_key) or self._token_once()
        try:
            return self._send(method, path, operation, token, check, extra_headers, kwargs)
        except ProviderError as error:
            if error.http_status != 401:
                raise
        # Refused although not expired by our clock (revoked, or the provider restarted): once more.
        self._tokens.discard(self._token_key, token)
        return self._send(method, path, operation, self.new_token(), check, extra_headers, kwargs)

    def _send(
        self,
        method: str,
        path: str,
        operation: str,
        token: str,
        check: Callable[[requests.Response], T],
        extra_headers: dict[str, str] | None,
        kwargs: dict[str, Any],
    ) -> T:
        headers = {"Authorization": f"Bearer {token}", **(extra_headers or {})}
        return self._session.request(
            method, path, operation=operation, headers=headers, check=check, **kwargs
        )
