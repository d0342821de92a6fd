"""Reddit r/wallstreetbets through PRAW, read-only (application-only OAuth).

Auth: ``praw.Reddit(client_id=..., client_secret=..., user_agent=...)`` with no username or
password is read-only. prawcore's ``ReadOnlyAuthorizer`` then does ``POST
https://www.reddit.com/api/v1/access_token`` with HTTP Basic ``client_id:client_secret`` and
``grant_type=client_credentials``, and every API call goes to ``https://oauth.reddit.com``
with ``Authorization: bearer <token>`` and ``raw_json=1``. Live mode reads the keys from
``REDDIT_CLIENT_ID`` / ``REDDIT_CLIENT_SECRET`` (wrapped in :class:`Secret`; never printed,
logged or put in an error).

Rate limits: the free tier allows 100 queries per minute per client id, averaged over a
600-second window. Reddit reports the budget on every response (``X-Ratelimit-Used``,
``X-Ratelimit-Remaining``, ``X-Ratelimit-Reset``) and prawcore's ``RateLimiter`` sleeps from
those headers by itself (``window_size=600``), so this module adds no token bucket. prawcore
also retries 5xx/408 and connection errors twice (sleeping 0-2 s, then 2-4 s); a 429 is not
retried. Errors are re-raised as :mod:`pas_pipeline.sources.errors` types naming the request
path only.

Listing cap: a listing (``/r/wallstreetbets/new``, ``/r/wallstreetbets/comments``) returns
at most 100 items per request and roughly **1000 items in total**, newest first. On a busy
week ``new`` reaches back a few days, and the sub-wide comment listing only the last hour or
so. So live counts are a *sample* of the activity, most complete for the most recent day:
run the asset daily (a backfill of older days finds little or nothing and logs a warning).
The sample server does not enforce the cap, so sample backfills are complete.

Sample mode: the real PRAW client on a ``requests.Session`` whose mounted
:class:`InProcessAdapter` answers in-process from
:mod:`pas_pipeline.sources.sample.reddit` (hosts ``www.reddit.com`` and
``oauth.reddit.com``), passed through ``requestor_kwargs={"session": session}``.

The documents frame (:data:`DOCUMENT_COLUMNS`, one row per post or comment):

=========== ================ ========================================================
column      dtype            meaning
=========== ================ ========================================================
id          object (str)     the base-36 id (without the ``t3_``/``t1_`` prefix)
kind        object (str)     ``"t3"`` (post) or ``"t1"`` (comment)
created_utc float64          creation time, epoch seconds (UTC)
event_date  datetime64[ns]   the UTC day of ``created_utc`` (midnight, tz-naive)
author      object (str)     the author's name; None for ``[deleted]``
score       int64            upvotes minus downvotes when read
text        object (str)     post ``title + "\\n" + selftext``, or comment ``body``
=========== ================ ========================================================
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import praw
import prawcore
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from pas_pipeline import __version__
from pas_pipeline.config import DataMode, Secret
from pas_pipeline.sources.errors import (
    PayloadError,
    SourceAuthError,
    SourceError,
    SourceRateLimitedError,
    SourceUnavailableError,
)

log = logging.getLogger(__name__)

SOURCE = "reddit"
SUBREDDIT = "wallstreetbets"
CLIENT_ID_ENV = "REDDIT_CLIENT_ID"
CLIENT_SECRET_ENV = "REDDIT_CLIENT_SECRET"
USER_AGENT = f"python:pas-pipeline:v{__version__} (by u/pas_quant)"
"""Reddit's required form ``<platform>:<app ID>:<version> (by u/<username>)``; PRAW appends
``PRAW/<version>`` and prawcore ``prawcore/<version>``."""
SAMPLE_CLIENT_ID = Secret("sample-client-id")
SAMPLE_CLIENT_SECRET = Secret("sample-client-secret")
DOCUMENT_COLUMNS = ("id", "kind", "created_utc", "event_date", "author", "score", "text")
POST, COMMENT = "t3", "t1"


# --- an in-process requests transport (sample mode and tests) ----------------------------


@dataclass(frozen=True)
class Reply:
    """An in-process HTTP answer: status, body bytes and headers."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON :class:`Reply` (``content-type: application/json; charset=UTF-8``)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(
        status, body, {"content-type": "application/json; charset=UTF-8", **(headers or {})}
    )


RequestHandler = Callable[[requests.PreparedRequest], Reply]


class InProcessAdapter(BaseAdapter):
    """A ``requests`` adapter answering each request from the handler of its host.

    Unknown hosts get HTTP 502 with a JSON error body; nothing touches the network.
    """

    def __init__(self, handlers: Mapping[str, RequestHandler]) -> None:
        super().__init__()
        self.handlers = {host.lower(): handler for host, handler in handlers.items()}

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        host = (urlsplit(request.url or "").hostname or "").lower()
        handler = self.handlers.get(host)
        if handler is None:
            reply = json_reply(502, {"message": f"no in-process handler for host {host}"})
        else:
            reply = handler(request)
        response = requests.Response()
        response.status_code = reply.status
        response._content = reply.body
        response.headers = CaseInsensitiveDict(
            {"content-length": str(len(reply.body)), **reply.headers}
        )
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        response.reason = "OK" if reply.status < 400 else "Error"
        return response

    def close(self) -> None:
        """Nothing to release."""


def in_process_session(handlers: Mapping[str, RequestHandler]) -> requests.Session:
    """A ``requests.Session`` whose every http(s) request goes to :class:`InProcessAdapter`."""
    session = requests.Session()
    adapter = InProcessAdapter(handlers)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


# --- the client ---------------------------------------------------------------------------


def make_reddit(
    mode: DataMode,
    client_id: Secret | None = None,
    client_secret: Secret | None = None,
    user_agent: str = USER_AGENT,
    *,
    session: requests.Session | None = None,
    universe_size: int | None = None,
) -> praw.Reddit:
    """A read-only ``praw.Reddit`` for ``mode`` (no username/password: app-only OAuth).

    ``DataMode.SAMPLE``: requests go to ``session`` (default: an :func:`in_process_session`
    answered by :mod:`pas_pipeline.sources.sample.reddit`, whose universe ``universe_size``
    selects when given); missing keys default to harmless sample ones. ``DataMode.LIVE``:
    the real network (or ``session`` when given); missing keys raise
    :class:`SourceAuthError` naming ``REDDIT_CLIENT_ID`` / ``REDDIT_CLIENT_SECRET``.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import reddit as sample_reddit

        if universe_size is not None:
            sample_reddit.reconfigure(size=int(universe_size))
        if session is None:
            session = in_process_session(sample_reddit.HANDLERS)
        client_id = client_id or SAMPLE_CLIENT_ID
        client_secret = client_secret or SAMPLE_CLIENT_SECRET
    missing = [
        name
        for name, secret in ((CLIENT_ID_ENV, client_id), (CLIENT_SECRET_ENV, client_secret))
        if not secret or not secret.value.strip()
    ]
    if missing or client_id is None or client_secret is None:
        raise SourceAuthError(
            SOURCE, f"live mode needs Reddit app keys: set {' and '.join(missing)}"
        )
    reddit = praw.Reddit(
        client_id=client_id.value.strip(),
        client_secret=client_secret.value.strip(),
        user_agent=user_agent,
        check_for_updates=False,
        check_for_async=False,
        requestor_kwargs={"session": session} if session is not None else None,
    )
    assert reddit.read_only  # no username/password: the ReadOnlyAuthorizer
    return reddit


def _status_error(exc: prawcore.ResponseException, what: str) -> SourceError:
    status = exc.response.status_code
    if status in (401, 403):
        return SourceAuthError(
            SOURCE,
            f"{what}: HTTP {status}, app keys rejected or access denied "
            f"(check {CLIENT_ID_ENV} / {CLIENT_SECRET_ENV})",
        )
    if status == 429:
        return SourceRateLimitedError(SOURCE, f"{what}: HTTP 429, rate limit exceeded")
    if status >= 500:
        return SourceUnavailableError(SOURCE, f"{what}: HTTP {status} after prawcore's retries")
    return SourceError(SOURCE, f"{what}: HTTP {status}")


@contextlib.contextmanager
def reddit_errors(what: str) -> Iterator[None]:
    """Re-raise prawcore/PRAW failures inside the block as source errors about ``what``.

    401/403 and OAuth errors -> :class:`SourceAuthError`; 429 -> :class:`SourceRateLimitedError`;
    5xx and connection failures -> :class:`SourceUnavailableError`; a body that is not JSON,
    or a listing PRAW cannot read -> :class:`PayloadError`. Messages carry ``what`` and the
    status only (prawcore's own messages and request data are dropped: they may hold keys).
    """
    try:
        yield
    except prawcore.BadJSON as exc:
        status = exc.response.status_code
        raise PayloadError(SOURCE, f"{what}: body is not JSON (HTTP {status})") from None
    except prawcore.ResponseException as exc:
        raise _status_error(exc, what) from None
    except prawcore.OAuthException as exc:
        raise SourceAuthError(SOURCE, f"{what}: OAuth error {exc.error!r}") from None
    except prawcore.RequestException as exc:
        failure = type(exc.original_exception).__name__
        raise SourceUnavailableError(SOURCE, f"{what}: request failed ({failure})") from None
    except prawcore.PrawcoreException as exc:
        raise SourceError(SOURCE, f"{what}: {type(exc).__name__}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PayloadError(SOURCE, f"{what}: unreadable listing ({type(exc).__name__})") from None


# --- documents ----------------------------------------------------------------------------


def _bad(listing: str, message: str, field_name: str, row: int) -> PayloadError:
    return PayloadError(SOURCE, f"{listing}: {message}", field=field_name, row=row)


def _text(data: Mapping[str, Any], name: str, listing: str, row: int, required: bool) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise _bad(listing, f"expected text, got {value!r:.40}", name, row)
    return value


def _number(data: Mapping[str, Any], name: str, listing: str, row: int) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _bad(listing, f"expected a number, got {value!r:.40}", name, row)
    return float(value)


def _author(data: Mapping[str, Any]) -> str | None:
    author = data.get("author")  # PRAW turns the name into a Redditor, "[deleted]" into None
    if author is None:
        return None
    name = vars(author).get("name") if hasattr(author, "__dict__") else author
    return str(name) if name not in (None, "", "[deleted]") else None


def document_row(item: Any, kind: str, listing: str, row: int) -> dict[str, Any]:
    """One documents-frame row from a PRAW ``Submission`` (``kind="t3"``) or ``Comment``
    (``"t1"``), read from the listing's own fields (never a lazy fetch).

    Raises :class:`PayloadError` naming the field and ``row`` (the item's 0-based position
    in ``listing``) for the wrong kind of thing, or a missing/mistyped ``id``,
    ``created_utc``, ``score``, ``title`` (posts) or ``body`` (comments).
    """
    expected = praw.models.Submission if kind == POST else praw.models.Comment
    if not isinstance(item, expected):
        raise _bad(listing, f"expected a {kind} item, got {type(item).__name__}", "kind", row)
    data = vars(item)
    created = _number(data, "created_utc", listing, row)
    score = _number(data, "score", listing, row)
    if not score.is_integer():
        raise _bad(listing, f"expected an integer, got {score!r}", "score", row)
    if kind == POST:
        title = _text(data, "title", listing, row, required=True)
        selftext = _text(data, "selftext", listing, row, required=False)
        text = f"{title}\n{selftext}" if selftext else title
    else:
        text = _text(data, "body", listing, row, required=True)
    return {
        "id": _text(data, "id", listing, row, required=True),
        "kind": kind,
        "created_utc": created,
        "author": _author(data),
        "score": int(score),
        "text": text,
    }


def _utc_day(created_utc: float) -> dt.date:
    return dt.datetime.fromtimestamp(created_utc, tz=dt.UTC).date()


def read_window(
    items: Iterable[Any], kind: str, listing: str, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """Rows of the items of a newest-first listing created on UTC days ``start..end``.

    Items newer than ``end`` are skipped; reading stops at the first item older than
    ``start`` (so no further pages are requested). When the listing runs out before that
    (the ~1000-item cap), the window's oldest days are incomplete: a warning says so.
    """
    rows: list[dict[str, Any]] = []
    reached_start = False
    with reddit_errors(f"GET /r/{SUBREDDIT}/{listing}"):
        for row, item in enumerate(items):
            document = document_row(item, kind, listing, row)
            day = _utc_day(document["created_utc"])
            if day > end:
                continue
            if day < start:
                reached_start = True
                break
            rows.append(document)
    if not reached_start:
        oldest = _utc_day(rows[-1]["created_utc"]) if rows else None
        log.warning(
            "%s /r/%s/%s ended at %s before reaching %s (listing cap ~1000 items): "
            "the earliest days of %s..%s are incomplete",
            SOURCE,
            SUBREDDIT,
            listing,
            oldest,
            start,
            start,
            end,
        )
    return rows


def _documents_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[c for c in DOCUMENT_COLUMNS if c != "event_date"])
    frame = frame.astype(
        {"id": object, "kind": object, "created_utc": "float64", "score": "int64", "text": object}
    )
    stamps = pd.to_datetime(frame["created_utc"], unit="s", utc=True)
    frame["event_date"] = stamps.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
    frame["author"] = frame["author"].astype(object)
    return frame[list(DOCUMENT_COLUMNS)]


def fetch_wsb_documents(
    reddit: praw.Reddit,
    start: dt.date,
    end: dt.date,
    *,
    post_limit: int | None = None,
    comment_limit: int | None = None,
) -> pd.DataFrame:
    """Posts and comments of r/wallstreetbets created on UTC days ``start..end`` (inclusive).

    Posts: ``subreddit("wallstreetbets").new(limit=post_limit)`` (``GET
    /r/wallstreetbets/new?limit=100&after=t3_...``); comments: ``subreddit.comments(limit=
    comment_limit)`` (``GET /r/wallstreetbets/comments``). Both are read newest first until
    ``created_utc`` falls before ``start``. ``None`` limits read as far as Reddit allows: about
    1000 items per listing (see the module docstring), so a busy window is truncated at its
    old end and counts of its earliest days are partial (a warning is logged).

    Returns the documents frame (:data:`DOCUMENT_COLUMNS`), posts first, each kind newest
    first. Raises the :mod:`pas_pipeline.sources.errors` types (see :func:`reddit_errors`)
    and :class:`PayloadError` naming the field and row of a malformed item.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    with reddit_errors(f"GET /r/{SUBREDDIT}"):
        subreddit = reddit.subreddit(SUBREDDIT)
    posts = read_window(subreddit.new(limit=post_limit), POST, "new", start, end)
    comments = read_window(subreddit.comments(limit=comment_limit), COMMENT, "comments", start, end)
    frame = _documents_frame(posts + comments)
    log.info(
        "%s r/%s %s..%s: %d posts, %d comments",
        SOURCE,
        SUBREDDIT,
        start,
        end,
        len(posts),
        len(comments),
    )
    return frame


__all__ = [
    "CLIENT_ID_ENV",
    "CLIENT_SECRET_ENV",
    "DOCUMENT_COLUMNS",
    "SOURCE",
    "SUBREDDIT",
    "USER_AGENT",
    "InProcessAdapter",
    "Reply",
    "document_row",
    "fetch_wsb_documents",
    "in_process_session",
    "json_reply",
    "make_reddit",
    "read_window",
    "reddit_errors",
]
