"""Web sessions for keyless endpoints that still want a cookie (and sometimes a token).

Some public endpoints refuse a bare request: Yahoo's ``quoteSummary`` and ``v7/finance/quote``
want the session cookie that ``https://fc.yahoo.com/`` sets plus a ``crumb`` query parameter
from ``https://query1.finance.yahoo.com/v1/test/getcrumb`` (what yfinance does), and Google
Trends wants the ``NID`` cookie that ``https://trends.google.com/?geo=US`` sets (what
pytrends does). :class:`SessionAuth` is one ``httpx.Auth`` for both: the session is
described declaratively as a list of :class:`BootstrapStep` (GET these URLs in order, keep
their cookies, optionally read a token from a step's body), so the two sources differ only
in data (:func:`yahoo_session_auth`, :func:`google_trends_session_auth`).

What a signed request carries: the ``Cookie`` header of the session's own jar (it replaces
any ``Cookie`` header the client's jar would add, so one session can be shared by several
clients) and each token as a query parameter (``crumb=...``). Cookies set by the API's own
answers are kept in the jar too.

When the session is (re-)established: lazily, on the first request through the auth; and
once more when a signed request is answered with a "session expired" status (HTTP 401 by
default, e.g. Yahoo's ``Invalid Crumb``): the jar is emptied, the bootstrap runs again and
the request is retried once; a second refusal is returned as is (``ApiClient`` raises
:class:`~pas_pipeline.sources.errors.SourceAuthError`). A bootstrap that fails raises
:class:`~pas_pipeline.sources.errors.SourceAuthError` naming the source and the bootstrap
URL's host and path: a token step answered non-2xx, HTML, an empty or implausible token,
or a step's required cookie was not set. Transport errors (timeouts, refused connections)
propagate unchanged, so the client's retry policy covers them. Bootstrap requests send the
original request's ``User-Agent`` and timeout, not its other headers, and do not take a
token from the client's rate-limit bucket (one or two extra requests per session).

No cookie or token value ever appears in an error or a log record written here; token query
parameters are also masked (``crumb=***``) in the request lines ``httpx`` logs at INFO.

Not synchronised: two threads making the first call together may both bootstrap, which is
harmless (the last session wins).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterable
from dataclasses import dataclass

import httpx

from pas_pipeline.sources.errors import SourceAuthError

log = logging.getLogger(__name__)

YAHOO_SOURCE = "yahoo"
YAHOO_COOKIE_URL = "https://fc.yahoo.com/"
"""Answers 404, but sets Yahoo's session cookie (``A3``, domain ``.yahoo.com``)."""
YAHOO_CRUMB_URL = "https://query1.finance.yahoo.com/v1/test/getcrumb"
"""Answers the session's crumb as plain text (HTTP 401 without the cookie)."""
YAHOO_CRUMB_PARAM = "crumb"

GOOGLE_TRENDS_SOURCE = "google_trends"
GOOGLE_TRENDS_HOME_URL = "https://trends.google.com/?geo=US"
"""The Trends home page: sets the ``NID`` cookie (domain ``.google.com``)."""
GOOGLE_SESSION_COOKIE = "NID"

SESSION_EXPIRED_STATUSES = frozenset({401})
"""Answers to a signed request that mean "start a new session and try once more"."""

_TOKEN = re.compile(r"^[^\s<>{}\"']{1,128}$")
"""A plausible token: 1-128 characters, no white space, no markup or JSON punctuation."""


@dataclass(frozen=True)
class BootstrapStep:
    """One ``GET`` of a session bootstrap.

    ``token_param``: the step must answer 2xx with a plain-text token (the whole body,
    stripped), sent from then on as this query parameter. ``cookie``: the session's jar must
    hold a cookie of this name after the step. Without either, any status is accepted (Yahoo's
    ``fc.yahoo.com`` answers 404 and only sets the cookie).
    """

    url: str
    token_param: str | None = None
    cookie: str | None = None

    @property
    def where(self) -> str:
        """``host/path`` of the step, for messages (never the query string)."""
        url = httpx.URL(self.url)
        return f"{url.host}{url.path}"


class _RedactQueryParams(logging.Filter):
    """Masks the values of session token query parameters in log messages (``httpx`` logs
    every request URL at INFO)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, name: str) -> None:
        if name not in self.names:
            self.names.add(name)
            alternatives = "|".join(re.escape(n) for n in sorted(self.names))
            self._pattern = re.compile(rf"([?&](?:{alternatives})=)[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is not None:
            message = record.getMessage()
            redacted = self._pattern.sub(r"\1***", message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


_REDACTION = _RedactQueryParams()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_REDACTION)


class SessionAuth(httpx.Auth):
    """Establishes a web session for ``source`` on first use and signs every request with it.

    ``steps`` are GET in order with the session's cookie jar (see :class:`BootstrapStep`);
    ``expired_statuses`` are the answers after which the session is established anew and the
    request retried once. See the module docstring for what is sent and when it refreshes.
    """

    requires_response_body = True  # a token is read from a bootstrap answer's body

    def __init__(
        self,
        source: str,
        steps: Iterable[BootstrapStep],
        expired_statuses: Iterable[int] = SESSION_EXPIRED_STATUSES,
    ) -> None:
        self.source = source
        self.steps = tuple(steps)
        if not self.steps:
            raise ValueError("a session needs at least one bootstrap step")
        self.expired_statuses = frozenset(expired_statuses)
        self._cookies = httpx.Cookies()
        self._params: dict[str, str] = {}
        self._established = False
        for step in self.steps:
            if step.token_param:
                _REDACTION.add(step.token_param)

    @property
    def established(self) -> bool:
        """Whether a session is held (the next request is signed without a bootstrap)."""
        return self._established

    def reset(self) -> None:
        """Forget the session: the next request establishes a new one."""
        self._cookies = httpx.Cookies()
        self._params = {}
        self._established = False

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._established:
            yield from self._bootstrap(request)
        response = yield self._sign(request)
        self._cookies.extract_cookies(response)
        if response.status_code not in self.expired_statuses:
            return
        log.warning(
            "%s: GET %s answered HTTP %d; establishing a new session and retrying once",
            self.source,
            request.url.path,
            response.status_code,
        )
        yield from self._bootstrap(request)
        response = yield self._sign(request)
        self._cookies.extract_cookies(response)

    def _sign(self, request: httpx.Request) -> httpx.Request:
        """A copy of ``request`` with the session's ``Cookie`` header (replacing any other)
        and token parameters (replacing any of the same name); ``request`` is not changed."""
        headers = request.headers.copy()
        headers.pop("Cookie", None)
        signed = httpx.Request(
            request.method,
            request.url.copy_merge_params(self._params) if self._params else request.url,
            headers=headers,
            stream=request.stream,
            extensions=dict(request.extensions),
        )
        self._cookies.set_cookie_header(signed)
        return signed

    def _bootstrap(self, origin: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Run every step with a fresh jar; raise :class:`SourceAuthError` when one fails."""
        self.reset()
        headers = {"Accept": "*/*"}
        if "User-Agent" in origin.headers:
            headers["User-Agent"] = origin.headers["User-Agent"]
        extensions = (
            {"timeout": origin.extensions["timeout"]} if "timeout" in origin.extensions else {}
        )
        params: dict[str, str] = {}
        for step in self.steps:
            request = httpx.Request("GET", step.url, headers=headers, extensions=extensions)
            self._cookies.set_cookie_header(request)
            response = yield request
            self._cookies.extract_cookies(response)
            if step.token_param:
                params[step.token_param] = self._token(step, response)
            if step.cookie and not any(c.name == step.cookie for c in self._cookies.jar):
                raise SourceAuthError(
                    self.source,
                    f"session bootstrap GET {step.where} set no {step.cookie} cookie "
                    f"(HTTP {response.status_code})",
                )
        self._params = params
        self._established = True
        log.info(
            "%s: session established (GET %s)",
            self.source,
            ", GET ".join(step.where for step in self.steps),
        )

    def _token(self, step: BootstrapStep, response: httpx.Response) -> str:
        """The token in a token step's answer, or :class:`SourceAuthError` (never the body)."""
        where = f"session bootstrap GET {step.where}"
        status = response.status_code
        if not response.is_success:
            raise SourceAuthError(self.source, f"{where} answered HTTP {status}")
        text = response.text.strip()
        content_type = response.headers.get("content-type", "").lower()
        if "html" in content_type or text.startswith("<"):
            raise SourceAuthError(
                self.source, f"{where} answered HTML, not a {step.token_param} (HTTP {status})"
            )
        if not text:
            raise SourceAuthError(self.source, f"{where} answered an empty {step.token_param}")
        if not _TOKEN.match(text):
            raise SourceAuthError(
                self.source, f"{where} answered a body that is not a {step.token_param}"
            )
        return text


def yahoo_session_auth() -> SessionAuth:
    """Yahoo's session, as yfinance establishes it: ``GET https://fc.yahoo.com/`` (any status;
    it sets the ``A3`` cookie for ``.yahoo.com``), then ``GET
    https://query1.finance.yahoo.com/v1/test/getcrumb`` with that cookie, whose plain-text
    answer is sent as ``crumb=`` on every request. Renewed once on HTTP 401 (``Invalid
    Crumb``)."""
    return SessionAuth(
        YAHOO_SOURCE,
        (
            BootstrapStep(YAHOO_COOKIE_URL),
            BootstrapStep(YAHOO_CRUMB_URL, token_param=YAHOO_CRUMB_PARAM),
        ),
    )


def google_trends_session_auth() -> SessionAuth:
    """Google Trends' session, as pytrends establishes it: ``GET
    https://trends.google.com/?geo=US``, which must set the ``NID`` cookie, sent on every
    explore and multiline request. Renewed once on HTTP 401; a 429 (Google's answer to a
    request without ``NID``, but also its throttle) is left to the client's backoff, with
    the cookie kept."""
    return SessionAuth(
        GOOGLE_TRENDS_SOURCE,
        (BootstrapStep(GOOGLE_TRENDS_HOME_URL, cookie=GOOGLE_SESSION_COOKIE),),
    )


__all__ = [
    "GOOGLE_TRENDS_HOME_URL",
    "SESSION_EXPIRED_STATUSES",
    "YAHOO_COOKIE_URL",
    "YAHOO_CRUMB_URL",
    "BootstrapStep",
    "SessionAuth",
    "google_trends_session_auth",
    "yahoo_session_auth",
]
