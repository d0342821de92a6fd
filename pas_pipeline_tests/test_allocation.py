"""The allocation flow's steps against PyPortfolioOpt and hand-worked numbers."""

import numpy as np
import pandas as pd
import pytest
from pypfopt.black_litterman import BlackLittermanModel, market_implied_prior_returns

from pas_pipeline.portfolio import allocation as alloc
from pas_pipeline.portfolio.combine import CASH
from pas_pipeline.risk import historical_var, risk_contributions

NAMES = ["AAA", "BBB", "CCC", "DDD"]
VOLS = np.array([0.15, 0.20, 0.25, 0.30])
CORR = np.array(
    [[1.0, 0.5, 0.3, 0.2], [0.5, 1.0, 0.4, 0.3], [0.3, 0.4, 1.0, 0.5], [0.2, 0.3, 0.5, 1.0]]
)
COV = pd.DataFrame(np.outer(VOLS, VOLS) * CORR, index=NAMES, columns=NAMES)
CAPS = pd.Series([400.0, 300.0, 200.0, 100.0], index=NAMES)


def held(rows):
    return pd.DataFrame(rows, columns=["strategy", "ticker", "weight"]).assign(
        date=pd.Timestamp("2024-07-05"), rebalance_date=pd.Timestamp("2024-07-05"), score=1.0
    )


def test_invested_fraction_keeps_each_sleeves_cash():
    rows = held([("a", "AAA", 0.5), ("a", CASH, 0.5), ("b", "BBB", 1.0), ("b", CASH, 0.0)])
    assert alloc.invested_fraction(rows, {"a": 0.5, "b": 0.5}) == pytest.approx(0.75)


def test_equilibrium_falls_back_to_equal_weights_without_market_caps():
    weights = alloc.market_weights(["AAA", "XLK"], CAPS)
    assert weights.to_dict() == {"AAA": 0.5, "XLK": 0.5}


def test_posterior_matches_pyportfolioopt_with_one_absolute_view_per_holding():
    settings = alloc.AllocationSettings()
    rows = held([("a", "AAA", 0.5), ("a", "CCC", 0.5), ("b", "CCC", 1.0)])
    ours = alloc.bl_posterior(rows, COV, CAPS, settings).set_index("ticker")
    candidates = ["AAA", "CCC"]
    sigma = COV.loc[candidates, candidates]
    pi = market_implied_prior_returns(CAPS[candidates], settings.risk_aversion, sigma, 0.0)
    pick = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    views = pick @ pi.to_numpy() + settings.view_excess_return
    model = BlackLittermanModel(sigma, pi=pi, P=pick, Q=views, tau=settings.tau)
    expected = model.bl_returns()
    assert ours["pi"].to_numpy() == pytest.approx(pi.to_numpy(), rel=1e-12)
    assert ours["mu"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-10)


def test_without_view_tilt_min_max_recovers_the_market_portfolio():
    settings = alloc.AllocationSettings(view_excess_return=0.0, max_position_weight=1.0)
    rows = held([("a", name, 0.25) for name in NAMES])
    posterior = alloc.bl_posterior(rows, COV, CAPS, settings)
    weights = alloc.min_max_stage(posterior, COV, delta=0.0, invested=1.0, settings=settings)
    assert weights.to_numpy() == pytest.approx((CAPS / CAPS.sum()).to_numpy(), abs=1e-9)


def test_risk_parity_pass_makes_risk_contributions_proportional_to_min_max_weights():
    settings = alloc.AllocationSettings(max_position_weight=1.0)
    stage = pd.Series([0.4, 0.3, 0.2, 0.1], index=NAMES)
    weights = alloc.risk_parity_pass(stage, COV, invested=0.8, settings=settings)
    assert weights.sum() == pytest.approx(0.8, abs=1e-12)
    rc = risk_contributions(weights, COV)
    assert (rc / rc.sum()).to_numpy() == pytest.approx(stage.to_numpy(), rel=1e-9)


def test_capping_spreads_the_excess_pro_rata():
    capped = alloc.cap_weights(pd.Series([0.6, 0.3, 0.1], index=["A", "B", "C"]), 0.4)
    # excess 0.2 goes 3:1 to B and C: B = 0.45 > 0.4 is capped again, its 0.05 goes to C
    assert capped.to_dict() == pytest.approx({"A": 0.4, "B": 0.4, "C": 0.2}, abs=1e-15)


def test_var_budget_scales_the_book_so_its_var_equals_the_limit():
    rng = np.random.default_rng(5)
    daily = pd.DataFrame(rng.standard_t(4, size=(252, 4)) * 0.02, columns=NAMES)
    weights = pd.Series(0.25, index=NAMES)
    settings = alloc.AllocationSettings(var_limit=0.01)
    budget = alloc.var_budget(weights, daily, settings)
    assert budget.var_before == pytest.approx(-np.quantile(daily.to_numpy() @ weights, 0.05))
    assert budget.scale == pytest.approx(0.01 / budget.var_before)
    assert historical_var(daily, 0.95, weights=budget.weights) == pytest.approx(0.01, rel=1e-12)


def test_var_budget_leaves_a_book_within_the_limit_alone():
    daily = pd.DataFrame({"AAA": [0.001, -0.002, 0.003, -0.001]})
    budget = alloc.var_budget(pd.Series({"AAA": 0.5}), daily, alloc.AllocationSettings())
    assert budget.scale == 1.0


def test_turnover_is_half_the_absolute_change_against_the_latest_earlier_target():
    previous = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-07-01", "2024-07-03", "2024-07-03"]),
            "ticker": ["AAA", "AAA", "BBB"],
            "weight": [0.9, 0.5, 0.5],
        }
    )
    now = pd.Series({"AAA": 0.3, "CCC": 0.6})
    # |0.3-0.5| + |0-0.5| + |0.6-0| = 1.3 -> 0.65
    assert alloc.turnover(now, previous) == pytest.approx(0.65)


def test_attribution_splits_each_final_weight_by_sleeve_contribution():
    combined = pd.DataFrame(
        {"ticker": ["AAA"], "weight": [0.4], "sleeves": ["a:0.300000;b:0.100000"]}
    )
    labels = alloc.attribute(pd.Series({"AAA": 0.2}), combined)
    assert labels["AAA"] == "a:0.150000;b:0.050000"


def test_each_sleeve_view_carries_its_own_excess_return_and_confidence() -> None:
    held = pd.DataFrame(
        {
            "strategy": ["momentum", "congress", "congress"],
            "ticker": ["AAA", "AAA", CASH],
            "weight": [1.0, 0.5, 0.5],
            "view_excess_return": [0.02, 0.05, np.nan],
            "view_confidence": [0.5, 0.8, np.nan],
        }
    )
    sigma = pd.DataFrame([[0.04]], index=["AAA"], columns=["AAA"])
    pi = pd.Series({"AAA": 0.03})
    pick, views, omega = alloc.view_matrix(held, ["AAA"], pi, 0.02, sigma, tau=0.05)
    assert pick.to_numpy().tolist() == [[1.0], [1.0]]
    assert views.to_list() == pytest.approx([0.05, 0.08], abs=1e-15)
    # tau sigma^2 (1 - c) / c: 0.05 * 0.04 * 1 and 0.05 * 0.04 * 0.25
    assert omega.to_list() == pytest.approx([0.002, 0.0005], abs=1e-15)


def test_the_stored_sleeve_states_its_views() -> None:
    from pas_pipeline.calendar import RebalanceRule
    from pas_pipeline.strategies.registry import StrategySpec
    from pas_pipeline.strategies.run import sleeve_frame
    from pas_pipeline.strategies.sleeve import Sleeve

    spec = StrategySpec(
        "demo",
        "Demo",
        (),
        RebalanceRule.WEEKLY_MONDAY,
        2,
        1,
        lambda *a: None,
        "equal",
        params={"view_confidence": 0.7},
    )
    day = pd.Timestamp("2024-06-03")
    holdings = pd.DataFrame({"ticker": ["AAA"], "score": [1.0], "weight": [0.5]})
    frame = sleeve_frame(spec, Sleeve(day, holdings), day)
    assert frame[["ticker", "view_excess_return", "view_confidence"]].fillna(
        -1
    ).values.tolist() == [["AAA", 0.02, 0.7], [CASH, -1.0, -1.0]]


def test_sector_weights_sum_by_sector_largest_first_and_name_the_unmapped() -> None:
    weights = pd.Series({"AAPL": 0.2, "MSFT": 0.15, "XOM": 0.1, "XLK": 0.05, "NEW": 0.01})
    sectors = {
        "AAPL": "Information Technology",
        "MSFT": "Information Technology",
        "XLK": "Information Technology",
        "XOM": "Energy",
    }
    by_sector = alloc.sector_weights(weights, sectors)
    assert by_sector.round(12).to_dict() == {
        "Information Technology": 0.4,
        "Energy": 0.1,
        "Unknown": 0.01,
    }
    assert list(by_sector.index) == ["Information Technology", "Energy", "Unknown"]
