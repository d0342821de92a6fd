"""Quiver Quantitative API: one table-driven client for five alternative datasets.

=============== ========================================= ====== ======= =====================
dataset         path                                      dates  paged   parser
=============== ========================================= ====== ======= =====================
congress_trades ``/beta/bulk/congresstrading?version=V2`` a day  yes     parse_congress_trades
gov_contracts   ``/beta/live/govcontractsall``            a day  yes     parse_gov_contracts
insider_trades  ``/beta/live/insiders``                   a day  yes     parse_insider_trades
lobbying        ``/beta/live/lobbying``                   range  yes     parse_lobbying
app_ratings     ``/beta/live/appratings``                 none   no      parse_app_ratings
=============== ========================================= ====== ======= =====================

"a day": one ``date=YYYYMMDD`` request (and its pages) per calendar day of ``start..end``;
"range": ``date_from``/``date_to``; "none": the endpoint serves its latest window (app ratings:
the last week) whatever the dates, so cut the parsed frame on ``known_date`` yourself. A
``bioguide_id`` (or ``representative``) filter on congress_trades asks for that politician's full
history in one paged request instead of a day loop (:meth:`QuiverClient.politician_trades`).

Pagination: ``page`` (1-based) and ``page_size``, until a page is shorter than ``page_size``.
Answers are bare JSON arrays; ``{"data": [...]}`` is unwrapped. The old 403 body, the bare
string ``"Upgrade your subscription plan..."``, is a plan error whatever its status. The
bulk endpoint's 5-requests-per-hour group gets its own token bucket on top of the policy's
1 request/s; every 429 is retried after its ``Retry-After``.

The token travels only in the ``Authorization: Bearer`` header of the :class:`ApiClient`;
errors name the variable ``QUIVER_API_TOKEN``, never its value. The tidy frames, their columns
and the ``known_date`` rules are documented in :mod:`pas_pipeline.sources.quiver_parsers`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.sources import quiver_parsers as parsers
from pas_pipeline.sources.errors import PayloadError, SourceAuthError, SourceError
from pas_pipeline.sources.http import ApiClient, ApiPolicy, sample_transport, unlimited
from pas_pipeline.sources.rate_limit import TokenBucket

log = logging.getLogger(__name__)

SOURCE = parsers.SOURCE
TOKEN_ENV = "QUIVER_API_TOKEN"
PLAN_ERROR_TEXT = "Upgrade your subscription plan to access this dataset."
MAX_PAGES = 1000
"""A paged request stops with an error after this many full pages (a server ignoring
``page`` would otherwise loop forever)."""

QUIVER_POLICY = ApiPolicy(
    name=SOURCE,
    base_url="https://api.quiverquant.com",
    requests_per_second=1.0,
    burst=1,
    max_retries=5,
    backoff_base_seconds=2.0,
    backoff_cap_seconds=120.0,
    timeout_seconds=60.0,
    not_found_is_empty=False,  # 404 = wrong path (an HTML page), not "no data"
)
"""At most 1 request/s, no bursts (the safe throttle of the docs); 429s wait ``Retry-After``."""

RATE_GROUPS: dict[str, tuple[float, float]] = {"bulk": (5 / 3600, 5)}
"""Extra per-account allowances (requests per second, burst) by rate-limit group. Only the
bulk group (5 requests/hour) is documented; the other endpoints' groups are unconfirmed, so
they rely on the policy's 1 request/s and on ``Retry-After``."""

ParamsBuilder = Callable[[dt.date, dt.date, Mapping[str, str]], list[dict[str, str]]]


def _yyyymmdd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def per_day(**fixed: str) -> ParamsBuilder:
    """One request per calendar day: ``date=YYYYMMDD`` plus ``fixed`` and the filters."""

    def build(start: dt.date, end: dt.date, filters: Mapping[str, str]) -> list[dict[str, str]]:
        return [{**fixed, **filters, "date": _yyyymmdd(day)} for day in _days(start, end)]

    return build


def congress_params(start: dt.date, end: dt.date, filters: Mapping[str, str]) -> list[dict]:
    """V2 bulk rows: a day loop, or one history request for a politician filter."""
    if "bioguide_id" in filters or "representative" in filters:
        return [{"version": "V2", **filters}]
    return per_day(version="V2")(start, end, filters)


def date_range(start: dt.date, end: dt.date, filters: Mapping[str, str]) -> list[dict]:
    """One request for the whole range: ``date_from``/``date_to`` (YYYYMMDD, inclusive)."""
    return [{**filters, "date_from": _yyyymmdd(start), "date_to": _yyyymmdd(end)}]


def latest(start: dt.date, end: dt.date, filters: Mapping[str, str]) -> list[dict]:
    """One request without dates: the endpoint serves its latest window."""
    return [dict(filters)]


@dataclass(frozen=True)
class QuiverDataset:
    """One row of the dataset table: where it lives and how to ask for and parse it.

    ``params(start, end, filters)`` lists the query of every request that covers the range
    (before pagination); ``page_size`` applies when ``paginated``; ``rate_group`` names an
    entry of :data:`RATE_GROUPS` (or None); ``parser`` turns the concatenated rows into the
    tidy frame.
    """

    name: str
    path: str
    params: ParamsBuilder
    paginated: bool
    parser: Callable[[Any], pd.DataFrame]
    page_size: int = 1000
    rate_group: str | None = None


QUIVER_DATASETS: dict[str, QuiverDataset] = {
    dataset.name: dataset
    for dataset in (
        QuiverDataset(
            "congress_trades",
            "/beta/bulk/congresstrading",
            congress_params,
            paginated=True,
            parser=parsers.parse_congress_trades,
            rate_group="bulk",
        ),
        QuiverDataset(
            "gov_contracts",
            "/beta/live/govcontractsall",
            per_day(),
            paginated=True,
            parser=parsers.parse_gov_contracts,
        ),
        QuiverDataset(
            "insider_trades",
            "/beta/live/insiders",
            per_day(),
            paginated=True,
            parser=parsers.parse_insider_trades,
            page_size=500,
        ),
        QuiverDataset(
            "lobbying",
            "/beta/live/lobbying",
            date_range,
            paginated=True,
            parser=parsers.parse_lobbying,
        ),
        QuiverDataset(
            "app_ratings",
            "/beta/live/appratings",
            latest,
            paginated=False,
            parser=parsers.parse_app_ratings,
        ),
    )
}
"""The five datasets by name (see the module docstring)."""


def _bearer(token: Secret | str | None) -> dict[str, str]:
    value = token.value if isinstance(token, Secret) else token
    if not value or not value.strip():
        raise SourceAuthError(SOURCE, f"no API token: set {TOKEN_ENV}")
    return {"Authorization": f"Bearer {value.strip()}"}


def quiver_api(token: Secret | None, **client_options: Any) -> ApiClient:
    """A live :class:`ApiClient` with :data:`QUIVER_POLICY` and the Bearer header.

    ``client_options`` go to :class:`ApiClient` (``transport``, ``sleep``, ``clock``, ...).
    Raises :class:`SourceAuthError` naming ``QUIVER_API_TOKEN`` when the token is missing.
    """
    return ApiClient(QUIVER_POLICY, headers=_bearer(token), **client_options)


class QuiverClient:
    """Raw rows of the :data:`QUIVER_DATASETS` through a shared :class:`ApiClient`.

    The group buckets of :data:`RATE_GROUPS` use ``sleep``/``clock`` (injectable for tests)
    and are skipped when the ``api`` policy is unlimited (sample mode).
    """

    def __init__(
        self,
        api: ApiClient,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self._groups: dict[str, TokenBucket] = {}
        if not math.isinf(api.policy.requests_per_second):
            self._groups = {
                name: TokenBucket(rate, burst, clock, sleep)
                for name, (rate, burst) in RATE_GROUPS.items()
            }

    def __enter__(self) -> QuiverClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    def _get(self, dataset: QuiverDataset, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One GET; its rows (envelope unwrapped) or a typed error."""
        if dataset.rate_group in self._groups:
            self._groups[dataset.rate_group].acquire()
        try:
            payload = self.api.get_json(dataset.path, params)
        except SourceAuthError as exc:
            raise SourceAuthError(SOURCE, f"{exc.message} (check {TOKEN_ENV})") from exc
        if payload is None:
            return []
        if isinstance(payload, str):
            if "upgrade your subscription" in payload.lower():
                message = f"GET {dataset.path}: {PLAN_ERROR_TEXT} (check {TOKEN_ENV}'s plan)"
                raise SourceAuthError(SOURCE, message)
            raise PayloadError(SOURCE, f"expected a JSON array, got text {payload!r:.80}", "$")
        if isinstance(payload, dict) and "data" not in payload and "detail" in payload:
            detail = str(payload["detail"])
            if "upgrade" in detail.lower() or "credentials" in detail.lower():
                raise SourceAuthError(SOURCE, f"GET {dataset.path}: {detail:.120}")
            raise SourceError(SOURCE, f"GET {dataset.path}: {detail:.200}")
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            return payload["data"]
        if isinstance(payload, list):
            return payload  # rows are checked by the parser, which knows their global index
        raise PayloadError(SOURCE, f"expected a JSON array, got {type(payload).__name__}", "$")

    def fetch(
        self, dataset_name: str, start: dt.date, end: dt.date, **filters: str
    ) -> list[dict[str, Any]]:
        """Every raw row of ``dataset_name`` for ``start..end`` (inclusive), pages concatenated.

        ``filters`` are extra query parameters (``ticker``, ``bioguide_id``, ...). What the
        dates select depends on the dataset (see the module docstring).
        """
        dataset = QUIVER_DATASETS.get(dataset_name)
        if dataset is None:
            raise ValueError(f"unknown Quiver dataset {dataset_name!r}; see QUIVER_DATASETS")
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        rows: list[dict[str, Any]] = []
        for params in dataset.params(start, end, filters):
            if not dataset.paginated:
                rows.extend(self._get(dataset, params))
                continue
            for page in range(1, MAX_PAGES + 1):
                batch = self._get(dataset, {**params, "page": page, "page_size": dataset.page_size})
                rows.extend(batch)
                if len(batch) < dataset.page_size:
                    break
            else:
                raise SourceError(SOURCE, f"GET {dataset.path}: more than {MAX_PAGES} full pages")
        log.info("%s %s %s..%s: %d rows", SOURCE, dataset_name, start, end, len(rows))
        return rows

    def fetch_frame(
        self, dataset_name: str, start: dt.date, end: dt.date, **filters: str
    ) -> pd.DataFrame:
        """:meth:`fetch` then the dataset's parser: the tidy frame."""
        rows = self.fetch(dataset_name, start, end, **filters)
        return QUIVER_DATASETS[dataset_name].parser(rows)

    def politician_trades(self, bioguide_id: str) -> list[dict[str, Any]]:
        """The full V2 trading history of one politician (e.g. ``"P000197"``)."""
        today = dt.date.today()
        return self.fetch("congress_trades", today, today, bioguide_id=bioguide_id)


def make_quiver_client(
    mode: DataMode, token: Secret | None = None, universe_size: int | None = None
) -> QuiverClient:
    """A Quiver client for ``mode``.

    ``DataMode.SAMPLE``: the real client on :func:`sample_transport` with no rate limit and
    no token, answered by :mod:`pas_pipeline.sources.sample.quiver` (``universe_size``, when
    given, selects the sample universe, as for Yahoo). ``DataMode.LIVE``: the real network
    with :data:`QUIVER_POLICY`; a missing token is a :class:`SourceAuthError` naming
    ``QUIVER_API_TOKEN``.
    """
    if DataMode(mode) is DataMode.SAMPLE:
        from pas_pipeline.sources.sample import quiver as sample_quiver  # registers the host

        if universe_size is not None:
            sample_quiver.reconfigure(size=int(universe_size))
        return QuiverClient(ApiClient(unlimited(QUIVER_POLICY), transport=sample_transport()))
    return QuiverClient(quiver_api(token))


__all__ = [
    "QUIVER_DATASETS",
    "QUIVER_POLICY",
    "RATE_GROUPS",
    "QuiverClient",
    "QuiverDataset",
    "make_quiver_client",
    "quiver_api",
]
