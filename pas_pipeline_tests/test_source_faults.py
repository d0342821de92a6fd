"""Every HTTP source, through its real client and parser, against the same bad answers.

Each case replays the source's own sample payloads (the API's real JSON shape) through an
``httpx.MockTransport`` whose *first* answer is a fault. A broken body (an HTML page with
status 200, an empty body, truncated JSON) ends in a ``PayloadError`` naming the source;
401/403 end in a ``SourceAuthError`` that never shows the key; a 429 with ``Retry-After`` and
a timeout are retried (the wait honoured, no real sleep) and the fetch then succeeds.
Per-source field and row errors are tested in each source's own test file. Reddit goes
through praw and has its own fault tests (``test_reddit.py``).

Sources whose sample server wants a web session (Yahoo's quote summary and quotes, Google
Trends) get their production session auth, whose bootstrap requests are answered normally:
the fault hits the first *data* request. Such a client answers a 401 by renewing the session
and retrying once, so there the 401 fault is repeated on the retry (a 401 that survives a new
session is an auth error), and a single 401 is shown to be recovered.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pas_pipeline.sources import (
    alpaca_bars,
    alpaca_news,
    analyst_ratings,
    clinical_trials,
    google_trends,
    openfda,
    quiver,
    sp1500,
    wikimedia,
    yahoo,
)
from pas_pipeline.sources.errors import PayloadError, SourceAuthError
from pas_pipeline.sources.http import SAMPLE_HANDLERS, ApiClient, ApiPolicy, unlimited
from pas_pipeline.sources.session_auth import (
    SessionAuth,
    google_trends_session_auth,
    yahoo_session_auth,
)
from pas_pipeline_tests.fake_clock import FakeClock

SECRET = "sk-live-DO-NOT-LEAK-42"
D0, D1 = dt.date(2024, 6, 3), dt.date(2024, 6, 7)

MakeApi = Callable[[ApiPolicy], ApiClient]


@dataclass(frozen=True)
class Source:
    """One API: its policy (name, host), the sample module answering it, how to build the
    real client from ``ApiClient`` factories, one fetch through the real parser, and the web
    session its production factory gives the ``ApiClient``, if any."""

    policy: ApiPolicy
    sample: str
    build: Callable[[MakeApi], Any]
    fetch: Callable[[Any], Any]
    session: Callable[[], SessionAuth] | None = None


SOURCES = {
    "yahoo": Source(
        yahoo.YAHOO_POLICY,
        "yahoo",
        lambda api: yahoo.YahooChartClient(api(yahoo.YAHOO_POLICY)),
        lambda c: yahoo.fetch_prices(c, ["XLK"], D0, D1).frame,
    ),
    "quiver": Source(
        quiver.QUIVER_POLICY,
        "quiver",
        lambda api: quiver.QuiverClient(api(quiver.QUIVER_POLICY)),
        lambda c: c.fetch_frame("gov_contracts", D0, D1),
    ),
    "wikimedia": Source(
        wikimedia.WIKIMEDIA_POLICY,
        "wikimedia",
        lambda api: wikimedia.WikimediaClient(api(wikimedia.WIKIMEDIA_POLICY)),
        lambda c: wikimedia.fetch_pageviews(c, {"AAPL": "Apple_Inc."}, D0, D1),
    ),
    "alpaca_news": Source(
        alpaca_news.ALPACA_NEWS_POLICY,
        "alpaca_news",
        lambda api: alpaca_news.AlpacaNewsClient(api(alpaca_news.ALPACA_NEWS_POLICY)),
        lambda c: alpaca_news.fetch_news_sentiment(c, ["AAPL", "MSFT"], D0, D1),
    ),
    "alpaca_bars": Source(
        alpaca_bars.ALPACA_BARS_POLICY,
        "alpaca_bars",
        lambda api: alpaca_bars.AlpacaBarsClient(api(alpaca_bars.ALPACA_BARS_POLICY)),
        lambda c: alpaca_bars.fetch_alpaca_prices(c, ["XLK"], D0, D1).frame,
    ),
    "google_trends": Source(
        google_trends.GOOGLE_TRENDS_POLICY,
        "google_trends",
        lambda api: google_trends.GoogleTrendsClient(*google_trends_apis(api)),
        lambda c: google_trends.fetch_search_interest(c, {"AAPL": "Apple"}, D0, D1),
        google_trends_session_auth,
    ),
    "analyst_ratings": Source(
        yahoo.YAHOO_POLICY,
        "analyst_ratings",
        lambda api: analyst_ratings.AnalystRatingsClient(api(yahoo.YAHOO_POLICY)),
        lambda c: analyst_ratings.fetch_rating_changes(c, ["AAPL"], dt.date(2022, 1, 3), D1),
        yahoo_session_auth,
    ),
    "clinical_trials": Source(
        clinical_trials.CLINICAL_TRIALS_POLICY,
        "clinical_trials",
        lambda api: clinical_trials.ClinicalTrialsClient(
            api(clinical_trials.CLINICAL_TRIALS_POLICY)
        ),
        lambda c: clinical_trials.fetch_trial_catalysts(
            c, {"LLY": "Eli Lilly and Company"}, D0, D1
        ),
    ),
    "openfda": Source(
        openfda.OPENFDA_POLICY,
        "openfda",
        lambda api: openfda.OpenFdaClient(api(openfda.OPENFDA_POLICY)),
        lambda c: openfda.fetch_fda_approvals(c, {"PFE": "PFIZER"}, D0, D1),
    ),
    "wikipedia": Source(
        sp1500.WIKIPEDIA_POLICY,
        "sp1500",
        lambda api: sp1500.WikipediaClient(api(sp1500.WIKIPEDIA_POLICY)),
        lambda c: c.page_wikitext(sp1500.INDEX_PAGES["S&P 500"]),
    ),
    "yahoo_quote": Source(
        yahoo.YAHOO_POLICY,
        "sp1500",
        lambda api: sp1500.YahooQuoteClient(api(yahoo.YAHOO_POLICY)),
        lambda c: sp1500.fetch_market_caps(c, ["AAPL", "MSFT"]),
        yahoo_session_auth,
    ),
}


def google_trends_apis(api: MakeApi) -> tuple[ApiClient, ApiClient]:
    """Trends uses two clients (two JSON prefixes), as ``google_trends_apis`` builds them."""
    explore, widgets = google_trends.google_trends_apis()
    explore.close()
    widgets.close()
    return api(explore.policy), api(widgets.policy)


class Faulty:
    """Answers the first ``times`` data requests with ``fault``, everything else like the
    sample servers (by host). Requests to a session's bootstrap URLs are not data requests."""

    def __init__(
        self,
        fault: Callable[[httpx.Request], httpx.Response],
        times: int = 1,
        session: SessionAuth | None = None,
    ) -> None:
        self.fault = fault
        self.times = times
        self.bootstrap = {
            httpx.URL(step.url).copy_with(query=None) for step in (session.steps if session else ())
        }
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.copy_with(query=None) not in self.bootstrap:
            self.requests += 1
            if self.requests <= self.times:
                return self.fault(request)
        return SAMPLE_HANDLERS[request.url.host](request)


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


FAULTS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "html_with_200": lambda r: httpx.Response(
        200, content=b"<!doctype html><title>Oops</title>", headers={"content-type": "text/html"}
    ),
    "empty_body": lambda r: httpx.Response(200, content=b""),
    "truncated_json": lambda r: httpx.Response(200, content=b'{"data": [{"a": 1}, {"b":'),
    "401": lambda r: httpx.Response(401, json={"message": "invalid key"}),
    "403": lambda r: httpx.Response(403, json={"message": "plan lacks this dataset"}),
    "429_retry_after": lambda r: httpx.Response(429, headers={"Retry-After": "7"}),
    "timeout": timeout,
}
BROKEN_BODY = {"html_with_200", "empty_body", "truncated_json"}
AUTH = {"401", "403"}


def run(name: str, fault: str, times: int | None = None) -> tuple[Any, list[float]]:
    """Fetch from ``name`` with ``fault`` on the first data request (on the first two for a
    401 to a source with a session, which renews it and retries once; or ``times``)."""
    source = SOURCES[name]
    importlib.import_module(f"pas_pipeline.sources.sample.{source.sample}")  # registers host
    session = source.session() if source.session else None
    if times is None:
        times = 2 if session is not None and fault == "401" else 1
    clock = FakeClock()
    transport = httpx.MockTransport(Faulty(FAULTS[fault], times, session))

    def make_api(policy: ApiPolicy) -> ApiClient:
        return ApiClient(
            unlimited(policy),
            transport=transport,
            headers={"Authorization": f"Bearer {SECRET}"},
            sleep=clock.sleep,
            clock=clock,
            auth=session,
        )

    client = source.build(make_api)
    return source.fetch(client), clock.sleeps


CASES = [(name, fault) for name in SOURCES for fault in FAULTS]


@pytest.mark.parametrize(("name", "fault"), CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_every_source_handles_every_fault(name: str, fault: str) -> None:
    policy = SOURCES[name].policy
    if fault in BROKEN_BODY:
        with pytest.raises(PayloadError) as caught:
            run(name, fault)
        assert caught.value.source == policy.name
    elif fault in AUTH:
        with pytest.raises(SourceAuthError) as caught:
            run(name, fault)
        assert f"HTTP {fault}" in str(caught.value)
        assert SECRET not in str(caught.value)
    else:
        result, sleeps = run(name, fault)
        assert result is not None
        if fault == "429_retry_after":
            assert 7.0 in sleeps
        else:
            assert len(sleeps) >= 1


SESSION_SOURCES = [name for name, source in SOURCES.items() if source.session is not None]


@pytest.mark.parametrize("name", SESSION_SOURCES)
def test_a_single_401_is_recovered_by_a_new_session(name: str) -> None:
    result, sleeps = run(name, "401", times=1)
    assert result is not None and sleeps == []
