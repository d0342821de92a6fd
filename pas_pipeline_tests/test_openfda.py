"""openFDA Drugs@FDA: search building, skip paging, 404 = no rows, key hygiene, parser,
schema and sample handler."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from pas_pipeline.config import DataMode, Secret
from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.biotech_sponsors import biotech_sponsors, fda_sponsors
from pas_pipeline.sources.errors import PayloadError, SourceError, SourceUnavailableError
from pas_pipeline.sources.http import SAMPLE_HANDLERS, ApiClient
from pas_pipeline.sources.openfda import (
    FDA_APPROVAL_COLUMNS,
    FDA_APPROVALS_SCHEMA,
    OPENFDA_POLICY,
    OpenFdaClient,
    approval_search,
    fetch_fda_approvals,
    make_openfda_client,
    parse_applications,
)
from pas_pipeline.sources.sample import openfda as sample_openfda
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.universe import sample_universe

# Literally the example of external-apis.md section 6.2, as JSON text.
RECORDED = json.loads("""
{"meta": {"last_updated": "2024-07-09", "results": {"skip": 0, "limit": 1, "total": 1}},
 "results": [{"application_number": "NDA219876", "sponsor_name": "ACME THERAP",
  "openfda": {"brand_name": ["ACMEVEX"], "generic_name": ["ACMERINOSTAT"]},
  "products": [{"product_number": "001", "brand_name": "ACMEVEX", "dosage_form": "TABLET", "route": "ORAL",
                "marketing_status": "Prescription", "active_ingredients": [{"name": "ACMERINOSTAT", "strength": "60MG"}]}],
  "submissions": [{"submission_type": "ORIG", "submission_number": "1", "submission_status": "AP",
                   "submission_status_date": "20240314", "review_priority": "PRIORITY",
                   "submission_class_code": "TYPE 1", "submission_class_code_description": "Type 1 - New Molecular Entity"}]}]}
""")  # noqa: E501
NOT_FOUND = {"error": {"code": "NOT_FOUND", "message": "No matches found!"}}
KEY = "s3cr3t-openfda-key"
SIZE = 300
AS_OF = dt.date(2025, 6, 30)


def application(number: str = "NDA219876", **change: Any) -> dict[str, Any]:
    record = copy.deepcopy(RECORDED["results"][0])
    record["application_number"] = number
    record.update(change)
    return record


def submission(kind: Any, number: Any, status: Any, day: str, **more: Any) -> dict[str, Any]:
    return {
        "submission_type": kind,
        "submission_number": number,
        "submission_status": status,
        "submission_status_date": day,
        **more,
    }


# --- parser ---------------------------------------------------------------------------------


def test_the_recorded_application_parses_to_exact_values() -> None:
    frame = parse_applications(RECORDED["results"], "ACME")
    assert list(frame.columns) == list(FDA_APPROVAL_COLUMNS)
    assert frame.iloc[0].to_dict() == {
        "application_number": "NDA219876",
        "ticker": "ACME",
        "sponsor": "ACME THERAP",
        "brand_name": "ACMEVEX",
        "submission_type": "ORIG",
        "submission_number": "1",
        "submission_status": "AP",
        "event_date": pd.Timestamp("2024-03-14"),
        "known_date": pd.Timestamp("2024-03-15"),
        "review_priority": "PRIORITY",
    }
    validate_frame(FDA_APPROVALS_SCHEMA, frame, "openfda")


def test_only_approvals_dated_in_the_window_are_rows() -> None:
    record = application(
        submissions=[
            submission("ORIG", "1", "AP", "20240314"),  # before the window
            submission("SUPPL", "5", "AP", "20240702", review_priority="STANDARD"),
            submission("SUPPL", "6", "TA", "20240731"),
            submission("SUPPL", "7", "TA", "20240801"),  # after the window
            submission("SUPPL", "8", None, "20240710"),  # no approval action
        ],
        products=[],  # brand from openfda.brand_name
    )
    frame = parse_applications([record], "ACME", dt.date(2024, 7, 1), dt.date(2024, 7, 31))
    assert list(frame["submission_number"]) == ["5", "6"]
    assert list(frame["submission_status"]) == ["AP", "TA"]
    assert list(frame["review_priority"]) == ["STANDARD", None]
    assert list(frame["brand_name"]) == ["ACMEVEX", "ACMEVEX"]
    validate_frame(FDA_APPROVALS_SCHEMA, frame, "openfda")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"application_number": "XYZ1"}, "application_number"),
        ({"sponsor_name": None}, "sponsor_name"),
        ({"submissions": "none"}, "submissions"),
        ({"submissions": [submission("SUPPL", "2", "AP", "2024-03-14")]},
         "submissions[0].submission_status_date"),
        ({"submissions": [submission("ORIG", "1", "AP", "20240314"),
                          submission("SUPPL", "2", "AP", "20241341")]},
         "submissions[1].submission_status_date"),
        ({"submissions": [submission(None, "1", "AP", "20240314")]},
         "submissions[0].submission_type"),
        ({"submissions": [submission("ORIG", 1, "AP", "20240314")]},
         "submissions[0].submission_number"),
    ],
)  # fmt: skip
def test_a_bad_record_names_the_field_and_row(change: dict[str, Any], field: str) -> None:
    records = [application("NDA000001"), application("NDA000002", **change)]
    with pytest.raises(PayloadError) as info:
        parse_applications(records, "ACME")
    assert info.value.field == field and info.value.row == 1
    assert f"field '{field}'" in str(info.value) and "row 1" in str(info.value)
    assert str(info.value).startswith("openfda: ")


def test_the_schema_rejects_a_non_approval_status() -> None:
    frame = parse_applications(RECORDED["results"], "ACME").assign(submission_status="RL")
    with pytest.raises(PayloadError) as info:
        validate_frame(FDA_APPROVALS_SCHEMA, frame, "openfda")
    assert info.value.field == "submission_status" and info.value.row == 0


# --- client on a scripted transport ---------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def scripted(handler: Handler, key: str | None = None) -> tuple[OpenFdaClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    api = ApiClient(
        OPENFDA_POLICY,
        transport=httpx.MockTransport(record),
        sleep=lambda seconds: None,
        clock=lambda: 0.0,
    )
    return OpenFdaClient(api, Secret(key) if key else None), seen


def test_the_search_text_and_its_url_form() -> None:
    search = approval_search("PFIZER", dt.date(2024, 7, 1), dt.date(2024, 7, 31))
    assert search == (
        'sponsor_name:"PFIZER" AND submissions.submission_status_date:[20240701 TO 20240731]'
    )
    client, seen = scripted(lambda request: httpx.Response(200, json=RECORDED), key=KEY)
    with client:
        client.applications(search)
    url = str(seen[0].url)
    assert url.startswith("https://api.fda.gov/drug/drugsfda.json?search=sponsor_name")
    assert "%22PFIZER%22+AND+submissions.submission_status_date" in url
    assert dict(seen[0].url.params) == {
        "search": search,
        "limit": "1000",
        "skip": "0",
        "api_key": KEY,
    }


def test_applications_page_with_skip_until_the_total() -> None:
    records = [application(f"NDA00000{n}") for n in range(5)]

    def answer(request: httpx.Request) -> httpx.Response:
        skip, limit = int(request.url.params["skip"]), int(request.url.params["limit"])
        meta = {"results": {"skip": skip, "limit": limit, "total": 5}}
        return httpx.Response(200, json={"meta": meta, "results": records[skip : skip + limit]})

    client, seen = scripted(answer)
    with client:
        got = client.applications("sponsor_name:X", limit=2)
    assert [r["application_number"] for r in got] == [r["application_number"] for r in records]
    assert [r.url.params["skip"] for r in seen] == ["0", "2", "4"]


def test_a_404_no_match_is_no_rows_without_retrying() -> None:
    client, seen = scripted(lambda request: httpx.Response(404, json=NOT_FOUND))
    with client:
        frame = fetch_fda_approvals(
            client, {"ACME": "ACME"}, dt.date(2024, 7, 1), dt.date(2024, 7, 31)
        )
    assert len(seen) == 1
    assert frame.empty and list(frame.columns) == list(FDA_APPROVAL_COLUMNS)


def test_a_body_without_results_is_a_payload_error() -> None:
    client, _ = scripted(lambda request: httpx.Response(200, json={"meta": {}}))
    with client, pytest.raises(PayloadError) as info:
        client.applications("sponsor_name:X")
    assert info.value.field == "results"


def test_the_key_never_appears_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def echo(request: httpx.Request) -> httpx.Response:  # a server quoting the URL back
        return httpx.Response(400, json={"error": {"message": f"bad query: {request.url}"}})

    client, _ = scripted(echo, key=KEY)
    with client, pytest.raises(SourceError) as info:
        client.applications("sponsor_name:X")
    assert KEY not in str(info.value) and "***" in str(info.value)
    down, _ = scripted(lambda request: httpx.Response(503, text=str(request.url)), key=KEY)
    with down, pytest.raises(SourceUnavailableError) as unavailable:
        down.applications("sponsor_name:X")
    assert KEY not in str(unavailable.value)
    assert caplog.records and all(KEY not in record.getMessage() for record in caplog.records)


def test_the_live_policy() -> None:
    assert OPENFDA_POLICY.base_url == "https://api.fda.gov"
    assert OPENFDA_POLICY.requests_per_second * 60 <= 240 and OPENFDA_POLICY.burst == 1
    assert OPENFDA_POLICY.not_found_is_empty is True


# --- sample handler ---------------------------------------------------------------------------


@pytest.fixture
def sample() -> Iterator[OpenFdaClient]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    with make_openfda_client(DataMode.SAMPLE, Secret(KEY)) as client:
        yield client
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def test_importing_the_sample_module_registers_the_host() -> None:
    assert SAMPLE_HANDLERS["api.fda.gov"] is sample_openfda.handle_request


def test_sample_round_trip_is_deterministic_and_valid(sample: OpenFdaClient) -> None:
    mapping = fda_sponsors(biotech_sponsors(sample_universe(SIZE, 7)))
    start, end = dt.date(2023, 7, 1), AS_OF + dt.timedelta(days=30)
    frame = fetch_fda_approvals(sample, mapping, start, end)
    pd.testing.assert_frame_equal(frame, fetch_fda_approvals(sample, mapping, start, end))
    validate_frame(FDA_APPROVALS_SCHEMA, frame, "openfda")
    assert frame["event_date"].max() <= pd.Timestamp(AS_OF)  # nothing after "today"
    assert frame["known_date"].min() >= pd.Timestamp(start)
    assert {"PFE", "AMGN"} <= set(frame["ticker"])
    assert set(frame["submission_type"]) == {"ORIG", "SUPPL"}


def test_sample_pages_and_404s(sample: OpenFdaClient) -> None:
    search = approval_search("PFIZER", dt.date(2000, 1, 1), AS_OF)
    everything = sample.applications(search)
    assert len(everything) >= 6
    assert sample.applications(search, limit=4) == everything
    assert all(r["sponsor_name"] == "PFIZER INC" for r in everything)
    assert sample.applications(approval_search("NOBODY", dt.date(2000, 1, 1), AS_OF)) == []
    with httpx.Client(transport=httpx.MockTransport(sample_openfda.handle_request)) as raw:
        url = "https://api.fda.gov/drug/drugsfda.json"
        missing = raw.get(url, params={"search": 'sponsor_name:"NOBODY"'})
        too_many = raw.get(url, params={"search": 'sponsor_name:"PFIZER"', "limit": 1001})
    assert missing.status_code == 404 and missing.json() == NOT_FOUND
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "BAD_REQUEST"
