"""The check a run makes of the team's tracking server before it starts: one message for
each way the server fails, never a traceback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mnist_pipeline.tracking.team_server import TrackingServerError, check_tracking_server

#: How long the slow server takes to answer anything but ``/health`` (seconds).
DELAY = 2.0


class _SlowAfterHealth(BaseHTTPRequestHandler):
    """Answers ``/health`` at once and every other request after :data:`DELAY`; notes each
    request it answered in full (path, and whether it carried credentials)."""

    answered: list[tuple[str, bool]] = []

    def do_GET(self) -> None:
        if not self.path.startswith("/health"):
            time.sleep(DELAY)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")
        self.answered.append((self.path.split("?")[0], "Authorization" in self.headers))

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    _SlowAfterHealth.answered = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowAfterHealth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_server_too_slow_to_answer_is_one_message(slow_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")  # MLflow's client would give up too
    with pytest.raises(TrackingServerError, match=r"cannot be reached \(ReadTimeout\)"):
        check_tracking_server(slow_server, "alice", "secret")


def test_a_busy_server_is_waited_for_as_long_as_mlflow_waits(slow_server, monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)  # MLflow's 120 s
    started = time.monotonic()
    assert check_tracking_server(slow_server, "alice", "secret") is None
    assert time.monotonic() - started >= DELAY  # it waited for the slow answer
    assert _SlowAfterHealth.answered == [
        ("/health", False),
        ("/api/2.0/mlflow/experiments/search", True),  # with alice's credentials
    ]


def test_no_server_is_one_message():
    with pytest.raises(TrackingServerError, match=r"127\.0\.0\.1:9 cannot be reached"):
        check_tracking_server("http://127.0.0.1:9", None, None)
