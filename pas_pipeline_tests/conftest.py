"""Shared pytest fixtures."""

from __future__ import annotations

import contextlib
import hmac
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pas_pipeline.execution.ledger import redact_uri
from pas_pipeline.observability.tracing import attach_span_processor
from pas_pipeline_tests.pipeline_fixtures import defs, instance, settings  # noqa: F401 (fixtures)

DEFAULT_PG_URI = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Finished spans of the test, captured in memory."""
    exporter = InMemorySpanExporter()
    detach = attach_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    detach()


@pytest.fixture
def compared_digests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Every ``hmac.compare_digest(a, b)`` call of the test, in order (it still compares)."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def _with_search_path(uri: str, schema: str) -> str:
    """``uri`` whose connections use ``schema`` (libpq ``options=-csearch_path=...``)."""
    parts = urlsplit(uri)
    extra = urlencode({"options": f"-csearch_path={schema}"})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _admin_connection(base: str) -> psycopg.Connection:
    """An autocommit connection to the test server; fail under ``CI``, else skip, if down."""
    try:
        return psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL at {redact_uri(base)} is unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """URI of a fresh, empty PostgreSQL schema (its ``search_path``), dropped afterwards.

    The server is ``PAS_TEST_PG_URI`` (default: local ``test`` database). If it cannot be
    reached the test fails when ``CI`` is set, and is skipped otherwise.
    """
    base = os.environ.get("PAS_TEST_PG_URI", DEFAULT_PG_URI)
    admin = _admin_connection(base)
    schema = f"pytest_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test ledger lives: a DuckDB file, then a PostgreSQL schema (each test runs on
    both backends)."""
    if request.param == "duckdb":
        return tmp_path / "ledger.duckdb"
    return request.getfixturevalue("postgres_uri")


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """URI of a fresh PostgreSQL database on the test server, dropped afterwards (for tools
    such as Dagster's instance storage that manage their own tables in ``public``)."""
    with fresh_postgres_database() as uri:
        yield uri


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """What :func:`postgres_database` yields, for fixtures of other scopes."""
    base = os.environ.get("PAS_TEST_PG_URI", DEFAULT_PG_URI)
    name = f"pytest_{uuid.uuid4().hex[:16]}"
    with _admin_connection(base) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
