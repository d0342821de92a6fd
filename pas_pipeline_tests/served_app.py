"""The real protected Dagster webserver, served by uvicorn in a background thread, for the
served-app tests (import the ``served_ui`` fixture into a test module; one server per module).

Definitions load from this repository's ``workspace.yaml`` (``pas_pipeline.defs``) in sample
mode with a small universe; ``PAS_HOME`` and ``DAGSTER_HOME`` live in a temporary folder.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from pas_pipeline.config import Secret, Settings
from pas_pipeline.webserver.app import served_app
from pas_pipeline_tests.pipeline_fixtures import SMALL_UNIVERSE

WORKSPACE = Path(__file__).resolve().parent.parent / "workspace.yaml"
TOKEN = "served-test-token-0123456789"
"""The ``API_TOKEN`` of the served app (a test value)."""

SERVER_STOP_SECONDS = 30


@dataclass(frozen=True)
class ServedUI:
    base_url: str
    token: str
    metrics_dir: Path
    """Where run processes write the metric files the served ``/metrics`` merges."""

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _listening_socket() -> socket.socket:
    """A socket already listening on a free 127.0.0.1 port: requests made before uvicorn
    starts accepting wait in its backlog, so no start-up polling is needed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@pytest.fixture(scope="module")
def served_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedUI]:
    """The protected UI at ``base_url`` (token :data:`TOKEN`), stopped after the module."""
    home = tmp_path_factory.mktemp("served")
    with pytest.MonkeyPatch.context() as env:
        # The code server Dagster starts for workspace.yaml inherits this environment.
        env.setenv("PAS_HOME", str(home / "pas_home"))
        env.setenv("DAGSTER_HOME", str(home / "dagster"))
        env.setenv("PAS_DATA_MODE", "sample")
        env.setenv("PAS_SAMPLE_UNIVERSE_SIZE", str(SMALL_UNIVERSE))
        env.delenv("API_TOKEN", raising=False)
        env.delenv("DAGSTER_PG_URL", raising=False)
        settings = Settings.from_env()
        sock = _listening_socket()
        port = sock.getsockname()[1]
        with served_app(settings, WORKSPACE, Secret(TOKEN)) as app:
            server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            try:
                yield ServedUI(
                    base_url=f"http://127.0.0.1:{port}",
                    token=TOKEN,
                    metrics_dir=settings.metrics_dir,
                )
            finally:
                server.should_exit = True
                thread.join(SERVER_STOP_SECONDS)
                sock.close()
