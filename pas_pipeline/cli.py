"""The ``pas`` command: ``pas demo`` runs one rebalance end to end; ``pas trading-state``
shows or sets the kill switch; ``pas instance`` prepares ``$DAGSTER_HOME``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from pas_pipeline.config import Settings
from pas_pipeline.instance import prepare_dagster_home


def _demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    home = prepare_dagster_home(settings)
    import dagster as dg

    from pas_pipeline.defs.definitions import build_definitions
    from pas_pipeline.demo import run_demo
    from pas_pipeline.demo_report import format_report

    with dg.DagsterInstance.get() as instance:
        result = run_demo(build_definitions(settings), instance, today=args.date)
    print(format_report(result, settings, home))
    return 0


def _trading_state(args: argparse.Namespace) -> int:
    from pas_pipeline.execution.ledger import Ledger

    settings = Settings.from_env()
    with Ledger.connect(settings.pg_uri or settings.ledger_path) as ledger:
        if args.state:
            ledger.set_trading_state(args.state, args.reason)
        detail = ledger.trading_state_detail()
    print(f"{detail.state.value}  ({detail.reason}, since {detail.updated_at})")
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
    demo.set_defaults(handler=_demo)
    state = commands.add_parser(
        "trading-state", help="show or set the kill switch (ACTIVE, REDUCE_ONLY, HALTED)"
    )
    state.add_argument("state", nargs="?", choices=["ACTIVE", "REDUCE_ONLY", "HALTED"])
    state.add_argument("--reason", default="set from the command line")
    state.set_defaults(handler=_trading_state)
    instance = commands.add_parser("instance", help="prepare $DAGSTER_HOME and print its path")
    instance.set_defaults(handler=_instance)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
