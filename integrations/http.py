"""What every provider client shares: one session per provider with timeouts and a retry policy for
transient failures, and the helpers that read answers (JSON bodies, Retry-After, capped downloads).

Nothing here imports Django: the app passes settings in and receives each HTTP exchange through a
callback, which is how every attempt reaches the audit. The error type is in `errors.py`, what the audit
keeps of each exchange in `redaction.py`, bearer tokens in `tokens.py`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3

from integrations.errors import FailureClass, ProviderError
from integrations.redaction import summarize, summarize_response

USER_AGENT = "media-sync/0.1"
T = TypeVar("T")


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer (or the lack of one), redacted, ready for the audit."""

    provider: str
    operation: str
    method: str
    path: str
    attempt: int
    request_summary: str
    status_code: int | None
    response_summary: str
    duration_ms: int
    error: ProviderError | None


@dataclass(frozen=True)
class OutgoingRequest:
    """One attempt about to be sent, redacted like an Exchange: reported before the request leaves, so a
    worker that dies before the answer still leaves a trace of what went out (a write-ahead record)."""

    provider: str
    operation: str
    method: str
    path: str
    attempt: int
    request_summary: str


ExchangeHook = Callable[[Exchange], None]
RequestHook = Callable[[OutgoingRequest], None]
# A slot to hold while one attempt is on the wire: the caller's shared rate limit and concurrency cap.
Gate = Callable[[], AbstractContextManager[None]]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; the provider's Retry-After wins when it asks for longer."""
        backoff = random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))
        if retry_after is not None:
            return min(self.backoff_max, max(retry_after, backoff))
        return backoff


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def json_body(response: requests.Response) -> Any:
    """The JSON body, or a parse error that says what came instead (an HTML error page, cut-off JSON)."""
    content_type = response.headers.get("Content-Type", "")
    try:
        return response.json()
    except ValueError:
        kind = "HTML" if "html" in content_type or response.text.lstrip().startswith("<") else "invalid JSON"
        raise ProviderError(
            f"provider answered HTTP {response.status_code} with {kind} where JSON was expected",
            failure_class=FailureClass.PARSE,
            transient=False,
            http_status=response.status_code,
        ) from None


class Transport(TypedDict, total=False):
    """How a client's calls travel, the same for every provider: the keywords each client passes through
    to its ProviderSession (a key left out takes the session's default)."""

    timeout: tuple[float, float]
    retry: RetryPolicy | None
    on_exchange: ExchangeHook | None
    on_request: RequestHook | None
    sleep: Callable[[float], None]
    gate: Gate


class ProviderSession:
    """A requests.Session bound to one provider: base URL, timeouts, retries, and the exchange hooks:
    `on_request` before each attempt is sent (before the gate's wait, too), `on_exchange` after it."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        on_exchange: ExchangeHook | None = None,
        on_request: RequestHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        gate: Gate = nullcontext,
    ) -> None:
        if not base_url:
            raise ValueError(f"{provider}: no base URL configured")
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.on_exchange = on_exchange
        self.on_request = on_request
        self.sleep = sleep
        self.gate = gate
        self.http = requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        check: Callable[[requests.Response], T],
        headers: dict[str, str] | None = None,
        json_payload: Any = None,
        body: Callable[[], Any] | None = None,
        summary: Any = None,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> T:
        """Send until the answer passes `check` or a permanent error, retrying transient failures.

        `check` turns a response into the caller's result or raises ProviderError. `body`, when given,
        makes a fresh request body for each attempt (a stream is read once: a retry re-opens it), and
        `summary` is what the audit shows of it. `path` may be a full URL (a provider's pre-signed link).
        A call that is not `idempotent` is not sent again when an attempt may have been carried out without
        its answer reaching us (`unconfirmed`): the caller must look at the provider first.
        Every attempt is reported to the request hook before it is sent and to the exchange hook after.
        """
        attempt = 0
        while True:
            attempt += 1
            data = body() if body else None
            request_kwargs = {**kwargs, "headers": headers, "json": json_payload}
            if data is not None:
                request_kwargs["data"] = data
            try:
                return self._attempt(
                    method, path, operation, attempt, check, summary or json_payload, request_kwargs
                )
            except ProviderError as error:
                if not error.transient or attempt >= self.retry.max_attempts:
                    raise
                if error.unconfirmed and not idempotent:
                    raise
                self.sleep(self.retry.delay(attempt, error.retry_after))
            finally:
                if data is not None and hasattr(data, "close"):
                    data.close()

    def describe(
        self, method: str, path: str, *, operation: str, attempt: int = 1, summary: Any = None
    ) -> OutgoingRequest:
        """The attempt as the request hook will be told of it, redacted: what a caller that writes its
        request rows ahead, for several calls at once, writes (the hook then finds it already written)."""
        return OutgoingRequest(
            provider=self.provider,
            operation=operation,
            method=method,
            path=urlsplit(path).path,
            attempt=attempt,
            request_summary=summarize(summary),
        )

    def _attempt(
        self,
        method: str,
        path: str,
        operation: str,
        attempt: int,
        check: Callable[[requests.Response], T],
        summary: Any,
        request_kwargs: dict[str, Any],
    ) -> T:
        started = time.monotonic()
        response: requests.Response | None = None
        error: ProviderError | None = None
        outgoing = self.describe(method, path, operation=operation, attempt=attempt, summary=summary)
        if self.on_request is not None:
            self.on_request(outgoing)
        try:
            url = path if path.startswith(("http://", "https://")) else self.base_url + path
            with self.gate():
                started = time.monotonic()  # the wait for a slot is not the provider's time
                response = self.http.request(method, url, timeout=self.timeout, **request_kwargs)
            return check(response)
        except requests.ConnectTimeout:
            error = ProviderError(
                f"no connection within {self.timeout[0]:g} s",
                failure_class=FailureClass.TIMEOUT,
                transient=True,
            )
            raise error from None
        except requests.Timeout:
            error = ProviderError(
                f"no answer within {self.timeout[1]:g} s",
                failure_class=FailureClass.TIMEOUT,
                transient=True,
                unconfirmed=True,
            )
            raise error from None
        except requests.RequestException as exc:
            # Refused, reset, or cut off half-way through the body (ChunkedEncodingError): try again.
            error = ProviderError(
                f"connection failed: {type(exc).__name__}",
                failure_class=FailureClass.CONNECTION,
                transient=True,
                unconfirmed=_unconfirmed_after(exc),
            )
            raise error from None
        except ProviderError as exc:
            error = exc
            raise
        except BaseException as exc:
            # Whatever else stopped this exchange (a bug, the worker's time limit) is not a success.
            error = ProviderError(
                f"interrupted: {type(exc).__name__}", failure_class=FailureClass.INTERNAL, transient=False
            )
            raise
        finally:
            if self.on_exchange is not None:
                self.on_exchange(
                    Exchange(
                        **asdict(outgoing),
                        status_code=response.status_code if response is not None else None,
                        # A token endpoint's answer is the token itself: never kept, whatever its format.
                        # Every provider's Call names its token request "auth" for this.
                        response_summary="[not kept]"
                        if operation == "auth"
                        else summarize_response(response, streamed=bool(request_kwargs.get("stream"))),
                        duration_ms=int((time.monotonic() - started) * 1000),
                        error=error,
                    )
                )


FETCH_CHUNK = 64 * 1024


def _too_large(response: requests.Response, max_bytes: int) -> ProviderError:
    return ProviderError(
        f"the file is larger than {max_bytes} bytes: not read",
        failure_class=FailureClass.TOO_LARGE,
        transient=False,
        http_status=response.status_code,
    )


def read_capped(response: requests.Response, *, max_bytes: int) -> bytes:
    """A streamed body read a chunk at a time, refused as soon as it passes `max_bytes` (the declared
    length is believed only when it already says too much)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(response, max_bytes)
    body = bytearray()
    for chunk in response.iter_content(FETCH_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(response, max_bytes)
    return bytes(body)


def stream_into(
    session: ProviderSession,
    url: str,
    *,
    operation: str,
    max_bytes: int,
    expected_size: int | None,
    status_check: Callable[[requests.Response], object],
    start: Callable[[], Callable[[bytes], object]],
) -> int:
    """GET a pre-signed link and write its body, a chunk at a time, to the writer `start` gives (called
    once per attempt, so a retried download starts over): never the whole file in memory. Refused past
    `max_bytes` (the declared length first, then as it streams); a body shorter or longer than the
    `expected_size` the provider listed is a broken download, tried again. Returns the bytes written."""

    def check(response: requests.Response) -> int:
        try:
            status_check(response)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(response, max_bytes)
            write, written = start(), 0
            for chunk in response.iter_content(FETCH_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise _too_large(response, max_bytes)
                write(chunk)
            if expected_size is not None and written != expected_size:
                raise ProviderError(
                    f"the download gave {written} bytes where {expected_size} were listed",
                    failure_class=FailureClass.CONNECTION,
                    transient=True,
                    http_status=response.status_code,
                )
            return written
        finally:
            response.close()

    return session.request("GET", url, operation=operation, stream=True, check=check)


def fetch_bytes(
    session: ProviderSession,
    url: str,
    *,
    operation: str,
    max_bytes: int,
    status_check: Callable[[requests.Response], object],
    decode: Callable[[bytes], T],
) -> T:
    """GET a pre-signed link (the link is the credential: no token goes with it), stream at most
    `max_bytes` and hand them to `decode`. A ValueError from `decode` fails the exchange as a parse error,
    so the audit row of the fetch says the bytes were unusable."""

    def check(response: requests.Response) -> T:
        try:
            status_check(response)
            data = read_capped(response, max_bytes=max_bytes)
            try:
                return decode(data)
            except ValueError as error:
                raise ProviderError(
                    str(error),
                    failure_class=FailureClass.PARSE,
                    transient=False,
                    http_status=response.status_code,
                ) from None
        finally:
            response.close()

    return session.request("GET", url, operation=operation, stream=True, check=check)


def _unconfirmed_after(exc: requests.RequestException) -> bool:
    """Whether a request that failed so may have been carried out: False only when the connection was
    never made (refused, unresolvable), since then nothing was sent."""
    seen: list[BaseException] = [exc]
    while seen and len(seen) < 10:
        cause = seen[-1]
        if isinstance(cause, urllib3.exceptions.NewConnectionError):
            return False
        wrapped = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        following = getattr(cause, "reason", None) or wrapped or cause.__context__
        if not isinstance(following, BaseException) or following in seen:
            break
        seen.append(following)
    return True
