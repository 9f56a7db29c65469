"""Check a remote MLflow tracking server before kedro-mlflow uses it.

With a server URI (``kedro run --env server``), kedro-mlflow's own set-up would meet an
unreachable server with minutes of retries and a traceback, and a refused password with
a traceback. This hook runs first (``tryfirst``) and stops the run with one message
(:func:`mnist_pipeline.tracking_server.check_tracking_server`), then makes sure the
experiment exists, so that several team members starting their first runs at once do
not race to create it. Local stores (SQLite) are left to kedro-mlflow.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from kedro.framework.hooks import hook_impl

from mnist_pipeline.tracking_server import (
    EXPERIMENT_NAME,
    check_tracking_server,
    ensure_experiment,
    is_server_uri,
)

USERNAME, PASSWORD = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"


class TrackingServerHook:
    """Stop at once when the tracking server cannot be used; create the experiment."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        """Before kedro-mlflow's own set-up, which contacts the server."""
        server = context.config_loader["mlflow"].get("server", {})
        uri = server.get("mlflow_tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI")
        if not is_server_uri(uri):
            return
        credentials = _credentials(context, server.get("credentials"))
        check_tracking_server(uri, credentials.get(USERNAME), credentials.get(PASSWORD))
        import mlflow  # noqa: PLC0415 (kedro-mlflow imports it anyway)

        with _environment(credentials):
            ensure_experiment(mlflow.MlflowClient(tracking_uri=uri), EXPERIMENT_NAME)


def _credentials(context, entry: str | None) -> dict[str, str]:
    """The client's credentials: kedro-mlflow's credentials entry if named, else the
    environment (MLflow reads the same two variables)."""
    found = {key: os.environ[key] for key in (USERNAME, PASSWORD) if key in os.environ}
    if entry:
        found.update(context.config_loader["credentials"].get(entry) or {})
    return found


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration, as kedro-mlflow does for the run."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
