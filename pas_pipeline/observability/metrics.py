"""Every Prometheus metric of the pipeline, the helpers that record them, and exposition.

The metrics live on ``prometheus_client.REGISTRY`` (the default registry), so any
``/metrics`` endpoint built on ``prometheus_client`` in the same process shows them.

**Several processes.** Dagster executes each run (with the multiprocess executor: each
step) in its own process, apart from whatever serves ``/metrics``, so values recorded in a
run would never reach the endpoint through memory. The pipeline therefore uses textfiles:

1. a run process calls :func:`write_process_metrics` (e.g. at the end of each asset
   compute); it writes, atomically, the metrics *this process recorded* (through the
   ``record_*`` helpers) to ``$PAS_HOME/metrics/<run id>-<pid>.prom``, cumulative for the
   process, so rewriting the file never double counts;
2. the served ``/metrics`` returns :func:`collect_metrics_text`, which merges every
   ``*.prom`` file with the serving process's own recorded metrics: counter and histogram
   samples are **summed** over files (totals over all runs whose files exist; ``_created``
   takes the earliest), gauge samples take the value of the **most recently written** file
   (the serving process last).

Metrics a process never recorded are left out of its file, so an ingest step's file cannot
reset the portfolio gauges to 0. (``prometheus_client``'s own multiprocess mode was not
used: it needs ``PROMETHEUS_MULTIPROC_DIR`` set before any metric is created in every
process.)

**Compaction.** Each run process adds a file, so the folder would grow forever and every
scrape would re-parse all of it. :func:`compact_metrics_files` (called at most hourly by the
served ``/metrics``) folds the files nobody has written for a day into one file,
``compacted.prom``, with the same merge rules, and deletes them. Simply deleting old files
would lower the summed counters, which Prometheus's ``rate``/``increase`` treat as a
counter reset; the compacted file carries the deleted files' totals instead, so every
merged total (and every gauge, see the function) is unchanged and counters stay monotonic.
Compaction holds an exclusive lock on ``.compact.lock`` in the folder and
:func:`collect_metrics_text` a shared one, so a scrape never sees a half-done compaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    write_to_textfile,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

__all__ = [
    "API_ERROR_KINDS",
    "BLOCK_REASON_CODES",
    "COMPACTED_NAME",
    "CONTENT_TYPE_LATEST",
    "TRADING_STATES",
    "blocked_reason_codes",
    "collect_metrics_text",
    "compact_metrics_files",
    "metrics_dir",
    "process_metrics_path",
    "record_api_call",
    "record_api_retry",
    "record_orders",
    "record_portfolio",
    "record_rebalance_seconds",
    "record_rows_ingested",
    "record_trading_state",
    "record_var",
    "write_process_metrics",
    "write_textfile",
]

API_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Seconds; a call includes rate-limit waits and retry backoff, hence the long tail."""

REBALANCE_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
"""Seconds."""

API_OUTCOMES = ("ok", "empty", "error")
API_ERROR_KINDS = ("auth", "rate_limited", "unavailable", "payload", "http", "other")
"""The ``kind`` label values of ``pas_api_errors_total``."""
TRADING_STATES = ("ACTIVE", "REDUCE_ONLY", "HALTED")

API_REQUEST_SECONDS = Histogram(
    "pas_api_request_seconds",
    "Duration of one external API call in seconds, retries, backoff and rate-limit waits "
    "included. outcome: ok (decoded body), empty (404 meaning no data), error (raised).",
    ["source", "outcome"],
    buckets=API_LATENCY_BUCKETS,
)
API_ERRORS = Counter(
    "pas_api_errors",
    "External API calls that failed (after all retries), by source and kind: auth, "
    "rate_limited, unavailable, payload, http (other 4xx), other.",
    ["source", "kind"],
)
API_RETRIES = Counter(
    "pas_api_retries",
    "Retried external API attempts (429, 5xx, timeouts, connection errors), by source.",
    ["source"],
)
ROWS_INGESTED = Counter(
    "pas_rows_ingested",
    "Rows written by ingestion assets, by asset key.",
    ["asset"],
)
REBALANCE_SECONDS = Histogram(
    "pas_rebalance_seconds",
    "Wall-clock duration of one rebalance (plan, checks and submission) in seconds.",
    buckets=REBALANCE_BUCKETS,
)
ORDERS_SUBMITTED = Counter(
    "pas_orders_submitted",
    "Orders sent to the broker (not counting orders found already present).",
)
ORDERS_BLOCKED = Counter(
    "pas_orders_blocked",
    "Planned orders blocked by pre-trade limits, by rule broken (an order breaking two "
    "rules counts once under each).",
    ["reason"],
)
PORTFOLIO_VALUE_USD = Gauge(
    "pas_portfolio_value_usd",
    "Portfolio value (account equity) in USD at the last valuation.",
)
GROSS_EXPOSURE = Gauge(
    "pas_gross_exposure",
    "Gross exposure: sum of |position value| divided by equity (1.0 = 100%).",
)
VAR_95 = Gauge(
    "pas_var_95",
    "One-day 95% value at risk as a fraction of equity; positive = loss (0.02 = 2%).",
)
DRAWDOWN = Gauge(
    "pas_drawdown",
    "Current drawdown 1 - value / running peak, as a fraction (0 at a new peak).",
)
TRADING_STATE = Gauge(
    "pas_trading_state",
    "Kill switch: 1 for the current state (ACTIVE, REDUCE_ONLY, HALTED), 0 for the others.",
    ["state"],
)

_FAMILY_NAMES = {
    API_REQUEST_SECONDS: "pas_api_request_seconds",
    API_ERRORS: "pas_api_errors",
    API_RETRIES: "pas_api_retries",
    ROWS_INGESTED: "pas_rows_ingested",
    REBALANCE_SECONDS: "pas_rebalance_seconds",
    ORDERS_SUBMITTED: "pas_orders_submitted",
    ORDERS_BLOCKED: "pas_orders_blocked",
    PORTFOLIO_VALUE_USD: "pas_portfolio_value_usd",
    GROSS_EXPOSURE: "pas_gross_exposure",
    VAR_95: "pas_var_95",
    DRAWDOWN: "pas_drawdown",
    TRADING_STATE: "pas_trading_state",
}

_touched_lock = threading.Lock()
_touched: set[str] = set()


def _touch(*metrics: object) -> None:
    with _touched_lock:
        _touched.update(_FAMILY_NAMES[m] for m in metrics)


def recorded_families() -> frozenset[str]:
    """Family names (``pas_api_errors``, without ``_total``) this process has recorded."""
    with _touched_lock:
        return frozenset(_touched)


# --- recording ------------------------------------------------------------------------


def record_api_call(
    source: str, outcome: str, seconds: float, error_kind: str | None = None
) -> None:
    """One external call to ``source`` took ``seconds`` and ended with ``outcome``
    (one of :data:`API_OUTCOMES`); an ``"error"`` also counts in ``pas_api_errors_total``
    under ``error_kind`` (default ``"other"``)."""
    if outcome not in API_OUTCOMES:
        raise ValueError(f"outcome must be one of {API_OUTCOMES}, got {outcome!r}")
    API_REQUEST_SECONDS.labels(source=source, outcome=outcome).observe(max(0.0, seconds))
    # every error kind and the retries of a source exist from its first call, at 0, so
    # Prometheus's rate()/increase() see the first error as an increase
    for kind in API_ERROR_KINDS:
        API_ERRORS.labels(source=source, kind=kind)
    API_RETRIES.labels(source=source)
    _touch(API_REQUEST_SECONDS, API_ERRORS, API_RETRIES)
    if outcome == "error":
        kind = error_kind or "other"
        if kind not in API_ERROR_KINDS:
            raise ValueError(f"error_kind must be one of {API_ERROR_KINDS}, got {kind!r}")
        API_ERRORS.labels(source=source, kind=kind).inc()


def record_api_retry(source: str) -> None:
    """One more retried attempt against ``source``."""
    API_RETRIES.labels(source=source).inc()
    _touch(API_RETRIES)


def record_rows_ingested(asset: str, rows: int) -> None:
    """``rows`` (>= 0) rows were written by the ingestion asset ``asset``."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    ROWS_INGESTED.labels(asset=asset).inc(rows)
    _touch(ROWS_INGESTED)


def record_rebalance_seconds(seconds: float) -> None:
    """One rebalance took ``seconds`` (wall clock)."""
    REBALANCE_SECONDS.observe(max(0.0, seconds))
    _touch(REBALANCE_SECONDS)


_BLOCK_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern))
    for code, pattern in (
        ("halted", r"^trading is HALTED"),
        ("market_closed", r"^market is closed"),
        ("no_price", r"^no usable (current price|last close)"),
        ("price_deviation", r"^(reference )?price .* from the last close"),
        ("reduce_only", r"^trading is REDUCE_ONLY"),
        ("short_sale", r"no short selling"),
        ("order_notional", r"^notional .* exceeds the limit"),
        ("gross_exposure", r"^gross exposure would be"),
        ("daily_turnover", r"^daily turnover would be"),
        ("position_weight", r" would be .* of equity"),
    )
)


BLOCK_REASON_CODES = (*(code for code, _ in _BLOCK_RULES), "other")
"""The ``reason`` label values of ``pas_orders_blocked_total``."""


def blocked_reason_codes(reason: str) -> list[str]:
    """The rule codes in a pre-trade block reason (``execution.limits.check_orders`` text,
    rules joined by ``"; "``), each once, in order; ``["other"]`` when none is recognised
    (unrecognised fragments next to recognised ones, such as the turnover reason's
    "the whole plan is held back", are ignored).

    Codes: halted, market_closed, no_price, price_deviation, reduce_only, short_sale,
    order_notional, gross_exposure, daily_turnover, position_weight, other. (A label
    holds a code, never the free text, which carries prices and would explode
    cardinality.)
    """
    codes: list[str] = []
    for part in (p.strip() for p in reason.split("; ")):
        code = next((c for c, pattern in _BLOCK_RULES if pattern.search(part)), None)
        if code is not None and code not in codes:
            codes.append(code)
    return codes or ["other"]


def record_orders(submitted: int, blocked_reasons: Iterable[str] = ()) -> None:
    """``submitted`` orders went to the broker; each entry of ``blocked_reasons`` is the
    reason text of one blocked order (counted under each of its :func:`blocked_reason_codes`).
    """
    if submitted < 0:
        raise ValueError(f"submitted must be >= 0, got {submitted}")
    ORDERS_SUBMITTED.inc(submitted)
    for code in BLOCK_REASON_CODES:  # every rule's series exists at 0 (see record_api_call)
        ORDERS_BLOCKED.labels(reason=code)
    _touch(ORDERS_SUBMITTED, ORDERS_BLOCKED)
    for reason in blocked_reasons:
        for code in blocked_reason_codes(reason):
            ORDERS_BLOCKED.labels(reason=code).inc()


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def record_portfolio(
    value_usd: float, gross_exposure: float, var_95: float | None, drawdown: float
) -> None:
    """Set the portfolio gauges: value (USD), gross exposure (fraction of equity), one-day
    95% VaR (fraction of equity, positive = loss; ``None`` leaves it unchanged, e.g. too
    little history) and drawdown (fraction below the running peak, >= 0)."""
    PORTFOLIO_VALUE_USD.set(_finite("value_usd", value_usd))
    GROSS_EXPOSURE.set(_finite("gross_exposure", gross_exposure))
    DRAWDOWN.set(_finite("drawdown", drawdown))
    _touch(PORTFOLIO_VALUE_USD, GROSS_EXPOSURE, DRAWDOWN)
    if var_95 is not None:
        VAR_95.set(_finite("var_95", var_95))
        _touch(VAR_95)


def record_var(var_95: float) -> None:
    """Set the one-day 95% VaR gauge (fraction of equity, positive = loss) of the newest
    target weights."""
    VAR_95.set(_finite("var_95", var_95))
    _touch(VAR_95)


def record_trading_state(state: str | Enum) -> None:
    """Set ``pas_trading_state{state=...}`` to 1 for ``state`` (a ``TradingState`` or its
    name) and 0 for the other states."""
    name = str(state.value if isinstance(state, Enum) else state).upper()
    if name not in TRADING_STATES:
        raise ValueError(f"state must be one of {TRADING_STATES}, got {state!r}")
    for each in TRADING_STATES:
        TRADING_STATE.labels(state=each).set(1.0 if each == name else 0.0)
    _touch(TRADING_STATE)


# --- textfiles and exposition ------------------------------------------------------------


class _Recorded(Collector):
    """The families of ``registry`` this process recorded (see :func:`recorded_families`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        names = recorded_families()
        return (family for family in self.registry.collect() if family.name in names)


def metrics_dir(home: Path) -> Path:
    """Where run processes write their metric files: ``<PAS_HOME>/metrics``."""
    return home / "metrics"


def process_metrics_path(directory: Path, run_id: str) -> Path:
    """``<directory>/<run id>-<pid>.prom`` (run id reduced to ``[A-Za-z0-9_.-]``)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id) or "run"
    return directory / f"{safe}-{os.getpid()}.prom"


def write_textfile(path: Path, registry: CollectorRegistry = REGISTRY) -> None:
    """Write the metrics this process recorded in ``registry`` to ``path`` (text format
    0.0.4), atomically (temporary file + rename); creates the parent folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    view = CollectorRegistry(auto_describe=False)
    view.register(_Recorded(registry))
    write_to_textfile(str(path), view)


def write_process_metrics(directory: Path, run_id: str) -> Path:
    """:func:`write_textfile` to :func:`process_metrics_path`; returns the path written."""
    path = process_metrics_path(directory, run_id)
    write_textfile(path)
    return path


def _merge(sources: Sequence[Iterable[Metric]]) -> list[Metric]:
    """Sum counters/histograms/summaries, keep the last source's gauges (see module doc)."""
    families: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for source in sources:
        for family in source:
            merged = families.setdefault(
                family.name, Metric(family.name, family.documentation, family.type, family.unit)
            )
            table = values.setdefault(family.name, {})
            summed = merged.type in {"counter", "histogram", "summary", "gaugehistogram"}
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key not in table:
                    table[key] = sample.value
                elif sample.name.endswith("_created"):
                    table[key] = min(table[key], sample.value)
                elif summed:
                    table[key] += sample.value
                else:
                    table[key] = sample.value
    for name, family in families.items():
        family.samples = [
            Sample(sample_name, dict(labels), value)
            for (sample_name, labels), value in values[name].items()
        ]
    return list(families.values())


class _Merged(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _files_oldest_first(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.prom"), key=lambda p: (p.stat().st_mtime_ns, p.name))


COMPACTED_NAME = "compacted.prom"
"""The file :func:`compact_metrics_files` folds old metric files into."""
_LOCK_NAME = ".compact.lock"

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _folder_lock(directory: Path, exclusive: bool) -> Iterator[bool]:
    """``flock`` on ``directory / .compact.lock``: exclusive and non-blocking (yields
    whether it was acquired), or shared and blocking (yields ``True``; also when the lock
    file cannot be opened, e.g. a read-only folder, where nobody can compact anyway)."""
    try:
        fd = os.open(directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield not exclusive
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def _parse_file(path: Path) -> list[Metric]:
    try:
        return list(text_string_to_metric_families(path.read_text("utf-8")))
    except (ValueError, IndexError) as exc:
        raise ValueError(f"unparsable metrics file {path}: {exc}") from exc


def _exposition(families: list[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged(families))
    return generate_latest(registry)


def compact_metrics_files(
    directory: Path, older_than_seconds: float = 86_400.0, now: float | None = None
) -> int:
    """Fold the ``*.prom`` files of ``directory`` not written for ``older_than_seconds``
    (mtime before ``now - older_than_seconds``; ``now`` defaults to ``time.time()``) into
    ``directory / "compacted.prom"``, and delete them. Returns how many files were merged
    away (0: nothing was written).

    The old files and the existing compacted file are merged oldest first (by mtime, as
    :func:`collect_metrics_text` orders them) by the same rules: counters and histograms
    summed, gauges the newest file's value, ``_created`` the earliest. The result is
    written atomically (temporary file + ``os.replace``) with the mtime of the newest file
    merged: that is older than every file left, so those still win for gauges, and the
    merged ``/metrics`` is the same, sample for sample, before and after.

    Why the age: a run process rewrites its own file, cumulatively, after each step; a file
    deleted while its process still runs would be recreated with totals already counted in
    the compacted file. So a file is compacted only once its process can no longer write
    it; a day is far longer than any step.

    Only one compaction runs at a time: it takes ``flock`` on ``directory / .compact.lock``
    without waiting, and returns 0 when that is held (by another compaction or a
    :func:`collect_metrics_text` reading the folder). A file that cannot be parsed is
    logged and left in place (not merged, not deleted); if that is the compacted file
    itself, nothing is done. A crash between writing the compacted file and deleting the
    merged ones would count those files twice until they are deleted by hand.
    """
    if not directory.is_dir():
        return 0
    cutoff_ns = int(((time.time() if now is None else now) - older_than_seconds) * 1e9)
    target = directory / COMPACTED_NAME
    with _folder_lock(directory, exclusive=True) as locked:
        if not locked:
            return 0
        old: list[tuple[int, str, Path]] = []
        for path in directory.glob("*.prom"):
            with contextlib.suppress(FileNotFoundError):
                mtime_ns = path.stat().st_mtime_ns
                if path.name == COMPACTED_NAME or mtime_ns < cutoff_ns:
                    old.append((mtime_ns, path.name, path))
        if not any(path != target for _, _, path in old):
            return 0
        sources: list[list[Metric]] = []
        merged: list[tuple[int, Path]] = []
        for mtime_ns, _, path in sorted(old):
            try:
                sources.append(_parse_file(path))
            except ValueError as exc:
                if path == target:
                    logger.warning("not compacting metrics files: %s", exc)
                    return 0
                logger.warning("left out of compaction: %s", exc)
                continue
            merged.append((mtime_ns, path))
        gone = [path for _, path in merged if path != target]
        if not gone:
            return 0
        newest_ns = max(mtime_ns for mtime_ns, _ in merged)
        temporary = directory / f".{COMPACTED_NAME}.{os.getpid()}.tmp"
        try:
            with temporary.open("wb") as out:
                out.write(_exposition(_merge(sources)))
                out.flush()
                os.fsync(out.fileno())
            os.utime(temporary, ns=(newest_ns, newest_ns))
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        for path in gone:
            path.unlink(missing_ok=True)
        return len(gone)


def collect_metrics_text(
    directory: Path | None, registry: CollectorRegistry | None = REGISTRY
) -> bytes:
    """The body of ``/metrics``: every ``*.prom`` file of ``directory`` (``None`` or a
    missing folder: none) merged with what this process recorded in ``registry`` (``None``:
    files only, for a server that also writes its own file), in text format 0.0.4 (serve
    with ``Content-Type:`` :data:`CONTENT_TYPE_LATEST`).

    Counters and histograms are summed over the sources; gauges take the most recently
    written file's value, this process's own value winning over any file. A file that
    cannot be parsed raises ``ValueError`` naming it. The files are read under a shared
    lock, so never in the middle of a :func:`compact_metrics_files`.
    """
    sources: list[Iterable[Metric]] = []
    if directory is not None and directory.is_dir():
        with _folder_lock(directory, exclusive=False):
            sources.extend(_parse_file(path) for path in _files_oldest_first(directory))
    if registry is not None:
        own = CollectorRegistry(auto_describe=False)
        own.register(_Recorded(registry))
        text = generate_latest(own).decode("utf-8")
        sources.append(list(text_string_to_metric_families(text)))
    return _exposition(_merge(sources))


StartResponse = Callable[[str, list[tuple[str, str]]], object]
WsgiApp = Callable[[Mapping[str, object], StartResponse], list[bytes]]


def metrics_wsgi_app(directory: Path | None) -> WsgiApp:
    """A WSGI app answering every request with :func:`collect_metrics_text` (for a
    served ``/metrics``, e.g. ``wsgiref.simple_server.make_server("", 9464, app)`` or
    mounted next to another app)."""

    def app(environ: Mapping[str, object], start_response: StartResponse) -> list[bytes]:
        body = collect_metrics_text(directory)
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app
