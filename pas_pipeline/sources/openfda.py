"""openFDA Drugs@FDA: drug-application approvals of each biotech sponsor (after the fact).

``GET https://api.fda.gov/drug/drugsfda.json?search=...&limit=...&skip=...`` with
``search=sponsor_name:"PFIZER" AND submissions.submission_status_date:[20240701 TO 20240731]``
(httpx encodes the spaces as ``+``, giving the documented ``+AND+`` form), ``limit`` at most
1000 and ``skip`` at most 25,000 (:data:`MAX_SKIP`). ``sponsor_name`` is a tokenised field,
so the phrase matches longer applicant names ("PFIZER INC"). No match is **HTTP 404**
``{"error": {"code": "NOT_FOUND", ...}}``, read as no rows.

Key: optional (``OPENFDA_API_KEY``), sent as the ``api_key`` query parameter. Errors carry
the request path only and any text that could echo the key is redacted, so the key never
appears in an error or a log line. Limits: 240 requests a minute; 1,000 a day per IP
without a key (120,000 with one). :data:`OPENFDA_POLICY` enforces the per-minute rate; the
daily budget is the caller's: one fetch costs one request per sponsor (and page).

Point in time: the search matches applications with *any* submission dated in the window,
and returns all their submissions; the parser keeps the approval submissions
(``submission_status`` ``AP`` approved, ``TA`` tentatively approved) dated in the window.
``known_date = submission_status_date + 1 day`` (FDA action letters and the Drugs@FDA
update come out on or after the action day).

The tidy frame ``fda_approvals`` (:data:`FDA_APPROVAL_COLUMNS`, one row per submission):

================== ================ =========================================================
column             dtype            meaning
================== ================ =========================================================
application_number object (str)     ``NDA…`` / ``ANDA…`` / ``BLA…``
ticker             object (str)     the ticker whose sponsor phrase was searched
sponsor            object (str)     the record's ``sponsor_name``
brand_name         object (str)     the products' brand names joined with ``"; "`` (else
                                    ``openfda.brand_name``); None when neither is given
submission_type    object (str)     ``ORIG`` (original) or ``SUPPL`` (supplement)
submission_number  object (str)     the submission's number within the application
submission_status  object (str)     ``AP`` or ``TA``
event_date         datetime64[ns]   ``submission_status_date`` (the action day)
known_date         datetime64[ns]   ``event_date + 1 day``
review_priority    object (str)     ``PRIORITY`` / ``STANDARD`` / ...; None when absent
================== ================ =========================================================
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pandera.pandas as pa

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.schemas import DAY_COLUMN, TEXT_COLUMN
from pas_pipeline.sources.errors import PayloadError, SourceError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited

log = logging.getLogger(__name__)

SOURCE = "openfda"
API_KEY_ENV = "OPENFDA_API_KEY"
MAX_LIMIT = 1000
MAX_SKIP = 25_000
PUBLICATION_LAG = pd.Timedelta(days=1)
APPROVAL_STATUSES = ("AP", "TA")
FDA_APPROVAL_COLUMNS = (
    "application_number",
    "ticker",
    "sponsor",
    "brand_name",
    "submission_type",
    "submission_number",
    "submission_status",
    "event_date",
    "known_date",
    "review_priority",
)

OPENFDA_POLICY = ApiPolicy(
    name=SOURCE,
    base_url="https://api.fda.gov",
    requests_per_second=240 / 60,
    burst=1,
    max_retries=5,
    backoff_base_seconds=1.0,
    backoff_cap_seconds=60.0,
    timeout_seconds=30.0,
    not_found_is_empty=True,  # "No matches found!" -> no rows
)
"""240 requests a minute (4 a second, no burst); 429/5xx retried with backoff; 404 = no
match. The 1,000-a-day keyless budget is not enforced here."""

_APPLICATION = re.compile(r"^(?:NDA|ANDA|BLA)\d+$")
_YYYYMMDD = re.compile(r"^\d{8}$")

FDA_APPROVALS_SCHEMA = pa.DataFrameSchema(
    {
        "application_number": pa.Column(str, pa.Check.str_matches(_APPLICATION.pattern)),
        "ticker": pa.Column(str, pa.Check.str_matches(r"^[A-Z][A-Z0-9.\-]{0,7}$")),
        "sponsor": TEXT_COLUMN,
        "brand_name": pa.Column(str, nullable=True),
        "submission_type": TEXT_COLUMN,
        "submission_number": pa.Column(str, nullable=True),
        "submission_status": pa.Column(str, pa.Check.isin(list(APPROVAL_STATUSES))),
        "event_date": DAY_COLUMN,
        "known_date": DAY_COLUMN,
        "review_priority": pa.Column(str, nullable=True),
    },
    checks=[
        pa.Check(lambda frame: frame["known_date"] > frame["event_date"], name="known_after_event")
    ],
    unique=["ticker", "application_number", "submission_type", "submission_number", "event_date"],
    strict=True,
    name="fda_approvals",
)
"""Approval submissions: a valid application number, status AP/TA, midnight dates known
after the action day, one row per (ticker, application, submission, day). Validate with
:func:`pas_pipeline.schemas.validate_frame`."""


# --- request -----------------------------------------------------------------------------


def approval_search(fda_sponsor: str, first: dt.date, last: dt.date) -> str:
    """The ``search`` value: applications of ``fda_sponsor`` with a submission dated on
    ``first..last`` (inclusive), e.g.
    ``sponsor_name:"PFIZER" AND submissions.submission_status_date:[20240701 TO 20240731]``."""
    if last < first:
        raise ValueError(f"last {last} is before first {first}")
    phrase = fda_sponsor.replace('"', " ").strip()
    return (
        f'sponsor_name:"{phrase}" AND '
        f"submissions.submission_status_date:[{first:%Y%m%d} TO {last:%Y%m%d}]"
    )


class _RedactKey(logging.Filter):
    """Replaces an API key in log records (httpx logs every request URL at INFO)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.key in message:
            record.msg, record.args = message.replace(self.key, "***"), None
        return True


def _install_log_redaction(key: str) -> None:
    """Keep ``key`` out of the ``httpx``/``httpcore`` request logs (once per key)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactKey) and f.key == key for f in logger.filters):
            logger.addFilter(_RedactKey(key))


def _redacted(exc: SourceError, key: str) -> SourceError:
    """``exc`` rebuilt with ``key`` replaced by ``***`` (same class, field and row)."""
    message = exc.message.replace(key, "***")
    if isinstance(exc, PayloadError):
        return PayloadError(SOURCE, message, exc.field, exc.row)
    return type(exc)(SOURCE, message)


class OpenFdaClient:
    """Raw Drugs@FDA application records through a shared :class:`ApiClient`, paging with
    ``skip``. ``api_key`` (optional) is sent as the ``api_key`` query parameter and redacted
    from every error raised here."""

    def __init__(self, api: ApiClient, api_key: Secret | None = None) -> None:
        self.api = api
        self._key = api_key.value if api_key else ""
        if self._key:
            _install_log_redaction(self._key)

    def __enter__(self) -> OpenFdaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def _get(self, params: dict[str, Any]) -> Any | None:
        if self._key:
            params = {**params, "api_key": self._key}
        try:
            return self.api.get_json("/drug/drugsfda.json", params)
        except SourceError as exc:
            if self._key and self._key in str(exc):
                raise _redacted(exc, self._key) from None
            raise

    def applications(self, search: str, limit: int = MAX_LIMIT) -> list[dict[str, Any]]:
        """Every application record matching ``search`` (all pages); ``[]`` on HTTP 404.

        Pages with ``skip`` until ``meta.results.total`` records are read (or a short page);
        stops with a warning at ``skip`` 25,000. Raises :class:`PayloadError` (field
        ``results``) when a page is not ``{"results": [...]}``.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be in 1..{MAX_LIMIT}, got {limit}")
        records: list[dict[str, Any]] = []
        skip = 0
        while True:
            page = self._get({"search": search, "limit": limit, "skip": skip})
            if page is None:
                return records
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                got = type(page).__name__ if not isinstance(page, dict) else "no results list"
                raise PayloadError(SOURCE, f'expected {{"results": [...]}}, got {got}', "results")
            results = page["results"]
            records.extend(results)
            total = _total(page)
            skip += len(results)
            if len(results) < limit or (total is not None and skip >= total):
                return records
            if skip > MAX_SKIP:
                log.warning("%s: more than %d matches; the rest is not read", SOURCE, MAX_SKIP)
                return records


def _total(page: dict[str, Any]) -> int | None:
    meta = page.get("meta")
    total = meta.get("results", {}).get("total") if isinstance(meta, dict) else None
    if total is None:
        return None
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise PayloadError(SOURCE, f"expected a count, got {total!r:.40}", "meta.results.total")
    return total


# --- parser ------------------------------------------------------------------------------


def _bad(message: str, field: str, row: int) -> PayloadError:
    return PayloadError(SOURCE, message, field=field, row=row)


def _required_text(record: dict[str, Any], key: str, field: str, row: int) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"expected text, got {value!r:.40}", field, row)
    return value.strip()


def _optional_text(record: dict[str, Any], key: str, field: str, row: int) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"expected text, got {value!r:.40}", field, row)
    return value.strip() or None


def _brand_name(record: dict[str, Any], row: int) -> str | None:
    products = record.get("products") or []
    if not isinstance(products, list):
        raise _bad("expected a list", "products", row)
    names: list[str] = []
    for product in products:
        name = product.get("brand_name") if isinstance(product, dict) else None
        if isinstance(name, str) and name.strip() and name.strip() not in names:
            names.append(name.strip())
    if not names:
        openfda = record.get("openfda")
        listed = openfda.get("brand_name") if isinstance(openfda, dict) else None
        if isinstance(listed, list):
            names = [n.strip() for n in listed if isinstance(n, str) and n.strip()]
    return "; ".join(names) or None


def _status_day(value: Any, field: str, row: int) -> pd.Timestamp:
    if not isinstance(value, str) or not _YYYYMMDD.match(value):
        raise _bad(f"expected 'YYYYMMDD', got {value!r:.40}", field, row)
    try:
        return pd.Timestamp(dt.datetime.strptime(value, "%Y%m%d"))
    except ValueError:
        raise _bad(f"not a calendar day: {value!r}", field, row) from None


def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in FDA_APPROVAL_COLUMNS})
    for column in ("event_date", "known_date"):
        frame[column] = pd.Series(dtype="datetime64[ns]")
    return frame


def parse_applications(
    records: Any, ticker: str, first: dt.date | None = None, last: dt.date | None = None
) -> pd.DataFrame:
    """The tidy frame (:data:`FDA_APPROVAL_COLUMNS`) of ``records`` for ``ticker``.

    One row per submission with status ``AP``/``TA`` whose ``submission_status_date`` lies
    in ``first..last`` (each bound optional, inclusive). Raises :class:`PayloadError`
    naming the field and the 0-based *record* index for a record that is not an object, a
    bad ``application_number`` or ``sponsor_name``, a ``submissions`` value that is not a
    list of objects, or a submission with a malformed ``submission_status_date``, a missing
    ``submission_type`` or non-text optional fields (field ``submissions[i].<name>``).
    """
    if not isinstance(records, list):
        raise PayloadError(SOURCE, f"expected a list, got {type(records).__name__}", "results")
    low = pd.Timestamp(first) if first is not None else None
    high = pd.Timestamp(last) if last is not None else None
    rows = []
    for row, record in enumerate(records):
        if not isinstance(record, dict):
            raise _bad(f"expected an object, got {type(record).__name__}", "results", row)
        number = _required_text(record, "application_number", "application_number", row)
        if not _APPLICATION.match(number):
            raise _bad(
                f"expected NDA/ANDA/BLA + digits, got {number!r:.40}", "application_number", row
            )
        sponsor = _required_text(record, "sponsor_name", "sponsor_name", row)
        brand = _brand_name(record, row)
        submissions = record.get("submissions")
        if not isinstance(submissions, list):
            raise _bad(f"expected a list, got {submissions!r:.40}", "submissions", row)
        for index, submission in enumerate(submissions):
            where = f"submissions[{index}]"
            if not isinstance(submission, dict):
                raise _bad("expected an object", where, row)
            status = _optional_text(
                submission, "submission_status", f"{where}.submission_status", row
            )
            day = _status_day(
                submission.get("submission_status_date"), f"{where}.submission_status_date", row
            )
            kind = _required_text(submission, "submission_type", f"{where}.submission_type", row)
            sub_number = _optional_text(
                submission, "submission_number", f"{where}.submission_number", row
            )
            priority = _optional_text(
                submission, "review_priority", f"{where}.review_priority", row
            )
            if status not in APPROVAL_STATUSES:
                continue
            if (low is not None and day < low) or (high is not None and day > high):
                continue
            rows.append(
                {
                    "application_number": number,
                    "ticker": ticker,
                    "sponsor": sponsor,
                    "brand_name": brand,
                    "submission_type": kind,
                    "submission_number": sub_number,
                    "submission_status": status,
                    "event_date": day,
                    "known_date": day + PUBLICATION_LAG,
                    "review_priority": priority,
                }
            )
    if not rows:
        return _empty_frame()
    frame = pd.DataFrame(rows, columns=list(FDA_APPROVAL_COLUMNS))
    for column in ("event_date", "known_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


def fetch_fda_approvals(
    client: OpenFdaClient, sponsors: Mapping[str, str], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Approvals of every ``ticker -> openFDA sponsor phrase`` known on ``start..end``.

    One search per sponsor for submissions dated ``start - 1 .. end - 1`` (so ``known_date``
    falls in ``start..end``). Sorted by (ticker, event_date, application_number); exact
    duplicates removed.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    first, last = start - dt.timedelta(days=1), end - dt.timedelta(days=1)
    frames = []
    for ticker, sponsor in sponsors.items():
        records = client.applications(approval_search(sponsor, first, last))
        frame = parse_applications(records, ticker, first, last)
        if not frame.empty:
            frames.append(frame)
    if not frames:
        log.info("%s %s..%s: no approvals for %d sponsors", SOURCE, start, end, len(sponsors))
        return _empty_frame()
    frame = pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)
    order = ["ticker", "event_date", "application_number", "submission_type", "submission_number"]
    frame = frame.sort_values(order, kind="mergesort", ignore_index=True)
    log.info("%s %s..%s: %d approvals, %d tickers", SOURCE, start, end, len(frame), len(frames))
    return frame


def make_openfda_client(
    mode: DataMode, api_key: Secret | None = None, universe_size: int | None = None
) -> OpenFdaClient:
    """An openFDA client for ``mode``.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit,
    answered by :mod:`pas_pipeline.sources.sample.openfda` (``universe_size``, when given,
    selects the sample universe). ``DataMode.LIVE``: the real network with
    :data:`OPENFDA_POLICY`; ``api_key`` (from ``OPENFDA_API_KEY``) is optional.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import openfda as sample_openfda  # registers the host

        if universe_size is not None:
            sample_openfda.reconfigure(size=int(universe_size))
        policy = unlimited(OPENFDA_POLICY)
        return OpenFdaClient(ApiClient(policy, transport=sample_transport()), api_key)
    return OpenFdaClient(ApiClient(OPENFDA_POLICY), api_key)


__all__ = [
    "API_KEY_ENV",
    "APPROVAL_STATUSES",
    "FDA_APPROVALS_SCHEMA",
    "FDA_APPROVAL_COLUMNS",
    "OPENFDA_POLICY",
    "OpenFdaClient",
    "approval_search",
    "fetch_fda_approvals",
    "make_openfda_client",
    "parse_applications",
]
