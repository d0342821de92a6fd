"""A token gate for an ASGI app: every HTTP route and websocket needs ``API_TOKEN``.

Pure ASGI (no ``BaseHTTPMiddleware``, which breaks websockets), no Dagster: wrap any app
with :class:`TokenGate`.

**Credentials**, either of:

- ``Authorization: Bearer <token>`` (API clients, scripts, Prometheus);
- the session cookie :data:`SESSION_COOKIE` set by the login page (people). Its value is
  ``HMAC-SHA256(key=token, msg=b"pas-session")`` in hex, never the token itself, so a leaked
  cookie does not reveal the token; changing the token invalidates every cookie.

Every comparison uses :func:`hmac.compare_digest` (constant time).

**Routes of the gate itself** (always reachable):

- ``GET /login``: a small HTML form (one password field named ``token``);
- ``POST /login`` (form-encoded): the right token sets the cookie (``HttpOnly``,
  ``SameSite=Strict``, ``Path=/``, plus ``Secure`` when the request came over https) and
  answers 303 to ``/``; a wrong or missing token answers 401 with the form and an error.
  Failed logins are limited per client address (``scope["client"]``) by a
  :class:`~pas_pipeline.webserver.login_throttle.LoginThrottle` (default: 5 per 5 minutes):
  a locked-out address gets 429 with ``Retry-After`` (whole seconds) and the form, and its
  token is not checked at all, so even the right one is refused until the lock expires.
  A successful login clears the address's failures; bearer requests are neither counted
  nor limited;
- ``GET``/``POST /logout``: clears the cookie, 303 to ``/login``.

**Without credentials** an HTTP request gets 401 with JSON ``{"error": "unauthorized"}``
and ``WWW-Authenticate: Bearer``, except a browser page load (``GET``/``HEAD`` whose
``Accept`` names ``text/html``), which gets 303 to ``/login``. A websocket handshake is
refused before it is accepted (close code 1008; uvicorn answers the handshake with 403).
``lifespan`` events pass through untouched.

**Cross-site requests.** The cookie is ``SameSite=Strict``; in addition, a request that
authenticates with the cookie alone and could change something (a websocket handshake, or
an HTTP method other than GET/HEAD/OPTIONS) is refused when its ``Origin`` names another
host than its ``Host``: 403 ``{"error": "cross-origin request refused"}``, or a closed
handshake. Bearer requests carry their credential explicitly and are not checked.

The token is never logged, echoed or put in a response.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pas_pipeline.config import Secret
from pas_pipeline.webserver.login_throttle import LoginThrottle

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "pas_session"
SESSION_CONTEXT = b"pas-session"
"""The HMAC message: the cookie value is ``HMAC-SHA256(token, SESSION_CONTEXT)``."""

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
MAX_LOGIN_BODY_BYTES = 4096
"""A login form larger than this is refused with 413 (it only carries one field)."""

WEBSOCKET_POLICY_VIOLATION = 1008

UNKNOWN_CLIENT = "unknown"
"""The throttle's key for a request whose client address the server did not give."""

UNAUTHORIZED_BODY = json.dumps({"error": "unauthorized"}).encode()

_PAGE_HEADERS = [
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - pas pipeline</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}}
input,button{{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0}}
.error{{color:#b00020}}</style></head>
<body><h1>pas pipeline</h1>{error}
<form method="post" action="{action}">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Sign in</button>
</form></body></html>
"""


def session_cookie_value(token: Secret) -> str:
    """The session cookie's value for ``token``: ``HMAC-SHA256(token, b"pas-session")``, hex."""
    return hmac.new(token.value.encode(), SESSION_CONTEXT, hashlib.sha256).hexdigest()


def login_page(error: str | None = None) -> bytes:
    """The login form (UTF-8 HTML); ``error`` is shown above it, escaped."""
    shown = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return _LOGIN_PAGE.format(error=shown, action=LOGIN_PATH).encode()


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if raw is None:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:  # a malformed Cookie header is no credential
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return (client[0] if client else None) or UNKNOWN_CLIENT


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods a cross-origin page may make with the session cookie (they change nothing)."""


def _host_name(value: str) -> str | None:
    """The host name of ``host[:port]`` or of an origin URL, lower case, without the port."""
    return urlsplit(value if "//" in value else f"//{value}").hostname


def _forged(scope: Scope) -> bool:
    """Whether a cookie-authenticated request came from a page of another site: a websocket
    handshake, or an HTTP method outside :data:`SAFE_METHODS`, whose ``Origin`` names a host
    other than the ``Host`` it was sent to (ports are not compared: a proxy may drop them).
    Browsers always send ``Origin`` on those requests; a request without one is not from a
    page of another site."""
    if scope["type"] == "http" and scope.get("method") in SAFE_METHODS:
        return False
    origin = _header(scope, b"origin")
    if origin is None:
        return False
    host = _header(scope, b"host")
    origin_host = _host_name(origin.decode("latin-1"))
    return host is None or origin_host is None or origin_host != _host_name(host.decode())


async def _refuse_cross_origin(scope: Scope, receive: Receive, send: Send) -> None:
    """403 (HTTP) or a closed handshake (websocket) for a forged request."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": WEBSOCKET_POLICY_VIOLATION})
        return
    body = json.dumps({"error": "cross-origin request refused"}).encode()
    await _respond(send, 403, body, [(b"content-type", b"application/json")])


def _wants_html(scope: Scope) -> bool:
    accept = (_header(scope, b"accept") or b"").decode("latin-1").lower()
    return scope.get("method") in {"GET", "HEAD"} and "text/html" in accept


async def _respond(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    all_headers = [(b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or ``None`` when it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


MIN_TOKEN_LENGTH = 16
"""Shortest ``API_TOKEN`` accepted (16 random URL-safe characters are 96 bits)."""


def require_strong_token(token: Secret) -> None:
    """Raise ``ValueError`` (never showing the token) when ``token`` is empty or shorter than
    :data:`MIN_TOKEN_LENGTH` characters: a short token falls to guessing even with the
    login throttle, and bearer requests are not throttled."""
    if not token or len(token.value) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"API_TOKEN must be at least {MIN_TOKEN_LENGTH} characters; make one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


class TokenGate:
    """ASGI middleware: ``app`` behind ``token`` (see the module docstring).

    ``throttle`` limits failed logins per client address (default: a new
    :class:`LoginThrottle`, 5 failures per 300 s).
    """

    def __init__(self, app: ASGIApp, token: Secret, throttle: LoginThrottle | None = None) -> None:
        require_strong_token(token)
        self.app = app
        self.throttle = throttle if throttle is not None else LoginThrottle()
        self._token = token.value.encode()
        self._session = session_cookie_value(token).encode()

    def _token_matches(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self._token)

    def _credential(self, scope: Scope) -> str | None:
        """``"bearer"`` or ``"cookie"``: which valid credential ``scope`` carries, if any."""
        authorization = _header(scope, b"authorization")
        if authorization is not None:
            scheme, _, credentials = authorization.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and self._token_matches(credentials.strip()):
                return "bearer"
        cookie = _cookie(scope, SESSION_COOKIE)
        if cookie is not None and hmac.compare_digest(cookie.encode(), self._session):
            return "cookie"
        return None

    def is_authorized(self, scope: Scope) -> bool:
        """Whether ``scope`` carries the bearer token or the session cookie."""
        return self._credential(scope) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and scope["path"] == LOGIN_PATH:
            await self._login(scope, receive, send)
        elif kind == "http" and scope["path"] == LOGOUT_PATH:
            await self._logout(send)
        elif kind not in {"http", "websocket"}:
            await self.app(scope, receive, send)
        elif (credential := self._credential(scope)) == "cookie" and _forged(scope):
            await _refuse_cross_origin(scope, receive, send)
        elif credential is not None:
            await self.app(scope, receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": WEBSOCKET_POLICY_VIOLATION})
        elif _wants_html(scope):
            await _respond(send, 303, headers=[(b"location", LOGIN_PATH.encode())])
        else:
            await _respond(
                send,
                401,
                UNAUTHORIZED_BODY,
                [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
            )

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        html_headers = [(b"content-type", b"text/html; charset=utf-8"), *_PAGE_HEADERS]
        if scope["method"] in {"GET", "HEAD"}:
            await _respond(send, 200, login_page(), html_headers)
            return
        if scope["method"] != "POST":
            await _respond(send, 405, headers=[(b"allow", b"GET, HEAD, POST")])
            return
        address = _client_address(scope)
        wait = self.throttle.retry_after(address)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            page = login_page(f"Too many failed logins; try again in {seconds} s.")
            retry = [(b"retry-after", str(seconds).encode())]
            await _respond(send, 429, page, [*html_headers, *retry])
            return
        body = await _read_body(receive, MAX_LOGIN_BODY_BYTES)
        if body is None:
            await _respond(send, 413, headers=_PAGE_HEADERS)
            return
        presented = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
        if not self._token_matches(presented):
            self.throttle.record_failure(address)
            await _respond(send, 401, login_page("Wrong token."), html_headers)
            return
        self.throttle.record_success(address)
        cookie = f"{SESSION_COOKIE}={self._session.decode()}; Path=/; HttpOnly; SameSite=Strict" + (
            "; Secure" if scope.get("scheme") == "https" else ""
        )
        await _respond(
            send,
            303,
            headers=[(b"location", b"/"), (b"set-cookie", cookie.encode()), *_PAGE_HEADERS],
        )

    async def _logout(self, send: Send) -> None:
        cleared = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        await _respond(
            send,
            303,
            headers=[
                (b"location", LOGIN_PATH.encode()),
                (b"set-cookie", cleared.encode()),
                *_PAGE_HEADERS,
            ],
        )
