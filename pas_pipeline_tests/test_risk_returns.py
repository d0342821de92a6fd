"""daily_returns: hand-worked values, missing prices, shapes and errors."""

import numpy as np
import pandas as pd
import pytest

from pas_pipeline.risk import daily_returns


def test_simple_returns_by_hand() -> None:
    dates = pd.date_range("2024-01-01", periods=3, freq="B")
    prices = pd.DataFrame({"AAA": [100.0, 110.0, 99.0], "BBB": [50.0, 50.0, 55.0]}, index=dates)
    rets = daily_returns(prices)
    # 110/100 - 1 = 0.10, 99/110 - 1 = -0.10; 50/50 - 1 = 0, 55/50 - 1 = 0.10
    expected = pd.DataFrame({"AAA": [0.10, -0.10], "BBB": [0.0, 0.10]}, index=dates[1:])
    pd.testing.assert_frame_equal(rets, expected, rtol=1e-15)  # tolerance: rounding only


def test_missing_price_gives_nan_on_both_adjacent_days() -> None:
    prices = pd.DataFrame({"AAA": [1.0, np.nan, 1.2, 1.32], "BBB": [2.0, 2.2, 2.2, 2.42]})
    rets = daily_returns(prices)
    assert rets["AAA"].isna().tolist() == [True, True, False]
    assert rets["AAA"].iloc[2] == pytest.approx(0.1, rel=1e-14)  # 1.32/1.2 - 1
    assert not rets["BBB"].isna().any()


def test_numpy_and_series_round_trip() -> None:
    values = np.array([[1.0, 2.0], [2.0, 1.0]])
    np.testing.assert_allclose(daily_returns(values), [[1.0, -0.5]], rtol=1e-15)
    series = pd.Series([4.0, 5.0], index=["d1", "d2"], name="X")
    out = daily_returns(series)
    assert isinstance(out, pd.Series) and out.name == "X" and list(out.index) == ["d2"]
    assert out.iloc[0] == pytest.approx(0.25, rel=1e-15)


@pytest.mark.parametrize(
    "prices",
    [
        pd.DataFrame({"A": [1.0, 0.0]}),
        pd.DataFrame({"A": [1.0, -2.0]}),
        pd.DataFrame({"A": [1.0, np.inf]}),
        pd.DataFrame({"A": [1.0, 2.0]}, index=[2, 1]),
        pd.DataFrame({"A": [1.0, 2.0]}, index=[1, 1]),
    ],
)
def test_invalid_prices_raise(prices: pd.DataFrame) -> None:
    with pytest.raises(ValueError):
        daily_returns(prices)
