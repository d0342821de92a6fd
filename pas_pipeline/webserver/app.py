"""The served Dagster UI: Dagster's own webserver app, plus ``/metrics``, behind the token gate.

``pas-serve`` (:func:`main`) loads the code locations of a workspace file (default
``workspace.yaml``) into the instance of ``$DAGSTER_HOME`` (prepared like ``pas instance``),
builds Dagster's Starlette app for it, adds ``/metrics`` (the pipeline's Prometheus metrics,
:func:`pas_pipeline.observability.metrics.collect_metrics_text`: the run processes' files under
``$PAS_HOME/metrics`` merged with this process's own) and, when ``API_TOKEN`` is set, puts
everything behind :class:`pas_pipeline.webserver.auth.TokenGate`. It runs on uvicorn.

Without ``API_TOKEN`` the app is open, so it is only ever bound to ``127.0.0.1`` (a warning
says so, whatever ``--host`` asked for). The token is never logged.

Dagster has no public API for this; the private names used are all imported below and
listed in :data:`DAGSTER_INTERNALS`, which a test imports, so an upgrade that moves one fails
that test rather than the server at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import dagster as dg
import uvicorn

# --- Dagster internals (keep in sync with DAGSTER_INTERNALS) -------------------------------
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster_webserver.app import create_app_from_workspace_process_context
from dagster_webserver.cli import (
    DEFAULT_DB_STATEMENT_TIMEOUT,
    DEFAULT_POOL_MAX_OVERFLOW,
    DEFAULT_POOL_RECYCLE,
)
from dagster_webserver.version import __version__ as dagster_webserver_version

# -------------------------------------------------------------------------------------------
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from pas_pipeline.config import Secret, Settings
from pas_pipeline.instance import prepare_dagster_home
from pas_pipeline.observability.metrics import (
    CONTENT_TYPE_LATEST,
    collect_metrics_text,
    compact_metrics_files,
)
from pas_pipeline.webserver.auth import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    TokenGate,
    require_strong_token,
)

DAGSTER_INTERNALS: tuple[str, ...] = (
    "dagster._core.workspace.context:WorkspaceProcessContext",
    "dagster._core.workspace.load_target:WorkspaceFileTarget",
    "dagster_webserver.app:create_app_from_workspace_process_context",
    "dagster_webserver.cli:DEFAULT_DB_STATEMENT_TIMEOUT",
    "dagster_webserver.cli:DEFAULT_POOL_MAX_OVERFLOW",
    "dagster_webserver.cli:DEFAULT_POOL_RECYCLE",
    "dagster_webserver.version:__version__",
)
"""``module:name`` of every non-public Dagster name this module imports."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_WORKSPACE = Path("workspace.yaml")
METRICS_PATH = "/metrics"
COMPACT_EVERY_SECONDS = 3600.0
"""How often (at most) the served ``/metrics`` compacts the metric files."""

logger = logging.getLogger("pas_pipeline.webserver")


def metrics_app(directory: Path | None, clock: Callable[[], float] = time.monotonic) -> ASGIApp:
    """An ASGI app answering every HTTP request with the pipeline's Prometheus metrics
    (text format 0.0.4; files of ``directory`` merged with this process's registry).
    Before collecting it compacts ``directory`` (:func:`compact_metrics_files`), at most
    once per :data:`COMPACT_EVERY_SECONDS` of ``clock`` (a monotonic clock)."""
    last_compaction: list[float] = []

    def collect() -> bytes:
        if directory is not None and (
            not last_compaction or clock() - last_compaction[0] >= COMPACT_EVERY_SECONDS
        ):
            last_compaction[:] = [clock()]
            try:
                compact_metrics_files(directory)
            except OSError:
                logger.exception("compacting the metrics files in %s failed", directory)
        return collect_metrics_text(directory)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = await run_in_threadpool(collect)
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def with_metrics(app: ASGIApp, metrics: ASGIApp) -> ASGIApp:
    """``app``, except HTTP requests to ``/metrics``, which ``metrics`` answers."""

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == METRICS_PATH:
            await metrics(scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch


HEALTH_PATH = "/healthz"
HEALTH_BODY = b'{"status": "ok"}'


def with_health(app: ASGIApp) -> ASGIApp:
    """``app``, except ``GET``/``HEAD /healthz``, answered ``200 {"status": "ok"}`` without
    credentials (for load balancers and uptime checks: it says the server answers, nothing
    else; every other route stays behind the gate)."""

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == HEALTH_PATH
            and scope["method"] in {"GET", "HEAD"}
        ):
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(HEALTH_BODY)).encode()),
                (b"cache-control", b"no-store"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            body = b"" if scope["method"] == "HEAD" else HEALTH_BODY
            await send({"type": "http.response.body", "body": body})
        else:
            await app(scope, receive, send)

    return dispatch


def protect(app: ASGIApp, token: Secret | None) -> ASGIApp:
    """``app`` behind the token gate, or ``app`` itself (open) when there is no token."""
    return TokenGate(app, token) if token else app


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_host(host: str, token: Secret | None) -> str:
    """Where to listen: ``host`` when a token protects the app. Without one, ``host`` only if
    it is loopback, else ``127.0.0.1``; either way with a warning that the UI is open (and a
    second one naming the ignored ``host``)."""
    if token:
        return host
    logger.warning(
        "API_TOKEN is not set: the Dagster UI is OPEN (no authentication); "
        "listening on loopback only. Set API_TOKEN to serve it on another address."
    )
    if not is_loopback(host):
        logger.warning("ignoring --host %s: an open UI is never bound beyond loopback", host)
    return DEFAULT_HOST if not is_loopback(host) else host


@contextlib.asynccontextmanager
async def _lifespan(_: Starlette) -> AsyncIterator[None]:
    # As dagster-webserver does: Ctrl-C cancels the lifespan task; that is no error.
    with contextlib.suppress(asyncio.CancelledError):
        yield


@contextlib.contextmanager
def dagster_app(
    instance: dg.DagsterInstance, workspace: Path, read_only: bool = False
) -> Iterator[Starlette]:
    """Dagster's webserver app for the code locations of ``workspace`` (a
    ``workspace.yaml``), as ``dagster-webserver -w workspace`` builds it. The code servers
    it starts stop when the context exits."""
    target = WorkspaceFileTarget(paths=[str(workspace)])
    with WorkspaceProcessContext(
        instance,
        workspace_load_target=target,
        version=dagster_webserver_version,
        read_only=read_only,
    ) as context:
        yield create_app_from_workspace_process_context(context, lifespan=_lifespan)


@contextlib.contextmanager
def served_app(settings: Settings, workspace: Path, token: Secret | None) -> Iterator[ASGIApp]:
    """The whole served app: prepares ``$DAGSTER_HOME`` (see
    :func:`pas_pipeline.instance.prepare_dagster_home`), opens its instance, and yields
    Dagster's app plus ``/metrics``, gated by ``token`` when there is one, and an open
    ``/healthz``."""
    prepare_dagster_home(settings)
    with dg.DagsterInstance.get() as instance:
        instance.optimize_for_webserver(
            DEFAULT_DB_STATEMENT_TIMEOUT, DEFAULT_POOL_RECYCLE, DEFAULT_POOL_MAX_OVERFLOW
        )
        with dagster_app(instance, workspace) as app:
            yield with_health(protect(with_metrics(app, metrics_app(settings.metrics_dir)), token))


def serve(
    host: str,
    port: int,
    workspace: Path,
    token: Secret | None,
    settings: Settings | None = None,
    log_level: str = "warning",
) -> None:
    """Serve the UI on ``http://host:port`` until interrupted (see :func:`served_app`;
    without ``token`` it binds ``127.0.0.1`` only). ``log_level`` is uvicorn's."""
    settings = settings or Settings.from_env()
    host = bind_host(host, token)
    with served_app(settings, workspace, token) as app:
        logger.info(
            "serving the Dagster UI on http://%s:%d (%s)",
            host,
            port,
            "API_TOKEN required" if token else "open",
        )
        uvicorn.run(app, host=host, port=port, log_level=log_level)


def main(argv: list[str] | None = None) -> int:
    """``pas-serve [--host H] [--port P] [-w workspace.yaml]``: the token-protected UI."""
    parser = argparse.ArgumentParser(
        prog="pas-serve",
        description="Serve the Dagster UI (and /metrics), protected by API_TOKEN when set.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on (default: %(default)s; without API_TOKEN always 127.0.0.1)",
    )
    parser.add_argument("--port", "-p", type=int, default=DEFAULT_PORT, help="default: 3000")
    parser.add_argument(
        "--workspace",
        "-w",
        type=Path,
        default=DEFAULT_WORKSPACE,
        help="Dagster workspace file (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (default: %(default)s; info logs every request)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logger.setLevel(logging.INFO)
    # uvicorn stops gracefully on SIGTERM, then re-raises it: exit through the context
    # managers instead, so the code servers Dagster started are stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    settings = Settings.from_env()
    if settings.api_token is not None:
        try:
            require_strong_token(settings.api_token)
        except ValueError as exc:
            logger.error("%s", exc)
            return 2
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port, args.workspace, settings.api_token, settings, args.log_level)
    logger.info("stopped")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
