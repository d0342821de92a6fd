"""The Dagster shell end to end on a temporary warehouse: demo, lineage, blocking checks."""

import dataclasses
import datetime as dt
import json
import shutil

import dagster as dg
import duckdb
import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pas_pipeline.cli import main
from pas_pipeline.config import BrokerKind, Secret
from pas_pipeline.defs import performance
from pas_pipeline.defs.definitions import build_definitions
from pas_pipeline.demo import run_demo
from pas_pipeline.execution.fake_alpaca import TEST_KEY_ID, TEST_SECRET, FakeAlpaca
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import OrderLimits, PlannedOrder
from pas_pipeline.execution.simulated import SimulatedBroker
from pas_pipeline.explain import explain_ticker, render_explanation
from pas_pipeline.sources import http as source_http
from pas_pipeline_tests.pipeline_fixtures import small_settings

REBALANCE_FRIDAY = dt.date(2024, 7, 5)
SPDRS = {"XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY"}


# One demo per module (it backfills a year of every source): tests read its state, and the
# one test that changes it (reconciliation) runs last.
@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return small_settings(tmp_path_factory.mktemp("pipeline") / "pas_home")


@pytest.fixture(scope="module")
def defs(settings):
    return build_definitions(settings)


@pytest.fixture(scope="module")
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture(scope="module")
def demo(defs, instance):
    return run_demo(defs, instance, today=dt.date(2024, 7, 7))


def warehouse_rows(settings, sql, params=()):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def test_definitions_resolve_every_job_schedule_and_sensor(defs):
    assert {job.name for job in defs.resolve_all_job_defs()} >= {
        "rebalance",
        "market_data",
        "execute_orders_job",
    }
    assert defs.resolve_schedule_def("sector_risk_parity_momentum_schedule")
    assert defs.resolve_sensor_def("execute_after_rebalance")


def test_lineage_runs_from_prices_to_orders(defs):
    graph = defs.resolve_asset_graph()
    parents = {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert "prices" in parents["sector_risk_parity_momentum"]
    assert "sector_risk_parity_momentum" in parents["target_weights"]
    assert "covariance" in parents["target_weights"]
    assert parents["orders"] == {"target_weights"}


def test_demo_rebalances_on_the_latest_friday_and_fills_every_order(demo, settings):
    assert demo.as_of == REBALANCE_FRIDAY
    assert demo.due == [
        "sector_risk_parity_momentum",
        "leveraged_sector_momentum",
        "volatility_scaled_momentum",
    ]
    weights = demo.target.set_index("ticker")["weight"]
    assert 0 < weights.sum() <= 1 + 1e-9
    sector = demo.target[demo.target["sleeves"].str.contains("sector_risk_parity_momentum")]
    assert set(sector["ticker"]) <= SPDRS  # the sector sleeve holds only sector ETFs
    held = {t for cell in demo.target["sleeves"] for t in [cell.split(":")[0]]}
    assert len(held) >= 2  # the other sleeves carry the holdings in force
    traded = set(weights[weights >= OrderLimits().no_trade_band].index)  # from all cash
    assert set(demo.orders["symbol"]) == traded
    assert set(demo.orders["status"]) == {"filled"}
    positions = SimulatedBroker(settings.simulated_broker_path).get_positions()
    assert set(positions) == traded


def test_demo_rerun_places_no_order_twice(demo, defs, instance, settings):
    broker = SimulatedBroker(settings.simulated_broker_path)
    before = broker.list_orders()
    again = run_demo(defs, instance, today=dt.date(2024, 7, 7))
    assert again.history_run_id is None  # history already stored
    assert len(broker.list_orders()) == len(before)


def test_the_execution_run_writes_its_order_and_rebalance_metrics(demo, settings):
    [path] = settings.metrics_dir.glob(f"{demo.execution_run_id}-*.prom")
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }
    assert samples["pas_rebalance_seconds_count"] >= 1
    assert samples["pas_orders_submitted_total"] >= len(demo.orders)


def _explained(demo, settings, ticker):
    with Ledger.connect(settings.ledger_path) as ledger:
        return explain_ticker(settings.warehouse_path, ledger, ticker, REBALANCE_FRIDAY)


def test_explain_attributes_a_traded_ticker_to_its_sleeves_and_orders(demo, settings):
    order = demo.orders.iloc[0]
    explanation = _explained(demo, settings, order["symbol"])
    target = demo.target.set_index("ticker")["weight"]
    assert explanation.as_of == REBALANCE_FRIDAY
    assert explanation.weight == pytest.approx(target[order["symbol"]], rel=1e-12)
    assert sum(s.contribution for s in explanation.sleeves) == pytest.approx(
        explanation.weight, abs=1e-6 * len(explanation.sleeves)
    )
    assert all(
        s.rebalance_date <= REBALANCE_FRIDAY and s.sleeve_weight > 0 for s in explanation.sleeves
    )
    assert explanation.orders["client_order_id"].tolist() == [order["client_order_id"]]
    assert explanation.fills["qty"].sum() == pytest.approx(order["qty"], rel=1e-12)


def test_explain_shows_only_source_rows_inside_each_look_back_window(demo, settings):
    for ticker in demo.target["ticker"]:
        for sleeve in _explained(demo, settings, ticker).sleeves:
            for evidence in sleeve.evidence:
                rows = evidence.newest
                assert set(rows.get("ticker", [])) <= {ticker}
                dates = pd.to_datetime(rows.get("date", pd.Series(dtype="datetime64[ns]")))
                assert dates.between(
                    pd.Timestamp(evidence.first_day), pd.Timestamp(evidence.last_day)
                ).all()


def test_explain_says_when_a_ticker_is_not_held(demo, settings):
    explanation = _explained(demo, settings, "ZZZZ")
    assert (explanation.weight, explanation.sleeves, len(explanation.orders)) == (0.0, (), 0)
    assert "not in the target" in render_explanation(explanation)


def test_pas_explain_prints_the_lineage_from_the_cli(demo, settings, monkeypatch, capsys):
    monkeypatch.setenv("PAS_HOME", str(settings.home))
    monkeypatch.delenv("PG_URI", raising=False)
    symbol = demo.orders.iloc[0]["symbol"]
    assert main(["explain", symbol, "--date", REBALANCE_FRIDAY.isoformat()]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{symbol} on {REBALANCE_FRIDAY}: target weight ")
    assert demo.orders.iloc[0]["client_order_id"] in printed


def test_pas_explain_json_carries_the_same_lineage(demo, settings, monkeypatch, capsys):
    monkeypatch.setenv("PAS_HOME", str(settings.home))
    monkeypatch.delenv("PG_URI", raising=False)
    order = demo.orders.iloc[0]
    assert main(["explain", order["symbol"], "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    explanation = _explained(demo, settings, order["symbol"])
    assert document["as_of"] == REBALANCE_FRIDAY.isoformat()
    assert document["weight"] == explanation.weight
    assert [s["strategy"] for s in document["sleeves"]] == [s.strategy for s in explanation.sleeves]
    assert [o["client_order_id"] for o in document["orders"]] == [order["client_order_id"]]


def test_history_backfill_is_one_run_over_the_whole_range(demo, instance):
    run = instance.get_run_by_id(demo.history_run_id)
    assert run.tags["dagster/asset_partition_range_end"] == REBALANCE_FRIDAY.isoformat()
    stored = instance.get_materialized_partitions(dg.AssetKey("prices"))
    assert len(stored) >= 300


def test_target_weights_carry_numeric_metadata(demo, instance):
    record = instance.fetch_materializations(dg.AssetKey("target_weights"), limit=1).records[0]
    metadata = record.asset_materialization.metadata
    assert metadata["positions"].value == len(demo.target)
    assert 0 < metadata["expected_volatility"].value < 1
    assert metadata["gross_exposure"].value == pytest.approx(demo.target["weight"].sum())
    assert metadata["largest_weight"].value == pytest.approx(demo.target["weight"].max())
    sectors = metadata["sector_weights"].value
    assert sum(sectors.values()) == pytest.approx(demo.target["weight"].sum(), abs=1e-5)
    assert metadata["largest_sector_weight"].value == pytest.approx(max(sectors.values()), abs=1e-6)
    assert "Unknown" not in sectors  # every held name has a sector
    scaled = metadata["var_95_before_budget"].value * metadata["var_scale"].value
    assert scaled == pytest.approx(metadata["var_95"].value, rel=1e-9)


def corrupt_yahoo(monkeypatch):
    """Serve sample payloads whose close prices are negative (a malformed source)."""
    handler = source_http.SAMPLE_HANDLERS["query2.finance.yahoo.com"]

    def negative_closes(request: httpx.Request) -> httpx.Response:
        response = handler(request)
        if not request.url.path.startswith("/v8/finance/chart/"):
            return response  # quotes and analyst ratings on the same host stay intact
        payload = response.json()
        quote = payload["chart"]["result"][0]["indicators"]["quote"][0]
        quote["close"] = [-abs(value) for value in quote["close"]]
        return httpx.Response(200, json=payload)

    monkeypatch.setitem(source_http.SAMPLE_HANDLERS, "query2.finance.yahoo.com", negative_closes)


def test_bad_prices_fail_the_blocking_check_and_keep_the_stored_partition(
    demo, defs, instance, settings, monkeypatch
):
    day = REBALANCE_FRIDAY.isoformat()
    before = warehouse_rows(
        settings, "select ticker, close from public.prices where date = ? order by ticker", [day]
    )
    corrupt_yahoo(monkeypatch)
    result = defs.resolve_job_def("rebalance").execute_in_process(
        instance=instance, partition_key=day, raise_on_error=False
    )
    assert not result.success
    checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert checks and checks[0].check_name == "prices_schema"
    assert "close" in checks[0].description
    after = warehouse_rows(
        settings, "select ticker, close from public.prices where date = ? order by ticker", [day]
    )
    assert after == before
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey("prices") not in materialized
    assert dg.AssetKey("target_weights") not in materialized


def test_execution_sensor_requests_one_run_keyed_by_the_rebalance_run(demo, defs, instance):
    run = instance.get_run_by_id(demo.rebalance_run_id)
    success = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS
    ).records[0]
    sensor = defs.resolve_sensor_def("execute_after_rebalance")
    request = sensor(
        dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=success.event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
        )
    )
    assert request.run_key == run.run_id
    assert request.run_config["ops"]["execute_orders"]["config"]["partition_date"] == "2024-07-05"


def test_reconciliation_writes_the_end_of_day_snapshot_that_realised_performance_reads(
    demo, defs, instance, settings
):
    session = {"ops": {"account_positions": {"config": {"session": "2024-07-05"}}}}
    assert (
        defs.resolve_job_def("reconcile")
        .execute_in_process(instance=instance, run_config=session)
        .success
    )
    with Ledger.connect(settings.ledger_path) as ledger:
        positions, cash = ledger.end_of_day_history()
    closes = dict(
        warehouse_rows(
            settings,
            "select ticker, close from public.prices where date = ?",
            [dt.date(2024, 7, 5)],
        )
    )
    assert len(positions) == len(demo.orders) > 0
    for row in positions.itertuples():
        assert row.price == closes[row.symbol]
        assert row.market_value == pytest.approx(row.qty * closes[row.symbol], rel=1e-12)
    equity = float(cash.iloc[0] + positions["market_value"].sum())
    assert equity == pytest.approx(1_000_000.0, rel=1e-9)  # filled at those very closes

    result = dg.materialize(
        [performance.realised_performance],
        instance=instance,
        partition_key="2024-07-08",
        resources=defs.resources,
    )
    frame = result.asset_value("realised_performance")
    assert frame[["sleeve", "days"]].values.tolist()[0] == ["total", 0]
    assert frame["value"].iloc[0] == pytest.approx(equity, rel=1e-12)

    statistics = defs.resolve_job_def("daily_statistics_job").execute_in_process(
        instance=instance, partition_key="2024-07-05"
    )
    metadata = statistics.asset_materializations_for_node("daily_statistics")[0].metadata
    assert metadata["positions"].value == len(positions)
    invested = float(positions["market_value"].sum())
    assert metadata["gross_exposure"].value == pytest.approx(invested / equity, rel=1e-12)
    assert 0 < metadata["var_95"].value <= metadata["cvar_95"].value


def test_reconciliation_passes_after_the_demo_and_catches_a_position_changed_behind_its_back(
    demo, defs, instance, settings
):
    reconcile = defs.resolve_job_def("reconcile")
    assert reconcile.execute_in_process(instance=instance).success
    broker = SimulatedBroker(settings.simulated_broker_path)
    broker.submit_order(
        PlannedOrder(
            client_order_id="manual-XLK-buy",
            rebalance_id="manual",
            symbol="XLK",
            side="buy",
            qty=1.0,
            reference_price=100.0,
            notional=100.0,
            current_weight=0.0,
            target_weight=0.0,
        )
    )
    result = reconcile.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert not check.passed and "XLK" in check.description


def test_the_demo_backfills_each_alt_data_asset_as_deep_as_its_strategies_look():
    from pas_pipeline.demo import alt_data_sessions

    assert alt_data_sessions("wsb_mentions") == 15 + 6  # look-back + a week since Monday
    assert alt_data_sessions("search_interest") == 70 + 24  # monthly: up to 24 sessions old
    assert alt_data_sessions("news_sentiment") == alt_data_sessions("search_interest") + 30
    assert alt_data_sessions("congress_trades") == 260 + 25  # the politician sleeves
    assert alt_data_sessions("dc_insider_scores") == 1 + 6
    assert alt_data_sessions("gov_contracts") == 7 + 260  # what the derived scores read


def test_the_demo_target_trades_through_alpaca_py_against_the_fake_alpaca_server(
    demo, settings, tmp_path
):
    """Same target, other broker: the real alpaca-py client over HTTP to a local fake paper
    account (what ``pas demo --broker fake-alpaca`` does), then a clean reconciliation."""
    home = tmp_path / "pas_home"
    home.mkdir()
    shutil.copy(settings.warehouse_path, home / "warehouse.duckdb")
    closes = dict(
        warehouse_rows(
            settings, "select ticker, close from public.prices where date = ?", [REBALANCE_FRIDAY]
        )
    )
    with FakeAlpaca(cash="1000000", prices={t: repr(c) for t, c in closes.items()}) as fake:
        alpaca = dataclasses.replace(
            small_settings(home),
            broker=BrokerKind.ALPACA,
            alpaca_api_key=Secret(TEST_KEY_ID),
            alpaca_api_secret=Secret(TEST_SECRET),
            alpaca_url_override=fake.base_url,
        )
        defs = build_definitions(alpaca)
        with dg.DagsterInstance.ephemeral() as instance, pytest.MonkeyPatch.context() as env:
            env.setenv("ALPACA_API_KEY", TEST_KEY_ID)
            env.setenv("ALPACA_API_SECRET", TEST_SECRET)
            config = {"partition_date": REBALANCE_FRIDAY.isoformat(), "poll_timeout_seconds": 0}
            assert (
                defs.resolve_job_def("execute_orders_job")
                .execute_in_process(
                    instance=instance, run_config={"ops": {"execute_orders": {"config": config}}}
                )
                .success
            )
            session = {"ops": {"account_positions": {"config": {"session": "2024-07-05"}}}}
            assert (
                defs.resolve_job_def("reconcile")
                .execute_in_process(instance=instance, run_config=session)
                .success
            )
        placed = fake.orders()
    assert len(placed) == len(demo.orders)
    assert {o["status"] for o in placed} == {"filled"}
    assert {o["symbol"] for o in placed} == set(demo.orders["symbol"])
