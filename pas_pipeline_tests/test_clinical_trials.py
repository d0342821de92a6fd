"""ClinicalTrials.gov v2: request building, paging, the tidy parser, schema and sample handler."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from pas_pipeline.config import DataMode
from pas_pipeline.schemas import validate_frame
from pas_pipeline.sources.biotech_sponsors import biotech_sponsors, trial_sponsors
from pas_pipeline.sources.clinical_trials import (
    CLINICAL_TRIALS_POLICY,
    TRIAL_CATALYST_COLUMNS,
    TRIAL_CATALYSTS_SCHEMA,
    ClinicalTrialsClient,
    fetch_trial_catalysts,
    make_clinical_trials_client,
    parse_studies,
    posted_filter,
    same_sponsor,
)
from pas_pipeline.sources.errors import PayloadError
from pas_pipeline.sources.http import SAMPLE_HANDLERS, ApiClient
from pas_pipeline.sources.sample import clinical_trials as sample_trials
from pas_pipeline.sources.sample import yahoo as sample_yahoo
from pas_pipeline.sources.universe import sample_universe

# Literally the example of external-apis.md section 6.1, as JSON text.
RECORDED = json.loads("""
{"studies": [{"protocolSection": {
   "identificationModule": {"nctId": "NCT05812345", "briefTitle": "A Phase 3 Study of ACM-101 in Adults With Moderate-to-Severe Plaque Psoriasis"},
   "statusModule": {"overallStatus": "ACTIVE_NOT_RECRUITING",
     "startDateStruct": {"date": "2023-06-05", "type": "ACTUAL"},
     "primaryCompletionDateStruct": {"date": "2025-07", "type": "ESTIMATED"},
     "completionDateStruct": {"date": "2025-08", "type": "ESTIMATED"},
     "lastUpdatePostDateStruct": {"date": "2024-06-11", "type": "ACTUAL"}},
   "sponsorCollaboratorsModule": {"leadSponsor": {"name": "Acme Therapeutics, Inc.", "class": "INDUSTRY"}},
   "designModule": {"studyType": "INTERVENTIONAL", "phases": ["PHASE3"], "enrollmentInfo": {"count": 3127, "type": "ACTUAL"}},
   "conditionsModule": {"conditions": ["Plaque Psoriasis"]},
   "armsInterventionsModule": {"interventions": [{"type": "DRUG", "name": "ACM-101"}, {"type": "DRUG", "name": "Placebo"}]}},
  "hasResults": false}],
 "nextPageToken": "NF0g5JGBlPMuxA", "totalCount": 214}
""")  # noqa: E501
SPONSOR = "Acme Therapeutics, Inc."
SIZE = 300
AS_OF = dt.date(2025, 6, 30)


def study(
    nct_id: str = "NCT05812345",
    posted: str = "2024-06-11",
    lead: str = SPONSOR,
    **status: Any,
) -> dict[str, Any]:
    """The recorded study with another id, post date, lead sponsor or status fields."""
    record = copy.deepcopy(RECORDED["studies"][0])
    section = record["protocolSection"]
    section["identificationModule"]["nctId"] = nct_id
    section["statusModule"]["lastUpdatePostDateStruct"]["date"] = posted
    section["statusModule"].update(status)
    section["sponsorCollaboratorsModule"]["leadSponsor"]["name"] = lead
    return record


# --- parser ---------------------------------------------------------------------------------


def test_the_recorded_study_parses_to_exact_values() -> None:
    frame = parse_studies(RECORDED["studies"], "ACME")
    assert list(frame.columns) == list(TRIAL_CATALYST_COLUMNS)
    row = frame.iloc[0].to_dict()
    assert row == {
        "nct_id": "NCT05812345",
        "ticker": "ACME",
        "sponsor": "Acme Therapeutics, Inc.",
        "phase": "PHASE3",
        "status": "ACTIVE_NOT_RECRUITING",
        "primary_completion": pd.Timestamp("2025-07-31"),  # "2025-07": the month's last day
        "completion_type": "ESTIMATED",
        "event_date": pd.Timestamp("2024-06-11"),
        "known_date": pd.Timestamp("2024-06-12"),
        "conditions": "Plaque Psoriasis",
        "enrollment": 3127.0,
    }
    assert str(frame["primary_completion"].dtype) == "datetime64[ns]"
    assert frame["enrollment"].dtype == "float64"
    validate_frame(TRIAL_CATALYSTS_SCHEMA, frame, "clinicaltrials")


@pytest.mark.parametrize(
    ("text", "day"),
    [("2025-02", "2025-02-28"), ("2024-02", "2024-02-29"), ("2025-12", "2025-12-31"),
     ("2025-07-04", "2025-07-04")],
)  # fmt: skip
def test_partial_primary_completion_dates_mean_the_last_day_of_the_month(
    text: str, day: str
) -> None:
    record = study(primaryCompletionDateStruct={"date": text, "type": "ACTUAL"})
    frame = parse_studies([record], "ACME")
    assert frame.loc[0, "primary_completion"] == pd.Timestamp(day)
    assert frame.loc[0, "completion_type"] == "ACTUAL"


def test_the_highest_phase_and_optional_fields() -> None:
    both = study("NCT00000001")
    both["protocolSection"]["designModule"]["phases"] = ["PHASE2", "PHASE3"]
    bare = study("NCT00000002")
    del bare["protocolSection"]["designModule"]
    del bare["protocolSection"]["conditionsModule"]
    del bare["protocolSection"]["statusModule"]["primaryCompletionDateStruct"]
    bare["protocolSection"]["conditionsModule"] = {"conditions": ["A", "B"]}
    frame = parse_studies([both, bare], "ACME")
    assert list(frame["phase"]) == ["PHASE3", "NA"]
    assert pd.isna(frame.loc[1, "primary_completion"]) and frame.loc[1, "completion_type"] is None
    assert np.isnan(frame.loc[1, "enrollment"]) and frame.loc[1, "conditions"] == "A; B"
    validate_frame(TRIAL_CATALYSTS_SCHEMA, frame, "clinicaltrials")


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        record = record[key]
    record[last] = value


SECTION = "protocolSection."


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (SECTION + "identificationModule.nctId", "NCT123", "nctId"),
        (SECTION + "identificationModule.nctId", None, "nctId"),
        (SECTION + "statusModule.overallStatus", 3, "overallStatus"),
        (SECTION + "statusModule.lastUpdatePostDateStruct.date", "2024-06",
         "lastUpdatePostDateStruct.date"),
        (SECTION + "statusModule.lastUpdatePostDateStruct.date", "2024-13-01",
         "lastUpdatePostDateStruct.date"),
        (SECTION + "statusModule.primaryCompletionDateStruct.date", "July 2025",
         "primaryCompletionDateStruct.date"),
        (SECTION + "statusModule.primaryCompletionDateStruct.type", "ANTICIPATED",
         "primaryCompletionDateStruct.type"),
        (SECTION + "sponsorCollaboratorsModule.leadSponsor.name", "", "leadSponsor.name"),
        (SECTION + "designModule.phases", ["PHASE5"], "phases"),
        (SECTION + "designModule.enrollmentInfo.count", "3127", "enrollmentInfo.count"),
        (SECTION + "designModule.enrollmentInfo.count", -1, "enrollmentInfo.count"),
        (SECTION + "conditionsModule.conditions", "Psoriasis", "conditions"),
    ],
)  # fmt: skip
def test_a_bad_study_names_the_field_and_row(path: str, value: Any, field: str) -> None:
    studies = [study("NCT00000001"), study("NCT00000002")]
    set_path(studies[1], path, value)
    with pytest.raises(PayloadError) as info:
        parse_studies(studies, "ACME")
    assert info.value.field == field and info.value.row == 1
    assert f"field '{field}'" in str(info.value) and "row 1" in str(info.value)
    assert str(info.value).startswith("clinicaltrials: ")


def test_a_study_that_is_not_an_object_names_its_row() -> None:
    with pytest.raises(PayloadError) as info:
        parse_studies([study(), "oops"], "ACME")
    assert info.value.field == "studies" and info.value.row == 1


def test_the_schema_rejects_a_version_known_on_its_own_post_day() -> None:
    frame = parse_studies([study("NCT00000001"), study("NCT00000002")], "ACME")
    same_day = frame.assign(known_date=frame["event_date"])
    with pytest.raises(PayloadError) as info:
        validate_frame(TRIAL_CATALYSTS_SCHEMA, same_day, "clinicaltrials")
    assert info.value.field == "known_date" and info.value.row == 0


# --- client on a scripted transport ---------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def scripted(handler: Handler) -> tuple[ClinicalTrialsClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    api = ApiClient(
        CLINICAL_TRIALS_POLICY,
        transport=httpx.MockTransport(record),
        sleep=lambda seconds: None,
        clock=lambda: 0.0,
    )
    return ClinicalTrialsClient(api), seen


def page(studies: list[dict[str, Any]], token: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"studies": studies}
    if token is not None:
        body["nextPageToken"] = token
    return httpx.Response(200, json=body)


def test_studies_follow_next_page_tokens_with_the_query_parameters() -> None:
    pages = {None: page([study("NCT00000001")], "tok-2"), "tok-2": page([study("NCT00000002")])}
    client, seen = scripted(lambda request: pages[request.url.params.get("pageToken")])
    with client:
        studies = client.studies(
            SPONSOR, "AREA[Phase]PHASE3", ["RECRUITING", "ACTIVE_NOT_RECRUITING"]
        )
    assert [s["protocolSection"]["identificationModule"]["nctId"] for s in studies] == [
        "NCT00000001",
        "NCT00000002",
    ]
    first, second = (dict(request.url.params) for request in seen)
    assert seen[0].url.host == "clinicaltrials.gov" and seen[0].url.path == "/api/v2/studies"
    assert first == {
        "query.spons": SPONSOR,
        "pageSize": "1000",
        "filter.advanced": "AREA[Phase]PHASE3",
        "filter.overallStatus": "RECRUITING,ACTIVE_NOT_RECRUITING",
    }
    assert second == {**first, "pageToken": "tok-2"}


def test_a_repeated_token_or_a_page_without_studies_is_a_payload_error() -> None:
    client, _ = scripted(lambda request: page([study()], "same"))
    with client, pytest.raises(PayloadError) as info:
        client.studies(SPONSOR)
    assert info.value.field == "nextPageToken"
    client, _ = scripted(lambda request: httpx.Response(200, json={"data": []}))
    with client, pytest.raises(PayloadError) as info:
        client.studies(SPONSOR)
    assert info.value.field == "studies"


def test_the_posted_filter_and_the_live_policy() -> None:
    expression = posted_filter(dt.date(2024, 6, 30), dt.date(2024, 7, 30))
    assert expression == (
        "AREA[Phase](PHASE2 OR PHASE3) AND AREA[LastUpdatePostDate]RANGE[2024-06-30,2024-07-30]"
    )
    assert CLINICAL_TRIALS_POLICY.base_url == "https://clinicaltrials.gov/api/v2"
    assert CLINICAL_TRIALS_POLICY.requests_per_second <= 1 and CLINICAL_TRIALS_POLICY.burst == 1
    assert same_sponsor("Bristol-Myers Squibb", "BRISTOL MYERS  SQUIBB")
    assert not same_sponsor("Pfizer", "Pfizer Japan")


def test_fetch_keeps_studies_led_by_the_sponsor_and_posted_in_the_window() -> None:
    answer = page(
        [
            study("NCT00000001", posted="2024-06-30"),  # known 1 July: inside
            study("NCT00000002", posted="2024-07-30", lead="Meridian University"),  # collaborator
            study("NCT00000003", posted="2024-07-31"),  # known 1 August: outside
            study("NCT00000004", posted="2024-07-30", lead="ACME THERAPEUTICS INC"),
        ]
    )
    client, seen = scripted(lambda request: answer)
    with client:
        frame = fetch_trial_catalysts(
            client, {"ACME": SPONSOR}, dt.date(2024, 7, 1), dt.date(2024, 7, 31)
        )
    assert list(frame["nct_id"]) == ["NCT00000001", "NCT00000004"]
    assert list(frame["known_date"]) == [pd.Timestamp("2024-07-01"), pd.Timestamp("2024-07-31")]
    assert seen[0].url.params["filter.advanced"].endswith("RANGE[2024-06-30,2024-07-30]")
    empty = fetch_trial_catalysts(client, {}, dt.date(2024, 7, 1), dt.date(2024, 7, 31))
    assert empty.empty and list(empty.columns) == list(TRIAL_CATALYST_COLUMNS)


# --- sample handler ---------------------------------------------------------------------------


@pytest.fixture
def sample() -> Iterator[ClinicalTrialsClient]:
    before = sample_yahoo.sample_config()
    sample_yahoo.configure_sample_market(SIZE, 7, as_of=AS_OF)
    with make_clinical_trials_client(DataMode.SAMPLE) as client:
        yield client
    sample_yahoo.configure_sample_market(before.size, before.seed, before.as_of)


def sponsors() -> dict[str, str]:
    return trial_sponsors(biotech_sponsors(sample_universe(SIZE, 7)))


def test_importing_the_sample_module_registers_the_host() -> None:
    assert SAMPLE_HANDLERS["clinicaltrials.gov"] is sample_trials.handle_request


def test_sample_pages_are_the_same_studies_as_one_big_page(sample: ClinicalTrialsClient) -> None:
    advanced = posted_filter(dt.date(2023, 1, 1), AS_OF)
    big = sample.studies("Pfizer", advanced)
    small = sample.studies("Pfizer", advanced, page_size=3)
    assert len(big) > 6 and small == big  # at least three pages of three
    phases = {p for s in big for p in s["protocolSection"]["designModule"]["phases"]}
    assert phases <= {"PHASE2", "PHASE3"}
    assert set(big[0]) == set(RECORDED["studies"][0]) - {"nextPageToken"}


def test_sample_round_trip_is_deterministic_point_in_time_and_valid(
    sample: ClinicalTrialsClient,
) -> None:
    start, end = dt.date(2024, 7, 1), AS_OF + dt.timedelta(days=20)
    frame = fetch_trial_catalysts(sample, sponsors(), start, end)
    pd.testing.assert_frame_equal(frame, fetch_trial_catalysts(sample, sponsors(), start, end))
    validate_frame(TRIAL_CATALYSTS_SCHEMA, frame, "clinicaltrials")
    assert frame["known_date"].max() <= pd.Timestamp(AS_OF + dt.timedelta(days=1))
    assert frame["known_date"].min() >= pd.Timestamp(start)
    assert {"PFE", "AMGN"} <= set(frame["ticker"]) and frame["ticker"].nunique() > 10
    assert set(frame["completion_type"]) == {"ACTUAL", "ESTIMATED"}
    assert (frame["primary_completion"].dt.day >= 28).sum() > len(frame) / 3  # partial dates


def test_sample_status_filter_and_bad_requests(sample: ClinicalTrialsClient) -> None:
    recruiting = sample.studies("Amgen", statuses=["RECRUITING"])
    assert recruiting and all(
        s["protocolSection"]["statusModule"]["overallStatus"] == "RECRUITING" for s in recruiting
    )
    assert sample.studies("Nobody At All") == []
    with httpx.Client(transport=httpx.MockTransport(sample_trials.handle_request)) as raw:
        url = "https://clinicaltrials.gov/api/v2/studies"
        assert raw.get(url, params={"pageSize": 1001}).status_code == 400
        assert raw.get(url, params={"filter.advanced": "AREA[Foo]bar"}).status_code == 400
        assert raw.get(url, params={"pageToken": "!!"}).status_code == 400
        counted = raw.get(url, params={"query.spons": "Amgen", "countTotal": "true"}).json()
    assert counted["totalCount"] >= 14 and len(counted["studies"]) == 10
    assert "nextPageToken" in counted
