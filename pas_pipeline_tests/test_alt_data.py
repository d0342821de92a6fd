"""Alternative-data assets: point-in-time stamping, metadata, and bad payloads that never land."""

import datetime as dt

import dagster as dg
import duckdb
import httpx
import pandas as pd

from pas_pipeline.defs.alt_data import ALT_DATA
from pas_pipeline.sources import http as source_http
from pas_pipeline.sources.point_in_time import known_window, stamp_sessions

DAY = "2024-07-08"  # a Monday: its window starts the day after Friday 2024-07-05


def test_monday_partition_collects_what_became_known_over_the_weekend():
    assert known_window(dt.date(2024, 7, 8), dt.date(2024, 7, 8)) == (
        dt.date(2024, 7, 6),
        dt.date(2024, 7, 8),
    )


def test_rows_are_stamped_with_the_first_session_on_or_after_their_known_date():
    frame = pd.DataFrame({"known_date": pd.to_datetime(["2024-07-04", "2024-07-06", "2024-07-08"])})
    stamped = stamp_sessions(frame, dt.date(2024, 7, 5), dt.date(2024, 7, 8))
    assert list(stamped["date"].dt.date.astype(str)) == ["2024-07-05", "2024-07-08", "2024-07-08"]


def test_rows_outside_the_partitions_are_dropped():
    frame = pd.DataFrame({"known_date": pd.to_datetime(["2024-06-28", "2024-07-08"])})
    assert len(stamp_sessions(frame, dt.date(2024, 7, 8), dt.date(2024, 7, 8))) == 1


def run_alt_data(defs, instance, **kwargs):
    return defs.resolve_job_def("alt_data").execute_in_process(
        instance=instance, partition_key=DAY, raise_on_error=False, **kwargs
    )


def stored(settings, table):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(f"select * from public.{table} order by all").df()


EMPTY_ON_A_PAST_DAY = {
    "app_ratings",  # the API only ever returns the latest week (today)
    "wsb_mentions",  # Reddit's listings reach only their ~1000 newest items
    "fda_approvals",  # approvals are rare: most days have none
}


def test_every_quiver_dataset_materialises_with_its_check_and_metadata(defs, instance, settings):
    result = run_alt_data(defs, instance)
    assert result.success
    assert {e.check_name for e in result.get_asset_check_evaluations() if e.passed} == {
        f"{spec.name}_schema" for spec in ALT_DATA
    } | {"search_interest_schema"}
    for spec in (s for s in ALT_DATA if s.name not in EMPTY_ON_A_PAST_DAY):
        frame = stored(settings, spec.name)
        assert len(frame) > 0
        assert set(frame["date"].dt.strftime("%Y-%m-%d")) <= {DAY}
        assert (frame["known_date"] <= frame["date"]).all()
    congress = instance.fetch_materializations(dg.AssetKey("congress_trades"), limit=1).records[0]
    metadata = congress.asset_materialization.metadata
    assert metadata["rows"].value > 0
    assert metadata["median_lag_days"].value >= 0


def test_a_malformed_payload_fails_the_check_and_keeps_the_stored_partition(
    defs, instance, settings, monkeypatch
):
    assert run_alt_data(defs, instance).success
    before = stored(settings, "gov_contracts")
    handler = source_http.SAMPLE_HANDLERS["api.quiverquant.com"]

    def negative_amounts(request: httpx.Request) -> httpx.Response:
        response = handler(request)
        if "govcontractsall" not in request.url.path:
            return response
        rows = response.json()
        for row in rows:
            row["Amount"] = -abs(float(row["Amount"]))
        return httpx.Response(200, json=rows)

    monkeypatch.setitem(source_http.SAMPLE_HANDLERS, "api.quiverquant.com", negative_amounts)
    result = run_alt_data(defs, instance)
    assert not result.success
    [failed] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed.check_name == "gov_contracts_schema"
    assert "amount" in failed.description and "row" in failed.description
    pd.testing.assert_frame_equal(stored(settings, "gov_contracts"), before)
