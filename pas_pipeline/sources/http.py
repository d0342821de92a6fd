"""The HTTP layer every source client shares.

One :class:`ApiClient` per API wraps an ``httpx.Client`` with the API's :class:`ApiPolicy`:
a token-bucket rate limit, retries with exponential backoff and full jitter on 429/5xx and
transport failures (honouring ``Retry-After``), a documented User-Agent, and strict JSON
body checks. Errors name the source and the request *path* only: never a header value or a
query string, which is where API keys live.

Sample mode is the same client talking to :func:`sample_transport`, an in-process
``httpx.MockTransport`` that routes each request to the generator registered for its host
(see :func:`register_sample_handler`), so production parsing runs offline unchanged.

Every :meth:`ApiClient.get_json` call runs in an ``http.get`` span (attributes: API name,
request path without the query string, final HTTP status, retries, and the row count when
the body is a JSON list; never a header or a parameter) and records the
``pas_api_request_seconds``, ``pas_api_errors_total`` and ``pas_api_retries_total`` metrics
(:mod:`pas_pipeline.observability.metrics`). With an ``auth`` (a web session such as
:mod:`pas_pipeline.sources.session_auth`), the session's own requests (its bootstrap, and a
renewal plus the retried request) happen inside the call that triggers them, so they are
part of that call's span, duration and final status.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from opentelemetry import trace

from pas_pipeline import __version__
from pas_pipeline.observability.metrics import record_api_call, record_api_retry
from pas_pipeline.observability.tracing import span
from pas_pipeline.sources.errors import (
    PayloadError,
    SourceAuthError,
    SourceError,
    SourceRateLimitedError,
    SourceUnavailableError,
)
from pas_pipeline.sources.rate_limit import TokenBucket

log = logging.getLogger(__name__)

USER_AGENT = (
    f"pas-pipeline/{__version__} (https://github.com/pas-pipeline; ops@example.org) "
    f"httpx/{httpx.__version__}"
)
"""Wikimedia's preferred form: ``<client>/<version> (<contact>) <library>/<version>``."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

SPAN_NAME = "http.get"
ATTR_API = "api.name"
ATTR_PATH = "url.path"
ATTR_STATUS = "http.response.status_code"
ATTR_RETRIES = "http.retries"
ATTR_ROWS = "api.rows"
"""Attribute names of the ``http.get`` span (the row count only when the body is a list)."""

_ERROR_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (SourceAuthError, "auth"),
    (SourceRateLimitedError, "rate_limited"),
    (SourceUnavailableError, "unavailable"),
    (PayloadError, "payload"),
    (SourceError, "http"),
)


def error_kind(error: BaseException) -> str:
    """The ``kind`` label of ``pas_api_errors_total`` for ``error``: auth, rate_limited,
    unavailable, payload, http (any other :class:`SourceError`) or other."""
    return next((kind for cls, kind in _ERROR_KINDS if isinstance(error, cls)), "other")


def path_only(path: str) -> str:
    """``path`` without any query string or fragment (which may hold keys)."""
    return path.split("?", 1)[0].split("#", 1)[0]


@dataclass(frozen=True)
class ApiPolicy:
    """How to talk to one API.

    ``requests_per_second`` (``math.inf`` = unlimited) and ``burst`` set the token bucket;
    ``max_retries`` counts retries after the first attempt; the backoff before retry ``k``
    (0-based) is ``min(backoff_cap_seconds, backoff_base_seconds * 2**k) * U[0, 1)`` unless
    the server sends ``Retry-After``. ``timeout_seconds`` applies to connect, read, write and
    pool. ``not_found_is_empty`` turns HTTP 404 into "no data" (``None``) instead of an error.
    ``json_prefix`` is an anti-hijacking guard some APIs put before the JSON (Google's
    ``)]}'``): stripped when present, so the rest must still be valid JSON.
    """

    name: str
    base_url: str
    requests_per_second: float
    burst: float
    max_retries: int = 5
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 60.0
    timeout_seconds: float = 30.0
    not_found_is_empty: bool = False
    json_prefix: str = ""


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date).

    ``now`` is the current wall-clock time in epoch seconds (used for the HTTP-date form).
    Returns ``None`` when the value cannot be parsed; never a negative number.
    """
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def _parse_json_body(source: str, response: httpx.Response, prefix: str = "") -> Any:
    """Decode a JSON body (``NaN``/``Infinity`` literals allowed) or raise :class:`PayloadError`.

    A leading ``prefix`` (after white space) is removed first.
    """
    content = response.content
    if prefix and content.lstrip().startswith(prefix.encode()):
        content = content.lstrip()[len(prefix.encode()) :]
    if not content.strip():
        raise PayloadError(source, f"empty body (HTTP {response.status_code})")
    content_type = response.headers.get("content-type", "").lower()
    if "text/html" in content_type or content.lstrip()[:1] == b"<":
        raise PayloadError(source, f"expected JSON, got HTML (HTTP {response.status_code})")
    try:
        return json.loads(content)
    except UnicodeDecodeError as exc:
        raise PayloadError(source, f"body is not UTF-8 text: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise PayloadError(
            source,
            f"invalid JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}",
        ) from exc


def _body_excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


class ApiClient:
    """A rate-limited, retrying JSON client for one API (see :class:`ApiPolicy`).

    ``headers`` are sent with every request after ``User-Agent`` and ``Accept``; put keys
    there, never in errors. ``sleep`` (seconds), ``clock`` (monotonic seconds),
    ``wall_clock`` (epoch seconds, for HTTP-date ``Retry-After``) and ``rng`` are injectable
    so tests are instant and deterministic. ``auth`` (an ``httpx.Auth``, e.g. a
    :class:`~pas_pipeline.sources.session_auth.SessionAuth`) signs every request. Use as a
    context manager or call :meth:`close`.
    """

    def __init__(
        self,
        policy: ApiPolicy,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self.bucket = TokenBucket(policy.requests_per_second, policy.burst, clock, sleep)
        self._client = httpx.Client(
            base_url=policy.base_url,
            transport=transport,
            auth=auth,
            timeout=policy.timeout_seconds,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    def _backoff(self, attempt: int) -> float:
        cap = min(self.policy.backoff_cap_seconds, self.policy.backoff_base_seconds * 2**attempt)
        return cap * self._rng.random()

    def _retry_delay(self, attempt: int, response: httpx.Response | None) -> float:
        header = response.headers.get("retry-after") if response is not None else None
        if header is not None:
            delay = parse_retry_after(header, self._wall_clock())
            if delay is not None:
                return delay
        return self._backoff(attempt)

    def _send(self, path: str, params: Mapping[str, Any] | None) -> httpx.Response:
        """Send with retries; return the first non-retryable response or raise when exhausted."""
        name = self.policy.name
        attempts = self.policy.max_retries + 1
        shown = path_only(path)
        current = trace.get_current_span()
        for attempt in range(attempts):
            self.bucket.acquire()
            response: httpx.Response | None = None
            current.set_attribute(ATTR_RETRIES, attempt)
            try:
                response = self._client.get(path, params=params)
            except httpx.TransportError as exc:
                failure = type(exc).__name__
            else:
                current.set_attribute(ATTR_STATUS, response.status_code)
                if response.status_code not in RETRY_STATUSES:
                    return response
                failure = f"HTTP {response.status_code}"
            if attempt == attempts - 1:
                message = f"GET {shown} failed after {attempts} attempts (last: {failure})"
                if response is not None and response.status_code == 429:
                    raise SourceRateLimitedError(name, message)
                raise SourceUnavailableError(name, message)
            delay = self._retry_delay(attempt, response)
            log.warning(
                "%s: GET %s -> %s; retry %d in %.2fs", name, shown, failure, attempt + 1, delay
            )
            record_api_retry(name)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any | None:
        """GET ``path`` (relative to the policy's base URL) and return the decoded JSON body.

        Returns ``None`` for HTTP 404 when ``policy.not_found_is_empty``. Raises
        :class:`SourceAuthError` (401/403), :class:`SourceRateLimitedError` (429 after all
        retries), :class:`SourceUnavailableError` (5xx/timeouts after all retries),
        :class:`SourceError` (other 4xx, or 404 when it is not "empty") and
        :class:`PayloadError` (HTML, empty or invalid JSON body, even with status 200).
        Traced and measured (see the module doc).
        """
        name = self.policy.name
        started = self._clock()
        with span(SPAN_NAME, **{ATTR_API: name, ATTR_PATH: path_only(path)}) as current:
            try:
                body = self._get_json(path, params)
            except Exception as exc:
                record_api_call(name, "error", self._clock() - started, error_kind(exc))
                raise
            record_api_call(name, "ok" if body is not None else "empty", self._clock() - started)
            if isinstance(body, list):
                current.set_attribute(ATTR_ROWS, len(body))
            return body

    def _get_json(self, path: str, params: Mapping[str, Any] | None) -> Any | None:
        name = self.policy.name
        response = self._send(path, params)
        status = response.status_code
        shown = path_only(path)
        if status == 401:
            refused = "web session refused" if self._client.auth else "missing/invalid key"
            raise SourceAuthError(name, f"GET {shown}: HTTP 401, {refused}")
        if status == 403:
            raise SourceAuthError(name, f"GET {shown}: HTTP 403, plan lacks this dataset")
        if status == 404:
            if self.policy.not_found_is_empty:
                return None
            raise SourceError(name, f"GET {shown}: HTTP 404 not found")
        if status >= 400:
            raise SourceError(name, f"GET {shown}: HTTP {status}: {_body_excerpt(response)}")
        return _parse_json_body(name, response, self.policy.json_prefix)


# --- sample mode -----------------------------------------------------------------------

SampleHandler = Callable[[httpx.Request], httpx.Response]

SAMPLE_HANDLERS: dict[str, SampleHandler] = {}
"""Sample-mode generators keyed by host (``"query2.finance.yahoo.com"``)."""


def register_sample_handler(host: str, handler: SampleHandler) -> None:
    """Serve requests to ``host`` from ``handler`` in sample mode (replaces any earlier one)."""
    SAMPLE_HANDLERS[host.lower()] = handler


def _route_sample_request(request: httpx.Request) -> httpx.Response:
    handler = SAMPLE_HANDLERS.get(request.url.host.lower())
    if handler is None:
        return httpx.Response(
            502, json={"error": f"no sample handler registered for host {request.url.host}"}
        )
    return handler(request)


def sample_transport() -> httpx.MockTransport:
    """An in-process transport answering every request from :data:`SAMPLE_HANDLERS`.

    Unknown hosts get HTTP 502 with a JSON error body.
    """
    return httpx.MockTransport(_route_sample_request)


def unlimited(policy: ApiPolicy) -> ApiPolicy:
    """``policy`` without a rate limit (sample mode has no server to protect)."""
    return dataclasses.replace(policy, requests_per_second=math.inf)
