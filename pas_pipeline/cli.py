"""The ``pas`` command: ``pas demo`` runs one rebalance end to end; ``pas trading-state``
shows or sets the kill switch; ``pas explain TICKER`` prints why the account holds a ticker;
``pas instance`` prepares ``$DAGSTER_HOME``."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys

from pas_pipeline.config import BrokerKind, Secret, Settings
from pas_pipeline.instance import prepare_dagster_home


def _demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.broker == "fake-alpaca":
        return _demo_on_fake_alpaca(settings, args.date)
    if args.broker:
        settings = dataclasses.replace(settings, broker=BrokerKind(args.broker))
    _run_demo(settings, args.date)
    return 0


def _run_demo(settings: Settings, today: dt.date | None, before_execution=None) -> None:
    home = prepare_dagster_home(settings)
    import dagster as dg

    from pas_pipeline.defs.definitions import build_definitions
    from pas_pipeline.demo import run_demo
    from pas_pipeline.demo_report import format_report

    with dg.DagsterInstance.get() as instance:
        result = run_demo(build_definitions(settings), instance, today, before_execution)
    print(format_report(result, settings, home))


def _demo_on_fake_alpaca(settings: Settings, today: dt.date | None) -> int:
    """The demo with orders sent by the real alpaca-py client over HTTP to a local fake
    Alpaca paper account (1,000,000 USD) that fills at the session's closes."""
    import duckdb

    from pas_pipeline.execution.fake_alpaca import TEST_KEY_ID, TEST_SECRET, FakeAlpaca

    with FakeAlpaca(cash="1000000") as fake:
        os.environ["ALPACA_API_KEY"], os.environ["ALPACA_API_SECRET"] = TEST_KEY_ID, TEST_SECRET
        settings = dataclasses.replace(
            settings,
            broker=BrokerKind.ALPACA,
            alpaca_api_key=Secret(TEST_KEY_ID),
            alpaca_api_secret=Secret(TEST_SECRET),
            alpaca_url_override=fake.base_url,
        )

        def fill_at_the_closes(day: dt.date) -> None:
            with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
                closes = conn.execute(
                    "select ticker, close from public.prices where date = ?", [day]
                ).fetchall()
            for ticker, close in closes:
                fake.set_price(ticker, repr(float(close)))

        _run_demo(settings, today, fill_at_the_closes)
        print(f"Broker     fake Alpaca paper account at {fake.base_url} (alpaca-py over HTTP)")
    return 0


def _trading_state(args: argparse.Namespace) -> int:
    """Show or set the kill switch; a change also updates the served ``pas_trading_state``
    gauge (this process writes its own metrics file, as a run would)."""
    from pas_pipeline.execution.ledger import Ledger
    from pas_pipeline.observability.metrics import record_trading_state, write_process_metrics

    settings = Settings.from_env()
    with Ledger.connect(settings.pg_uri or settings.ledger_path) as ledger:
        if args.state:
            ledger.set_trading_state(args.state, args.reason)
        detail = ledger.trading_state_detail()
    if args.state:
        record_trading_state(detail.state)
        write_process_metrics(settings.metrics_dir, "cli-trading-state")
    print(f"{detail.state.value}  ({detail.reason}, since {detail.updated_at})")
    return 0


def _explain(args: argparse.Namespace) -> int:
    """Print why the account holds (or trades) a ticker on a date (``pas_pipeline.explain``)."""
    from pas_pipeline.execution.ledger import Ledger
    from pas_pipeline.explain import explain_ticker, explanation_json, render_explanation

    settings = Settings.from_env()
    if not settings.warehouse_path.exists():
        print(f"no warehouse at {settings.warehouse_path}: run a rebalance first (make demo)")
        return 1
    with Ledger.connect(settings.pg_uri or settings.ledger_path) as ledger:
        explanation = explain_ticker(
            settings.warehouse_path, ledger, args.ticker, args.date, args.rows
        )
    print(explanation_json(explanation) if args.json else render_explanation(explanation))
    return 0


def _instance(_: argparse.Namespace) -> int:
    home = prepare_dagster_home(Settings.from_env())
    print(home)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pas", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run one rebalance end to end and print it")
    demo.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=None,
        help="pretend today is this date (YYYY-MM-DD); default: today",
    )
    demo.add_argument(
        "--broker",
        choices=[kind.value for kind in BrokerKind] + ["fake-alpaca"],
        default=None,
        help="where orders go; fake-alpaca: alpaca-py over HTTP to a local fake paper account "
        "(default: PAS_BROKER, i.e. the simulated broker)",
    )
    demo.set_defaults(handler=_demo)
    state = commands.add_parser(
        "trading-state", help="show or set the kill switch (ACTIVE, REDUCE_ONLY, HALTED)"
    )
    state.add_argument("state", nargs="?", choices=["ACTIVE", "REDUCE_ONLY", "HALTED"])
    state.add_argument("--reason", default="set from the command line")
    state.set_defaults(handler=_trading_state)
    explain = commands.add_parser(
        "explain", help="why the account holds a ticker: sleeves, scores, source rows, orders"
    )
    explain.add_argument("ticker", help="ticker as the pipeline spells it (BRK.B)")
    explain.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=None,
        help="explain the newest target on or before this date (YYYY-MM-DD); default: newest",
    )
    explain.add_argument(
        "--rows", type=int, default=5, help="newest source rows shown per source (default 5)"
    )
    explain.add_argument("--json", action="store_true", help="print JSON instead of text")
    explain.set_defaults(handler=_explain)
    instance = commands.add_parser("instance", help="prepare $DAGSTER_HOME and print its path")
    instance.set_defaults(handler=_instance)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
