"""Realised performance from daily position snapshots: hand-worked numbers and the ledger."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import OrderLimits
from pas_pipeline.execution.performance import DAILY_COLUMNS, realised_performance
from pas_pipeline.execution.planning import plan_orders
from pas_pipeline.execution.simulated import SimulatedBroker
from pas_pipeline.execution.submit import execute_plan
from pas_pipeline.risk import sharpe_ratio, sortino_ratio

D1, D2, D3 = pd.Timestamp("2024-07-01"), pd.Timestamp("2024-07-02"), pd.Timestamp("2024-07-03")
EXACT = {"rel": 0, "abs": 1e-12}

# Day 1: AAA 10 sh @ 100, BBB 5 sh @ 200, cash 8,000         -> value 10,000
# Day 2: AAA @ 110, BBB @ 190, cash 8,000                    -> value 10,050, P&L +50
# Day 3: AAA @ 99; BBB sold whole at the close 180 (+900 cash) -> value 9,890, P&L -160
SNAPSHOTS = pd.DataFrame(
    [
        (D1, "AAA", 10.0, 100.0, 1000.0),
        (D1, "BBB", 5.0, 200.0, 1000.0),
        (D2, "AAA", 10.0, 110.0, 1100.0),
        (D2, "BBB", 5.0, 190.0, 950.0),
        (D3, "AAA", 10.0, 99.0, 990.0),
    ],
    columns=["as_of", "symbol", "qty", "price", "market_value"],
)
CASH = pd.Series([8000.0, 8000.0, 8900.0], index=[D1, D2, D3])
CLOSES = pd.DataFrame({"BBB": [200.0, 190.0, 180.0]}, index=[D1, D2, D3])
# Rebalance of day 1: AAA 60 % momentum / 40 % value, BBB all momentum.
# Rebalance of day 2: AAA all value, BBB all momentum (applies to the P&L of day 3).
SLEEVES = pd.DataFrame(
    [
        ("rb-2024-07-01-aaaaaaaaaa", "momentum", "AAA", 0.06),
        ("rb-2024-07-01-aaaaaaaaaa", "momentum", "BBB", 0.05),
        ("rb-2024-07-01-aaaaaaaaaa", "value", "AAA", 0.04),
        ("rb-2024-07-02-bbbbbbbbbb", "momentum", "BBB", 0.05),
        ("rb-2024-07-02-bbbbbbbbbb", "value", "AAA", 0.10),
    ],
    columns=["rebalance_id", "sleeve", "symbol", "weight"],
)


def column(frame: pd.DataFrame, name: str) -> list[float]:
    return frame[name].tolist()


def assert_path(frame: pd.DataFrame, expected: dict[str, list[float]]) -> None:
    for name, values in expected.items():
        got = column(frame, name)
        assert len(got) == len(values), name
        for g, v in zip(got, values, strict=True):
            if isinstance(v, float) and math.isnan(v):
                assert math.isnan(g), name
            else:
                assert g == pytest.approx(v, **EXACT), name


def test_total_by_hand() -> None:
    perf = realised_performance(SNAPSHOTS, CASH, prices=CLOSES)

    assert tuple(perf.daily.columns) == DAILY_COLUMNS
    assert set(perf.daily.sleeve) == {"total"}
    total = perf.sleeve("total")
    assert list(total.index) == [D1, D2, D3]
    r2, r3 = 50 / 10_000, -160 / 10_050
    assert_path(
        total,
        {
            "value": [10_000.0, 10_050.0, 9_890.0],
            "pnl": [math.nan, 50.0, -160.0],
            "return": [math.nan, r2, r3],
            "cumulative_return": [0.0, 0.005, -0.011],  # 9,890 / 10,000 - 1
            "drawdown": [0.0, 0.0, 160 / 10_050],  # 1 - 9,890 / 10,050
        },
    )
    summary = perf.summary["total"]
    assert summary["sharpe"] == pytest.approx(sharpe_ratio(pd.Series([r2, r3])), **EXACT)
    assert summary["sharpe"] == sharpe_ratio(total["return"].dropna())
    assert summary["sortino"] is None  # one losing day: undefined, not NaN
    assert summary["max_drawdown"] == pytest.approx(160 / 10_050, **EXACT)
    assert summary["current_drawdown"] == pytest.approx(160 / 10_050, **EXACT)
    assert summary["cumulative_return"] == pytest.approx(-0.011, **EXACT)
    assert summary["days"] == 2


def test_sleeves_by_hand() -> None:
    perf = realised_performance(SNAPSHOTS, CASH, SLEEVES, prices=CLOSES)

    assert list(dict.fromkeys(perf.daily.sleeve)) == ["total", "momentum", "value"]
    # momentum: day 1 0.6·1,000 + 1,000; day 2 (day-2 book) BBB 950; day 3 nothing held.
    # P&L day 2 (day-1 book): 0.6·(+100) + (-50) = 10; day 3 (day-2 book): BBB 5·(-10) = -50
    momentum = perf.sleeve("momentum")
    assert_path(
        momentum,
        {
            "value": [1_600.0, 950.0, 0.0],
            "pnl": [math.nan, 10.0, -50.0],
            "return": [math.nan, 10 / 1_600, -50 / 950],
            "cumulative_return": [0.0, 0.00625, 1.00625 * 900 / 950 - 1],
            "drawdown": [0.0, 0.0, 50 / 950],
        },
    )
    # value: day 1 0.4·1,000; day 2 AAA 1,100; day 3 AAA 990.
    # P&L day 2: 0.4·(+100) = 40; day 3: AAA 10·(-11) = -110
    value = perf.sleeve("value")
    assert_path(
        value,
        {
            "value": [400.0, 1_100.0, 990.0],
            "pnl": [math.nan, 40.0, -110.0],
            "return": [math.nan, 0.1, -0.1],
            "cumulative_return": [0.0, 0.1, -0.01],
            "drawdown": [0.0, 0.0, 0.1],
        },
    )
    # fills at the snapshot prices and no flows: the sleeves' P&L adds up to the total's
    total = perf.sleeve("total")
    assert (momentum.pnl + value.pnl).iloc[1:].tolist() == pytest.approx(
        total.pnl.iloc[1:].tolist(), **EXACT
    )
    assert perf.summary["value"]["sharpe"] == pytest.approx(
        sharpe_ratio(pd.Series([0.1, -0.1])), **EXACT
    )
    assert perf.summary["value"]["max_drawdown"] == pytest.approx(0.1, **EXACT)
    assert perf.summary["momentum"]["days"] == 2


def test_symbols_outside_every_book_are_unattributed() -> None:
    books = (
        SLEEVES[SLEEVES.symbol == "AAA"]
        .assign(as_of=lambda f: f.rebalance_id.str[3:13])
        .drop(columns="rebalance_id")
    )

    perf = realised_performance(SNAPSHOTS, CASH, books, prices=CLOSES)

    unattributed = perf.sleeve("unattributed")
    assert_path(unattributed, {"value": [1_000.0, 950.0, 0.0], "pnl": [math.nan, -50.0, -50.0]})


def test_without_cash_pnl_is_the_holdings_pnl_and_buying_is_not_a_gain() -> None:
    # day 2 buys 10 more AAA at the close of 110: market value doubles, P&L is the move only
    snaps = pd.DataFrame(
        [
            (D1, "AAA", 10.0, 100.0, 1000.0),
            (D2, "AAA", 20.0, 110.0, 2200.0),
            (D3, "AAA", 20.0, 99.0, 1980.0),
        ],
        columns=["as_of", "symbol", "qty", "price", "market_value"],
    )
    total = realised_performance(snaps).sleeve("total")
    assert_path(
        total,
        {
            "value": [1_000.0, 2_200.0, 1_980.0],
            "pnl": [math.nan, 100.0, -220.0],
            "return": [math.nan, 0.1, -0.1],
        },
    )


def test_flows_are_not_pnl() -> None:
    cash = CASH + pd.Series([0.0, 500.0, 500.0], index=CASH.index)  # deposit on day 2
    flows = pd.Series({D2: 500.0})
    total = realised_performance(SNAPSHOTS, cash, prices=CLOSES, flows=flows).sleeve("total")
    assert_path(
        total,
        {
            "value": [10_000.0, 10_550.0, 10_390.0],
            "pnl": [math.nan, 50.0, -160.0],
            "return": [math.nan, 0.005, -160 / 10_550],
        },
    )


def test_sortino_matches_the_risk_module() -> None:
    closes = [100.0, 102.0, 100.98, 103.0, 101.0, 101.5, 99.0]
    days = pd.bdate_range("2024-07-01", periods=len(closes))
    snaps = pd.DataFrame(
        {
            "as_of": days,
            "symbol": "AAA",
            "qty": 3.0,
            "price": closes,
            "market_value": [3.0 * c for c in closes],
        }
    )
    perf = realised_performance(snaps, risk_free=0.0001, periods_per_year=252)
    returns = pd.Series(closes).pct_change().dropna()
    assert perf.summary["total"]["sortino"] == pytest.approx(
        sortino_ratio(returns, risk_free=0.0001), rel=1e-12
    )
    assert perf.summary["total"]["sharpe"] == pytest.approx(
        sharpe_ratio(returns, risk_free=0.0001), rel=1e-12
    )
    assert perf.summary["total"]["max_drawdown"] == pytest.approx(1 - 99.0 / 103.0, rel=1e-12)


def test_missing_inputs_are_named() -> None:
    with pytest.raises(ValueError, match=r"no price for BBB on 2024-07-03"):
        realised_performance(SNAPSHOTS, CASH, SLEEVES)
    with pytest.raises(ValueError, match="cash has no value on snapshot date 2024-07-02"):
        realised_performance(SNAPSHOTS, CASH.drop(D2))
    with pytest.raises(ValueError, match="flows need cash"):
        realised_performance(SNAPSHOTS, flows=pd.Series({D2: 1.0}), prices=CLOSES)
    with pytest.raises(ValueError, match="repeat AAA"):
        realised_performance(pd.concat([SNAPSHOTS, SNAPSHOTS.iloc[[0]]]), CASH)
    with pytest.raises(ValueError, match="'total'"):
        realised_performance(SNAPSHOTS, CASH, SLEEVES.replace("value", "total"), prices=CLOSES)


def test_from_the_ledger_snapshots_of_a_simulated_account(tmp_path: Path) -> None:
    """Trade with execute_plan, snapshot each close in the ledger, and measure it back."""
    broker = SimulatedBroker(tmp_path / "broker.duckdb", initial_cash=100_000.0)
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    closes = pd.DataFrame(
        {"AAPL": [200.0, 210.0, 205.0], "XOM": [100.0, 95.0, 97.0]}, index=[D1, D2, D3]
    )
    targets = {D1: {"AAPL": 0.30, "XOM": 0.20}, D3: {"AAPL": 0.40}}  # day 3 exits XOM
    equity: dict[pd.Timestamp, float] = {}
    cash: dict[pd.Timestamp, float] = {}
    frames = []
    for day, row in closes.iterrows():
        broker.mark_to_market(row.to_dict())
        if day in targets:
            rid = f"rb-{day.date()}-0123456789"
            plan = plan_orders(
                pd.Series(targets[day]),
                broker.get_positions(),
                row,
                broker.get_account().equity,
                OrderLimits(),
                rid,
            )
            assert execute_plan(plan, broker, ledger).ok
            ledger.record_sleeve_books(rid, {"core": targets[day]})
        as_of = datetime(day.year, day.month, day.day, tzinfo=UTC)
        ledger.snapshot_positions(as_of, broker.get_positions(), "broker", prices=row.to_dict())
        frames.append(ledger.position_snapshot(as_of, "broker").assign(as_of=as_of))
        account = broker.get_account()
        equity[day], cash[day] = account.equity, account.cash
    books = pd.concat(
        [
            ledger.sleeve_books_for(f"rb-{d.date()}-0123456789").assign(
                rebalance_id=f"rb-{d.date()}-0123456789"
            )
            for d in targets
        ]
    )

    perf = realised_performance(pd.concat(frames), pd.Series(cash), books, prices=closes)

    total = perf.sleeve("total")
    assert total.value.tolist() == pytest.approx(list(equity.values()), **EXACT)
    # day 1 holds AAPL 150, XOM 200 -> day 2: 150·10 - 200·5 = +500; day 3: -750 + 400
    assert_path(
        total,
        {"pnl": [math.nan, 500.0, -350.0], "return": [math.nan, 500 / 100_000, -350 / 100_500]},
    )
    core = perf.sleeve("core")
    assert core.pnl.iloc[1:].tolist() == pytest.approx(total.pnl.iloc[1:].tolist(), **EXACT)
    assert not np.isnan(perf.summary["total"]["sharpe"])
