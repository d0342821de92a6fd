"""S&P 1500 universe: Wikipedia list parsing, Yahoo quotes, the combining rules, sample mode."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from pas_pipeline.config import DataMode
from pas_pipeline.sources.errors import PayloadError, SourceAuthError
from pas_pipeline.sources.http import (
    SAMPLE_HANDLERS,
    USER_AGENT,
    ApiClient,
    sample_transport,
    unlimited,
)
from pas_pipeline.sources.sample import sp1500 as sample_sp1500
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.session_auth import SessionAuth
from pas_pipeline.sources.sp1500 import (
    CONSTITUENT_COLUMNS,
    UNIVERSE_COLUMNS,
    WIKIPEDIA_POLICY,
    WikipediaClient,
    YahooQuoteClient,
    fetch_market_caps,
    fetch_sp1500_universe,
    load_sp1500_universe,
    make_quote_client,
    make_wikipedia_client,
    parse_constituents,
    parse_quotes,
    parse_security,
    parse_ticker,
    parse_wikitext_payload,
)
from pas_pipeline.sources.universe import sample_universe
from pas_pipeline.sources.yahoo import YAHOO_POLICY

SIZE = 300

# The S&P 500 page: symbol alone on a line, the other cells "||"-separated on the next one.
SP500_WIKITEXT = """{{Short description|None}}
The '''S&P 500''' comprises 503 common stocks.<ref>S&P</ref>
== S&P 500 component stocks ==
{| class="wikitable sortable sticky-header" id="constituents"
|-
![[Ticker symbol|Symbol]]
! Security !! [[Global Industry Classification Standard|GICS]] Sector !! GICS Sub-Industry \
!! Headquarters Location !! Date added !! {{Abbr|CIK|Central Index Key}} !! Founded
|-
|{{NyseSymbol|MMM}}
|[[3M]]|| Industrials || Industrial Conglomerates || [[Saint Paul, Minnesota]] || 1957-03-04 \
|| 0000066740 || 1902
|-
|{{NasdaqSymbol|GOOGL}}
|[[Alphabet Inc.|Alphabet Inc. (Class A)]]|| Communication Services || Interactive Media \
& Services || [[Mountain View, California]] || 2014-04-03 || 0001652044 || 1998
|-
|{{NyseSymbol|BRK.B}}<!-- DO NOT CHANGE THIS TICKER TO BRK-B. -->
|Berkshire Hathaway|| Financials || Multi-Sector Holdings || [[Omaha, Nebraska]] || \
2010-02-16 || 0001067983 || 1839
|-
|{{BZX link|CBOE}}
|[[Cboe Global Markets]]|| Financials || Financial Exchanges & Data || [[Chicago]], Illinois \
|| 2017-03-01 || 0001374310 || 1973
|-
|{{NyseSymbol|KO}}
|[[The Coca-Cola Company|Coca-Cola Company (The)]]<ref name="ko"/>|| Consumer Staples || \
Soft Drinks & Non-alcoholic Beverages || [[Atlanta]], Georgia || 1957-03-04 || 0000021344 \
|| 1886
|}

== Selected changes to the list of S&P 500 components ==
{| class="wikitable sortable" id="changes"
|-
! Date !! Added !! Removed
|-
| 2024-01-02 || {{NyseSymbol|ZZZ}} || [[Gone Corp.]]
|}
""".replace("\\\n", "")
SP500_ROWS = [
    ("MMM", "3M", "Industrials", "3M", "S&P 500"),
    ("GOOGL", "Alphabet Inc.", "Communication Services", "Alphabet_Inc.", "S&P 500"),
    ("BRK.B", "Berkshire Hathaway", "Financials", "Berkshire_Hathaway", "S&P 500"),
    ("CBOE", "Cboe Global Markets", "Financials", "Cboe_Global_Markets", "S&P 500"),
    ("KO", "The Coca-Cola Company", "Consumer Staples", "The_Coca-Cola_Company", "S&P 500"),
]

# The S&P 400 page: one cell a line, symbol and security behind a style attribute.
SP400_WIKITEXT = """{| class="wikitable sortable sticky-header" id="constituents"
|-
! style="border-color:inherit;" | [[Symbol]]
! style="border-color:inherit;" | [[Public company|Security]]
! [[Global Industry Classification Standard|GICS]] Sector
! GICS Sub-Industry
! Headquarters Location
! [[SEC filings]]
|-
| style="border-color:inherit;" | {{NyseSymbol|ABM}}
| style="border-color:inherit;" | [[ABM Industries | ABM Industries, Inc.]]
| Industrials
| Environmental & Facilities Services
| [[New York City]], New York
| [https://www.sec.gov/cgi-bin/browse-edgar?CIK=ABM&action=getcompany reports]
|-
| style="border-color:inherit;" | {{NyseSymbol|DAR}}
| style="border-color:inherit;" | Darling Ingredients
| Consumer Staples
| Agricultural Products & Services
| [[Irving, Texas]]
| [https://www.sec.gov/cgi-bin/browse-edgar?CIK=DAR&action=getcompany reports]
|}
"""
SP400_ROWS = [
    ("ABM", "ABM Industries, Inc.", "Industrials", "ABM_Industries", "S&P 400"),
    ("DAR", "Darling Ingredients", "Consumer Staples", "Darling_Ingredients", "S&P 400"),
]

# The S&P 600 page: bare "|" cells, an anchor glued to the first symbol of each letter.
SP600_WIKITEXT = """{| class="wikitable sortable mw-collapsible sticky-header" id="constituents"
|-
! [[Ticker symbol|Symbol]]
! [[Public company|Security]]
! [[Global Industry Classification Standard|GICS]] Sector
! GICS Sub-Industry
! Headquarters Location
! [[SEC filings]]
! [[Central Index Key|CIK]]
|-
|{{Anchor|A}}{{NyseSymbol|AAMI}}
|[[Acadian Asset Management|Acadian Asset Management Inc.]]
| Financials
| Asset Management & Custody Banks
|[[Boston]], Massachusetts
| [https://www.sec.gov/edgar/browse/?CIK=0001748824 view]
|0001748824
|-
|{{NasdaqSymbol|AAON}}
|[[AAON]]
| Industrials
| Building Products
|[[Tulsa, Oklahoma]]
| [https://www.sec.gov/edgar/browse/?CIK=0000824142 view]
|0000824142
|}
Xperi was renamed to Adeia ({{NASDAQ|ADEA}}).
"""
SP600_ROWS = [
    ("AAMI", "Acadian Asset Management Inc.", "Financials", "Acadian_Asset_Management", "S&P 600"),
    ("AAON", "AAON", "Industrials", "AAON", "S&P 600"),
]


def rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return list(frame.itertuples(index=False, name=None))


# --- parsing the three list pages ------------------------------------------------------


@pytest.mark.parametrize(
    ("wikitext", "index", "expected"),
    [
        (SP500_WIKITEXT, "S&P 500", SP500_ROWS),
        (SP400_WIKITEXT, "S&P 400", SP400_ROWS),
        (SP600_WIKITEXT, "S&P 600", SP600_ROWS),
    ],
    ids=["sp500-layout", "sp400-layout", "sp600-layout"],
)
def test_each_page_layout_parses_to_the_written_rows(
    wikitext: str, index: str, expected: list[tuple[str, ...]]
) -> None:
    frame = parse_constituents(wikitext, index)
    assert list(frame.columns) == list(CONSTITUENT_COLUMNS)
    assert rows(frame) == expected


def test_columns_are_found_by_header_text_not_position() -> None:
    older_layout = """{| class="wikitable sortable"
! GICS Sector !! Ticker symbol !! Company
|-
| Energy || {{NyseSymbol|XOM}} || [[ExxonMobil|Exxon Mobil Corp.]]
|}"""
    frame = parse_constituents(older_layout, "S&P 500")
    assert rows(frame) == [("XOM", "Exxon Mobil Corp.", "Energy", "ExxonMobil", "S&P 500")]


def test_only_the_constituents_table_is_read() -> None:
    page = """{| class="wikitable"
! Year !! Level
|-
| 2024 || 4769
|}
{| class="wikitable sortable" id="constituents"
! Symbol !! Security !! GICS Sector
|-
| {{NyseSymbol|F}} || [[Ford Motor Company|Ford]] || consumer discretionary
|}
{| class="wikitable" id="changes"
! Symbol !! Security !! GICS Sector
|-
| {{NyseSymbol|ZZZ}} || [[Gone]] || Energy
|}"""
    frame = parse_constituents(page, "S&P 500")
    assert rows(frame) == [("F", "Ford", "Consumer Discretionary", "Ford_Motor_Company", "S&P 500")]


@pytest.mark.parametrize(
    ("cell", "ticker"),
    [
        ("{{NyseSymbol|XOM}}", "XOM"),
        ("{{NasdaqSymbol|AAPL}}", "AAPL"),
        ("{{nyse|BF.B}}", "BF.B"),
        ("{{BZX link|CBOE}}", "CBOE"),
        ("{{Anchor|A}}{{NASDAQ|AAMI}}", "AAMI"),
        ("'''BRK.B'''", "BRK.B"),
        ("BRK-B", "BRK.B"),
        ("[https://www.nyse.com/quote/XNYS:BF.B BF.B]", "BF.B"),
        ("[[Ford Motor Company|F]]", "F"),
        (" mmm ", "MMM"),
    ],
)
def test_symbol_templates_and_links_are_stripped_to_the_dotted_ticker(
    cell: str, ticker: str
) -> None:
    assert parse_ticker(cell) == ticker


@pytest.mark.parametrize(
    ("cell", "name", "article"),
    [
        ("[[Apple Inc.]]", "Apple Inc.", "Apple_Inc."),
        ("[[Alphabet Inc.|Alphabet Inc. (Class C)]]", "Alphabet Inc.", "Alphabet_Inc."),
        ("[[News Corp|News Corp (Class A)]]", "News Corp", "News_Corp"),
        (
            "[[The Travelers Companies|Travelers Companies (The)]]",
            "The Travelers Companies",
            "The_Travelers_Companies",
        ),
        ("[[AT&amp;T]]", "AT&T", "AT&T"),
        ("[[eBay]]", "eBay", "EBay"),
        ("[[Emcor#History|EMCOR Group]]", "EMCOR Group", "Emcor"),
        ("'''Insulet Corporation'''", "Insulet Corporation", "Insulet_Corporation"),
        ("{{nowrap|[[Lam Research]]}}", "Lam Research", "Lam_Research"),
    ],
)
def test_security_gives_the_name_and_the_linked_article(cell: str, name: str, article: str) -> None:
    assert parse_security(cell) == (name, article)


def test_an_unknown_template_names_the_field_and_row() -> None:
    page = SP400_WIKITEXT.replace("{{NyseSymbol|DAR}}", "{{LseSymbol|DAR}}")
    with pytest.raises(PayloadError, match="LseSymbol") as caught:
        parse_constituents(page, "S&P 400")
    assert (caught.value.field, caught.value.row) == ("Symbol", 1)


@pytest.mark.parametrize(
    ("old", "new", "field", "row"),
    [
        ("|{{NyseSymbol|KO}}", "|{{NyseSymbol|K O!}}", "Symbol", 4),
        ("|{{NyseSymbol|MMM}}", "|{{NyseSymbol|}}", "Symbol", 0),
        ("|[[3M]]||", "|{{Sort|3M}}||", "Security", 0),
        ("|| Financials || Multi-Sector", "|| Finance || Multi-Sector", "GICS Sector", 2),
        (
            "|[[Cboe Global Markets]]|| Financials || Financial Exchanges & Data || [[Chicago]], "
            "Illinois || 2017-03-01 || 0001374310 || 1973",
            "|[[Cboe Global Markets]]",
            "GICS Sector",
            3,
        ),
    ],
    ids=["bad-ticker", "empty-ticker", "unknown-name-template", "unknown-sector", "short-row"],
)
def test_a_malformed_row_names_the_field_and_row(old: str, new: str, field: str, row: int) -> None:
    assert old in SP500_WIKITEXT
    with pytest.raises(PayloadError) as caught:
        parse_constituents(SP500_WIKITEXT.replace(old, new), "S&P 500")
    assert (caught.value.field, caught.value.row) == (field, row)
    assert f"row {row}" in str(caught.value)


def test_a_page_without_the_constituents_table_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="Symbol, Security, GICS Sector"):
        parse_constituents('{| class="wikitable"\n! Year !! Level\n|-\n| 2024 || 1\n|}', "S&P 500")


def test_the_action_api_payload_gives_its_wikitext_or_its_error() -> None:
    v2 = {"parse": {"title": "List of S&P 500 companies", "pageid": 1, "wikitext": "text"}}
    v1 = {"parse": {"title": "List of S&P 500 companies", "pageid": 1, "wikitext": {"*": "t"}}}
    assert parse_wikitext_payload(v2, "p") == "text"
    assert parse_wikitext_payload(v1, "p") == "t"
    missing = {"error": {"code": "missingtitle", "info": "The page you specified doesn't exist."}}
    with pytest.raises(PayloadError, match="missingtitle") as caught:
        parse_wikitext_payload(missing, "List_of_S&P_700_companies")
    assert caught.value.field == "error"


# --- Yahoo quotes ----------------------------------------------------------------------

QUOTES = {
    "quoteResponse": {
        "result": [
            {
                "language": "en-US",
                "quoteType": "EQUITY",
                "shortName": "Apple Inc.",
                "marketCap": 3_450_000_000_000,
                "symbol": "AAPL",
            },
            {
                "quoteType": "EQUITY",
                "shortName": "Berkshire Hathaway Inc. New",
                "marketCap": 1.0e12,
                "symbol": "BRK-B",
            },
            {"quoteType": "EQUITY", "shortName": "No Cap Corp", "symbol": "NOCP"},
        ],
        "error": None,
    }
}


def test_quotes_parse_to_market_caps_with_nan_when_absent() -> None:
    caps = parse_quotes(QUOTES)
    assert caps["AAPL"] == 3.45e12
    assert caps["BRK-B"] == 1.0e12
    assert math.isnan(caps["NOCP"])


@pytest.mark.parametrize(
    ("payload", "field", "row"),
    [
        ({"finance": {"result": None}}, "quoteResponse", None),
        (
            {"quoteResponse": {"result": None, "error": {"description": "Invalid"}}},
            "quoteResponse.error",
            None,
        ),
        (
            {"quoteResponse": {"result": [{"symbol": "A", "marketCap": 1}, "x"]}},
            "quoteResponse.result",
            1,
        ),
        ({"quoteResponse": {"result": [{"marketCap": 1}]}}, "symbol", 0),
        ({"quoteResponse": {"result": [{"symbol": "A", "marketCap": "big"}]}}, "marketCap", 0),
        (
            {"quoteResponse": {"result": [{"symbol": "A"}, {"symbol": "B", "marketCap": -5}]}},
            "marketCap",
            1,
        ),
    ],
)
def test_a_malformed_quote_payload_names_the_field_and_row(
    payload: Any, field: str, row: int | None
) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_quotes(payload)
    assert (caught.value.field, caught.value.row) == (field, row)


def mock_api(policy: Any, handler: Callable[[httpx.Request], httpx.Response]) -> ApiClient:
    return ApiClient(
        unlimited(policy), transport=httpx.MockTransport(handler), sleep=lambda _: None
    )


def test_market_caps_are_asked_in_batches_of_100_in_yahoo_spelling() -> None:
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        symbols = request.url.params["symbols"].split(",")
        asked.append(symbols)
        result = [
            {"symbol": s, "marketCap": 1e9 * (i + 1)} for i, s in enumerate(symbols) if s != "T9"
        ]
        return httpx.Response(200, json={"quoteResponse": {"result": result, "error": None}})

    tickers = ["BRK.B"] + [f"T{i}" for i in range(249)]
    with YahooQuoteClient(mock_api(YAHOO_POLICY, handler)) as client:
        caps = fetch_market_caps(client, tickers)
    assert [len(batch) for batch in asked] == [100, 100, 50]
    assert asked[0][0] == "BRK-B" and asked[2][-1] == "T248"
    assert list(caps.index) == tickers
    assert caps["BRK.B"] == 1e9 and caps["T0"] == 2e9 and caps["T100"] == 2e9
    assert math.isnan(caps["T9"])


def test_the_quote_request_asks_for_the_symbols_only() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"quoteResponse": {"result": [], "error": None}})

    with YahooQuoteClient(mock_api(YAHOO_POLICY, handler)) as client:
        client.quotes(["AAPL", "MSFT"])
    assert seen[0].url.path == "/v7/finance/quote"
    assert dict(seen[0].url.params) == {"symbols": "AAPL,MSFT"}  # the crumb is the auth's


def test_an_invalid_crumb_answer_is_an_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"code": "Unauthorized", "description": "Invalid Crumb"}
        return httpx.Response(401, json={"finance": {"result": None, "error": error}})

    with (
        YahooQuoteClient(mock_api(YAHOO_POLICY, handler)) as client,
        pytest.raises(SourceAuthError),
    ):
        fetch_market_caps(client, ["AAPL"])


def test_the_wikipedia_request_and_its_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"parse": {"title": "x", "pageid": 1, "wikitext": "w"}})

    with WikipediaClient(mock_api(WIKIPEDIA_POLICY, handler)) as client:
        assert client.page_wikitext("List_of_S&P_500_companies") == "w"
    url = str(seen[0].url)
    assert url.startswith("https://en.wikipedia.org/w/api.php?action=parse")
    assert "page=List_of_S%26P_500_companies" in url
    assert seen[0].url.params["formatversion"] == "2"
    assert seen[0].headers["user-agent"] == USER_AGENT


# --- the universe ----------------------------------------------------------------------


def page(header: str, *lines: str) -> str:
    return "\n".join(['{| class="wikitable sortable" id="constituents"', header, *lines, "|}"])


HEADER = "! Symbol !! Security !! GICS Sector"
PAGES = {
    "List of S&P 500 companies": page(
        HEADER,
        "|-\n| {{NasdaqSymbol|AAPL}} || [[Apple Inc.]] || Information Technology",
        "|-\n| {{NasdaqSymbol|GOOGL}} || [[Alphabet Inc.|Alphabet Inc. (Class A)]] || "
        "Communication Services",
        "|-\n| {{NasdaqSymbol|GOOG}} || [[Alphabet Inc.|Alphabet Inc. (Class C)]] || "
        "Communication Services",
    ),
    "List of S&P 400 companies": page(
        HEADER,
        "|-\n| {{NasdaqSymbol|AAPL}} || [[Apple Inc.]] || Information Technology",
        "|-\n| {{NyseSymbol|DAR}} || Darling Ingredients || Consumer Staples",
        "|-\n| {{NyseSymbol|BRK.B}} || [[Berkshire Hathaway]] || Financials",
    ),
    "List of S&P 600 companies": page(
        HEADER, "|-\n| {{NyseSymbol|XYZQ}} || [[Gone Inc.]] || Energy"
    ),
}
CAPS = {"AAPL": 3e12, "GOOGL": 2e12, "GOOG": 2e12, "DAR": 6e9, "BRK-B": 1e12}


def fake_wikipedia(request: httpx.Request) -> httpx.Response:
    title = request.url.params["page"].replace("_", " ")
    parsed = {"title": title, "pageid": 1, "wikitext": PAGES[title]}
    return httpx.Response(200, json={"parse": parsed})


def fake_quotes(request: httpx.Request) -> httpx.Response:
    symbols = request.url.params["symbols"].split(",")
    result = [{"symbol": s, "marketCap": CAPS[s]} for s in symbols if s in CAPS]
    return httpx.Response(200, json={"quoteResponse": {"result": result, "error": None}})


def test_the_universe_applies_the_listing_cap_and_share_class_rules(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # AAPL is on the 500 and 400 pages: the 500 row is kept. GOOG is Alphabet's second class
    # (same article): dropped. XYZQ has no Yahoo quote: dropped with a warning. Largest first.
    with (
        WikipediaClient(mock_api(WIKIPEDIA_POLICY, fake_wikipedia)) as wiki,
        YahooQuoteClient(mock_api(YAHOO_POLICY, fake_quotes)) as quotes,
    ):
        frame = fetch_sp1500_universe(wiki, quotes)
    assert list(frame.columns) == list(UNIVERSE_COLUMNS)
    assert rows(frame) == [
        ("AAPL", "Apple Inc.", "Information Technology", 3e12, "Apple_Inc.", "S&P 500"),
        ("GOOGL", "Alphabet Inc.", "Communication Services", 2e12, "Alphabet_Inc.", "S&P 500"),
        ("BRK.B", "Berkshire Hathaway", "Financials", 1e12, "Berkshire_Hathaway", "S&P 400"),
        ("DAR", "Darling Ingredients", "Consumer Staples", 6e9, "Darling_Ingredients", "S&P 400"),
    ]
    assert frame["market_cap"].dtype == "float64"
    assert "1 tickers without a Yahoo market cap dropped: ['XYZQ']" in caplog.text


# --- sample mode -----------------------------------------------------------------------


@pytest.fixture
def sample() -> Iterator[None]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7)
    yield
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def test_importing_the_sample_module_registers_the_wikipedia_host() -> None:
    assert SAMPLE_HANDLERS["en.wikipedia.org"] is sample_sp1500.handle_wikipedia_request


def test_the_live_path_over_the_sample_transport_returns_the_sample_universe(
    sample: None,
) -> None:
    frame = load_sp1500_universe(DataMode.SAMPLE)
    expected = sample_universe(SIZE, 7)
    assert list(frame.columns) == list(UNIVERSE_COLUMNS)
    assert frame["market_cap"].is_monotonic_decreasing
    pd.testing.assert_frame_equal(
        frame.drop(columns="index").sort_values("ticker", ignore_index=True),
        expected.sort_values("ticker", ignore_index=True),
    )
    assert frame["index"].value_counts().to_dict() == {
        "S&P 500": 100,
        "S&P 400": 80,
        "S&P 600": 120,
    }
    assert frame["index"].iloc[0] == "S&P 500" and frame["index"].iloc[-1] == "S&P 600"


def test_the_sample_pages_use_each_real_layout(sample: None) -> None:
    sp400 = sample_sp1500.page_wikitext("S&P 400")
    sp600 = sample_sp1500.page_wikitext("S&P 600")
    assert '\n| style="border-color:inherit;" | {{' in sp400
    assert "\n|{{Anchor|" in sp600
    assert "{{NyseSymbol|ZZQA}}" in sp600  # change-log prose, not a constituent


def test_the_sample_answers_unknown_pages_and_symbols_as_the_real_apis(sample: None) -> None:
    with make_wikipedia_client(DataMode.SAMPLE) as wiki:
        with pytest.raises(PayloadError, match="missingtitle"):
            wiki.page_wikitext("List_of_S&P_700_companies")
        v1 = wiki.api.get_json(
            "/w/api.php", {"action": "parse", "page": "List of S&P 500 companies", "format": "json"}
        )
    assert v1["parse"]["wikitext"]["*"] == sample_sp1500.page_wikitext("S&P 500")
    with make_quote_client(DataMode.SAMPLE) as quotes:
        payload = quotes.quotes(["NVDA", "NOPE", "AAPL"])
        first = payload["quoteResponse"]["result"][0]
        assert [q["symbol"] for q in payload["quoteResponse"]["result"]] == ["NVDA", "AAPL"]
        assert first["quoteType"] == "EQUITY"
        assert first["marketCap"] == sample_universe(SIZE, 7)["market_cap"].iloc[0]
        response = quotes.api._client.get("/v7/finance/quote")
    assert response.status_code == 400


def test_the_sample_quote_client_succeeds_only_because_it_established_yahoos_session(
    sample: None,
) -> None:
    with make_quote_client(DataMode.SAMPLE) as quotes:
        assert quotes.quotes(["AAPL"])["quoteResponse"]["result"][0]["symbol"] == "AAPL"
        auth = quotes.api._client.auth
        assert isinstance(auth, SessionAuth) and auth.established
    bare = ApiClient(unlimited(YAHOO_POLICY), transport=sample_transport())
    with YahooQuoteClient(bare) as client, pytest.raises(SourceAuthError, match="HTTP 401"):
        client.quotes(["AAPL"])  # the same request without the session
    with httpx.Client(transport=sample_transport()) as raw:
        answer = raw.get("https://query2.finance.yahoo.com/v7/finance/quote?symbols=AAPL")
        no_cookie = raw.get("https://query1.finance.yahoo.com/v1/test/getcrumb")
    assert answer.status_code == no_cookie.status_code == 401
    assert answer.json()["finance"]["error"]["description"] == "Invalid Crumb"


def test_the_live_clients_use_the_real_hosts() -> None:
    assert WIKIPEDIA_POLICY.base_url == "https://en.wikipedia.org"
    with make_quote_client(DataMode.LIVE) as quotes:
        assert quotes.api.policy is YAHOO_POLICY
        auth = quotes.api._client.auth
        assert isinstance(auth, SessionAuth) and auth.source == "yahoo"
    with make_wikipedia_client(DataMode.LIVE) as wiki:
        assert wiki.api.policy is WIKIPEDIA_POLICY
