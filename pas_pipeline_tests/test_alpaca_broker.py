"""AlpacaBroker: the real alpaca-py client over HTTP against a local fake Alpaca server.

Nothing in the client is mocked: requests go through alpaca-py's ``TradingClient`` and
``requests`` to :mod:`pas_pipeline.execution.fake_alpaca`. alpaca-py's own retry wait is set to
0 s and the HTTP timeout to 0.25 s, so the suite has no long sleeps.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import GetCalendarRequest

from pas_pipeline.config import LIVE_BASE_URL, PAPER_BASE_URL, Settings
from pas_pipeline.execution.alpaca import (
    AlpacaBroker,
    AlpacaConfigError,
    LiveTradingNotAllowedError,
)
from pas_pipeline.execution.broker import (
    Broker,
    BrokerError,
    DuplicateClientOrderIdError,
    OrderOutcomeUnknownError,
)
from pas_pipeline.execution.fake_alpaca import TEST_KEY_ID, TEST_SECRET, FakeAlpaca, Fault
from pas_pipeline.execution.ids import client_order_id_prefix
from pas_pipeline.execution.ledger import Ledger
from pas_pipeline.execution.model import Account, PlannedOrder, Position
from pas_pipeline.execution.submit import execute_plan
from pas_pipeline_tests.orders import planned_order

CLIENT_TIMEOUT = 0.25
SLOW = 0.5  # a slow response: longer than CLIENT_TIMEOUT
MAX_RETRIES = 3  # alpaca-py's default number of 429/504 retries
RID = "rb-2024-07-08-0123456789"
LIVE_KEY = "AKLIVEKEY00000000001"
ORDERS = "/v2/orders"
LOOKUP = "/v2/orders:by_client_order_id"


def make_broker(fake: FakeAlpaca, **kwargs: object) -> AlpacaBroker:
    options: dict[str, object] = {"timeout": CLIENT_TIMEOUT, "retry_wait_seconds": 0}
    options.update(kwargs)
    return AlpacaBroker(TEST_KEY_ID, TEST_SECRET, fake.base_url, **options)  # type: ignore[arg-type]


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    """USD 10,000 cash, 10 AAA held; fills at AAA 50, BBB 20, CCC 10."""
    with FakeAlpaca(
        cash="10000", prices={"AAA": "50", "BBB": "20", "CCC": "10"}, positions={"AAA": "10"}
    ) as server:
        yield server


@pytest.fixture
def broker(fake: FakeAlpaca) -> AlpacaBroker:
    return make_broker(fake)


def planned(symbol: str, side: str, qty: float, price: float) -> PlannedOrder:
    return planned_order(RID, symbol, side, qty, price)


# -- mapping -------------------------------------------------------------------------------


def test_is_a_broker_and_paper(broker: AlpacaBroker) -> None:
    assert isinstance(broker, Broker)
    assert broker.is_paper


def test_account_and_positions_mapping(broker: AlpacaBroker) -> None:
    # equity = cash 10,000 + 10 AAA × 50 = 10,500
    assert broker.get_account() == Account(equity=10_500.0, cash=10_000.0)
    assert broker.get_positions() == {
        "AAA": Position(symbol="AAA", qty=10.0, avg_entry_price=50.0, market_value=500.0)
    }


def test_submit_fills_at_once_and_updates_the_account(
    fake: FakeAlpaca, broker: AlpacaBroker
) -> None:
    order = planned("BBB", "buy", 2.5, 20.0)
    placed = broker.submit_order(order)
    assert (placed.client_order_id, placed.symbol, placed.side) == (
        order.client_order_id,
        "BBB",
        "buy",
    )
    assert (placed.qty, placed.status, placed.filled_qty, placed.filled_avg_price) == (
        2.5,
        "filled",
        2.5,
        20.0,
    )
    assert placed.is_filled and placed.filled_at is not None
    assert placed.submitted_at.tzinfo is not None
    assert fake.cash == Decimal("9950")  # 10,000 − 2.5 × 20
    assert broker.get_positions()["BBB"].qty == 2.5
    assert broker.get_order_by_client_id(order.client_order_id) == placed
    sent = fake.orders()[0]
    assert (sent["type"], sent["time_in_force"], sent["qty"]) == ("market", "day", "2.5")


def test_qty_is_sent_rounded_to_nine_decimals(fake: FakeAlpaca, broker: AlpacaBroker) -> None:
    placed = broker.submit_order(planned("CCC", "buy", 1 / 3, 10.0))
    assert fake.orders()[0]["qty"] == "0.333333333"
    assert placed.qty == 0.333333333


def test_duplicate_client_order_id(fake: FakeAlpaca, broker: AlpacaBroker) -> None:
    order = planned("BBB", "buy", 1.0, 20.0)
    broker.submit_order(order)
    with pytest.raises(DuplicateClientOrderIdError) as caught:
        broker.submit_order(order)
    assert caught.value.client_order_id == order.client_order_id
    assert len(fake.orders()) == 1
    assert fake.cash == Decimal("9980")  # charged once


def test_unknown_order_is_none_but_a_failed_lookup_raises(
    fake: FakeAlpaca, broker: AlpacaBroker
) -> None:
    assert broker.get_order_by_client_id("pas-000000000000-ZZZ-buy") is None
    fake.inject(Fault.http_error(500), path=LOOKUP)
    with pytest.raises(BrokerError, match="HTTP 500"):
        broker.get_order_by_client_id("pas-000000000000-ZZZ-buy")


def test_real_rejections_are_broker_errors(fake: FakeAlpaca, broker: AlpacaBroker) -> None:
    with pytest.raises(BrokerError, match="insufficient buying power") as caught:
        broker.submit_order(planned("BBB", "buy", 1000.0, 20.0))  # 20,000 > cash 10,000
    assert type(caught.value) is BrokerError
    with pytest.raises(BrokerError, match="insufficient qty available") as caught:
        broker.submit_order(planned("AAA", "sell", 11.0, 50.0))  # holds 10
    assert type(caught.value) is BrokerError
    assert fake.orders() == [] and fake.cash == Decimal("10000")


def test_list_orders_filters_by_prefix(fake: FakeAlpaca, broker: AlpacaBroker) -> None:
    mine = [planned("BBB", "buy", 1.0, 20.0), planned("CCC", "buy", 2.0, 10.0)]
    for order in mine:
        broker.submit_order(order)
    other = PlannedOrder("manual-1", "x", "AAA", "sell", 1.0, 50.0, 50.0, 0.0, 0.0)
    broker.submit_order(other)
    listed = broker.list_orders(client_order_id_prefix(RID))
    assert [o.client_order_id for o in listed] == [o.client_order_id for o in mine]
    assert len(broker.list_orders()) == 3


def test_list_orders_pages_through_equal_timestamps() -> None:
    base = datetime(2024, 7, 8, 14, 0, tzinfo=UTC)
    stamps = iter([base, base, base + timedelta(seconds=1), base + timedelta(seconds=1)])
    times = [*stamps, base + timedelta(seconds=2)]
    calls = iter(times)
    with FakeAlpaca(cash="1000", prices={"BBB": "1"}, clock=lambda: next(calls)) as fake:
        broker = make_broker(fake, page_size=2)
        ids = [f"pas-x-{i}" for i in range(5)]
        for cid in ids:
            broker.submit_order(PlannedOrder(cid, "x", "BBB", "buy", 1.0, 1.0, 1.0, 0.0, 0.0))
        listed = broker.list_orders("pas-x-")
    assert sorted(o.client_order_id for o in listed) == ids
    assert len({o.broker_order_id for o in listed}) == 5


def test_clock(fake: FakeAlpaca, broker: AlpacaBroker) -> None:
    is_open, next_open, next_close = broker.clock()
    assert is_open is True and next_open.tzinfo is not None and next_close.tzinfo is not None
    fake.market_open = False
    assert broker.clock().is_open is False


def test_fake_speaks_alpaca_py_models(fake: FakeAlpaca) -> None:
    """Endpoints the broker does not use still parse with alpaca-py's pydantic models."""
    client = TradingClient(TEST_KEY_ID, TEST_SECRET, url_override=fake.base_url)
    days = client.get_calendar(GetCalendarRequest(start="2024-07-03", end="2024-07-08"))
    assert [d.date.isoformat() for d in days] == [
        "2024-07-03",
        "2024-07-04",
        "2024-07-05",
        "2024-07-08",
    ]  # the fake knows no holidays unless told
    fake.auto_fill = False
    broker = make_broker(fake)
    placed = broker.submit_order(planned("BBB", "buy", 1.0, 20.0))
    assert placed.status == "accepted" and placed.filled_avg_price is None
    assert client.get_order_by_id(placed.broker_order_id).status == "accepted"
    client.cancel_order_by_id(placed.broker_order_id)
    assert broker.get_order_by_client_id(placed.client_order_id).status == "canceled"


# -- safety: paper / live / keys / secrets ---------------------------------------------------


def test_live_url_is_refused_without_opt_in() -> None:
    with pytest.raises(LiveTradingNotAllowedError, match="PAS_ALLOW_LIVE_TRADING"):
        AlpacaBroker(LIVE_KEY, TEST_SECRET, LIVE_BASE_URL)
    with pytest.raises(LiveTradingNotAllowedError):
        AlpacaBroker(LIVE_KEY, TEST_SECRET, "https://API.alpaca.markets./v2/")
    with pytest.raises(LiveTradingNotAllowedError):  # an override that says it is live
        AlpacaBroker(LIVE_KEY, TEST_SECRET, "http://127.0.0.1:1", live=True)
    env = {"ALPACA_API_KEY": LIVE_KEY, "ALPACA_API_SECRET": TEST_SECRET}
    env["ALPACA_BASE_URL"] = LIVE_BASE_URL
    with pytest.raises(LiveTradingNotAllowedError):
        AlpacaBroker.from_settings(Settings.from_env(env))
    env["PAS_ALLOW_LIVE_TRADING"] = "false"
    with pytest.raises(LiveTradingNotAllowedError):
        AlpacaBroker.from_settings(Settings.from_env(env))


def test_live_url_with_opt_in_constructs_a_live_broker() -> None:
    broker = AlpacaBroker(LIVE_KEY, TEST_SECRET, LIVE_BASE_URL, allow_live=True)
    assert broker.is_paper is False
    env = {
        "ALPACA_API_KEY": LIVE_KEY,
        "ALPACA_API_SECRET": TEST_SECRET,
        "ALPACA_BASE_URL": LIVE_BASE_URL,
        "PAS_ALLOW_LIVE_TRADING": "true",
    }
    assert AlpacaBroker.from_settings(Settings.from_env(env)).is_paper is False


def test_paper_url_and_overrides_are_paper(fake: FakeAlpaca) -> None:
    assert AlpacaBroker(TEST_KEY_ID, TEST_SECRET, PAPER_BASE_URL).is_paper
    env = {"ALPACA_API_KEY": TEST_KEY_ID, "ALPACA_API_SECRET": TEST_SECRET}
    settings = Settings.from_env(env)
    assert AlpacaBroker.from_settings(settings).is_paper
    assert AlpacaBroker.from_settings(settings, url_override=fake.base_url).is_paper
    with pytest.raises(AlpacaConfigError, match="live=False"):
        AlpacaBroker(LIVE_KEY, TEST_SECRET, LIVE_BASE_URL, allow_live=True, live=False)


def test_key_and_url_mismatch_is_refused(fake: FakeAlpaca) -> None:
    with pytest.raises(AlpacaConfigError, match="mismatch"):
        AlpacaBroker(LIVE_KEY, TEST_SECRET, PAPER_BASE_URL)
    with pytest.raises(AlpacaConfigError, match="mismatch"):
        AlpacaBroker(LIVE_KEY, TEST_SECRET, fake.base_url)  # an override counts as paper
    with pytest.raises(AlpacaConfigError, match="mismatch"):
        AlpacaBroker(TEST_KEY_ID, TEST_SECRET, LIVE_BASE_URL, allow_live=True)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(AlpacaConfigError, match="must be set"):
        AlpacaBroker.from_settings(Settings.from_env({}))
    env = {"ALPACA_API_KEY": TEST_KEY_ID, "ALPACA_API_SECRET": TEST_SECRET}
    with pytest.raises(AlpacaConfigError, match="ALPACA_BASE_URL must be"):
        AlpacaBroker.from_settings(Settings.from_env({**env, "ALPACA_BASE_URL": "https://x.io"}))
    with pytest.raises(AlpacaConfigError, match="https"):
        AlpacaBroker(TEST_KEY_ID, TEST_SECRET, "http://paper-api.alpaca.markets")
    with pytest.raises(AlpacaConfigError, match="no path"):
        AlpacaBroker(TEST_KEY_ID, TEST_SECRET, "https://paper-api.alpaca.markets/v1")
    with pytest.raises(AlpacaConfigError, match="required"):
        AlpacaBroker(TEST_KEY_ID, "", PAPER_BASE_URL)
    broker = AlpacaBroker(TEST_KEY_ID, TEST_SECRET, "https://paper-api.alpaca.markets/v2/")
    assert broker.base_url == PAPER_BASE_URL


def _texts(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


def test_no_secret_in_repr_errors_or_logs(
    fake: FakeAlpaca, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = make_broker(fake)
    texts = [repr(broker), str(broker)]

    def capture(call: object) -> None:
        try:
            call()  # type: ignore[operator]
        except Exception as exc:
            texts.append(_texts(exc))
        else:
            raise AssertionError("expected an error")

    order = planned("BBB", "buy", 1.0, 20.0)
    broker.submit_order(order)
    capture(lambda: broker.submit_order(order))  # duplicate
    capture(lambda: broker.submit_order(planned("CCC", "buy", 10_000.0, 10.0)))  # 403
    echo = {"code": 50000000, "message": f"bad headers {TEST_KEY_ID} {TEST_SECRET}"}
    fake.inject(Fault("status", 500, echo), path=ORDERS)
    capture(lambda: broker.submit_order(planned("AAA", "sell", 1.0, 50.0)))  # echoed secret
    fake.inject(Fault.drop_after_accept(), path=ORDERS)
    capture(lambda: broker.submit_order(planned("AAA", "sell", 2.0, 50.0)))
    fake.inject(Fault.slow(SLOW), path="/v2/account")
    capture(broker.get_account)
    wrong = AlpacaBroker(TEST_KEY_ID, "another-secret-value-123", fake.base_url, timeout=1)
    capture(wrong.get_account)  # 401
    capture(lambda: AlpacaBroker(LIVE_KEY, TEST_SECRET, LIVE_BASE_URL))
    capture(lambda: AlpacaBroker(LIVE_KEY, TEST_SECRET, PAPER_BASE_URL))
    capture(lambda: AlpacaBroker(TEST_KEY_ID, TEST_SECRET, "http://paper-api.alpaca.markets"))
    fake.wait_idle()
    joined = "\n".join([*texts, caplog.text])
    assert "HTTP 401" in joined and "HTTP 500" in joined and "bad headers" in joined
    for secret in (TEST_SECRET, TEST_KEY_ID, LIVE_KEY, "another-secret-value-123"):
        assert secret not in joined


# -- fault injection through execute_plan ----------------------------------------------------

# Execution order (sells first): k=0 sells 4 AAA, k=1 buys 3 BBB, k=2 buys 5 CCC.
PLAN = [
    planned("AAA", "sell", 4.0, 50.0),
    planned("BBB", "buy", 3.0, 20.0),
    planned("CCC", "buy", 5.0, 10.0),
]
# 10,000 + 4 × 50 − 3 × 20 − 5 × 10
FINAL_CASH = Decimal("10090")
FINAL_POSITIONS = {"AAA": Decimal(6), "BBB": Decimal(3), "CCC": Decimal(5)}

# name → (fault, consecutive firings, first-run outcome of order k, failure text of order k)
#   "submitted":       the fault is absorbed in the first run and order k counts as submitted;
#   "already_present": absorbed, but order k is found via the duplicate-id answer;
#   "failed":          order k fails in the first run (nothing at the broker yet);
#   "late":            order k fails, but the broker creates it after the client gave up.
SUBMIT_FAULTS = {
    "500": (Fault.http_error(500), 1, "failed", "unknown outcome: HTTP 500"),
    "500-after-processing": (Fault.http_error(500, process=True), 1, "submitted", None),
    "504-after-processing": (Fault.http_error(504, process=True), 1, "already_present", None),
    "429-transient": (Fault.rate_limited(), 1, "submitted", None),
    "429-persistent": (Fault.rate_limited(), MAX_RETRIES + 1, "failed", "rate limit exceeded"),
    "timeout-after-processing": (Fault.slow(SLOW, process=True), 1, "submitted", None),
    "timeout-before-processing": (Fault.slow(SLOW, process=False), 1, "late", "ReadTimeout"),
    "dropped-after-accept": (Fault.drop_after_accept(), 1, "submitted", None),
    "dropped-before-accept": (Fault.drop_before_accept(), 1, "failed", "Connection aborted"),
    "403": (Fault.insufficient_buying_power(), 1, "failed", "insufficient buying power"),
}


def _ledger_orders(ledger: Ledger) -> set[tuple]:
    frame = ledger.orders_for(RID)
    return {
        (r.client_order_id, r.broker_order_id, r.symbol, r.side, r.qty, r.status, r.filled_qty)
        for r in frame.itertuples()
    }


def _broker_orders(broker: AlpacaBroker) -> set[tuple]:
    return {
        (o.client_order_id, o.broker_order_id, o.symbol, o.side, o.qty, o.status, o.filled_qty)
        for o in broker.list_orders(client_order_id_prefix(RID))
    }


def _assert_exactly_once(fake: FakeAlpaca, broker: AlpacaBroker, ledger: Ledger) -> None:
    """n orders at the broker, one per planned id, each filled once; ledger == broker."""
    at_broker = fake.orders()
    ids = [o["client_order_id"] for o in at_broker]
    assert sorted(ids) == sorted(o.client_order_id for o in PLAN)  # 0 lost, 0 duplicates
    assert all(o["status"] == "filled" for o in at_broker)
    assert fake.positions() == FINAL_POSITIONS  # each order filled exactly once
    assert fake.cash == FINAL_CASH
    assert _ledger_orders(ledger) == _broker_orders(broker)
    assert len(ledger.fills_for(RID)) == len(PLAN)


@pytest.mark.parametrize("k", range(len(PLAN)))
@pytest.mark.parametrize("name", list(SUBMIT_FAULTS))
def test_submit_fault_then_rerun_gives_each_order_exactly_once(
    tmp_path: Path, fake: FakeAlpaca, name: str, k: int
) -> None:
    fault, times, outcome, message = SUBMIT_FAULTS[name]
    broker = make_broker(fake)
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    fake.inject(fault, method="POST", path=ORDERS, nth=k + 1, times=times)
    target = PLAN[k].client_order_id
    later = [o.client_order_id for o in PLAN[k + 1 :]]

    first = execute_plan(PLAN, broker, ledger)
    fake.wait_idle()

    if outcome in ("submitted", "already_present"):
        assert first.ok, first.failures
        assert target in (first.submitted if outcome == "submitted" else first.already_present)
        _assert_exactly_once(fake, broker, ledger)
    else:
        assert [f.client_order_id for f in first.failures] == [target]
        assert message in first.failures[0].error
        if PLAN[k].side == "sell":  # a failed sell holds back every buy of the plan
            assert list(first.skipped) == later
        present = {o["client_order_id"] for o in fake.orders()}
        assert (target in present) == (outcome == "late")
        assert ledger.order_events_for(target)["status"].tolist() == ["submit_failed"]

    fake.clear_faults()
    posts = fake.count("POST", ORDERS)
    second = execute_plan(PLAN, broker, ledger)
    assert second.ok, second.failures
    assert set(second.submitted) | set(second.already_present) == {o.client_order_id for o in PLAN}
    if outcome in ("submitted", "already_present", "late"):
        assert target in second.already_present
    else:
        assert target in second.submitted
    assert fake.count("POST", ORDERS) - posts == len(second.submitted)
    _assert_exactly_once(fake, broker, ledger)


LOOKUP_FAULTS = {
    "500": (Fault.http_error(500), "HTTP 500"),
    "timeout": (Fault.slow(SLOW), "ReadTimeout"),
    "dropped": (Fault.drop_before_accept(), "Connection aborted"),
}


@pytest.mark.parametrize("k", range(len(PLAN)))
@pytest.mark.parametrize("name", list(LOOKUP_FAULTS))
def test_failed_lookup_is_never_taken_for_absent(
    tmp_path: Path, fake: FakeAlpaca, name: str, k: int
) -> None:
    """A look-up that fails is a failure of that order: it is not submitted blind."""
    fault, message = LOOKUP_FAULTS[name]
    broker = make_broker(fake)
    ledger = Ledger.connect(tmp_path / "ledger.duckdb")
    fake.inject(fault, method="GET", path=LOOKUP, nth=k + 1)
    target = PLAN[k].client_order_id

    first = execute_plan(PLAN, broker, ledger)
    fake.wait_idle()
    assert [f.client_order_id for f in first.failures] == [target]
    assert message in first.failures[0].error
    assert target not in {o["client_order_id"] for o in fake.orders()}

    fake.clear_faults()
    second = execute_plan(PLAN, broker, ledger)
    assert second.ok, second.failures
    _assert_exactly_once(fake, broker, ledger)


def test_outcome_unknown_is_raised_by_the_adapter(fake: FakeAlpaca, broker: AlpacaBroker) -> None:
    fake.inject(Fault.drop_after_accept(), path=ORDERS)
    with pytest.raises(OrderOutcomeUnknownError) as caught:
        broker.submit_order(PLAN[1])
    assert caught.value.client_order_id == PLAN[1].client_order_id
    assert broker.get_order_by_client_id(PLAN[1].client_order_id) is not None
