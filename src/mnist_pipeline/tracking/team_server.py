"""A shared MLflow tracking server: check it before a run, and give team members access.

``kedro run --env server`` sends everything to the server named by ``MLFLOW_TRACKING_URI``
(``conf/server/mlflow.yml``). :class:`TrackingServerHook` runs before kedro-mlflow touches
the server: a server that cannot be reached, or that refuses the credentials, stops the
run at once with one message (:func:`check_tracking_server`) instead of minutes of
retries and a traceback; then it makes sure the experiment exists, so that several team
members starting their first runs at once do not race to create it. Local stores
(SQLite) are left to kedro-mlflow.

Team access (MLflow's ``basic-auth`` app; run by the server's admin, whose credentials
are in ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``; the new user's
password is read from standard input)::

    python -m mnist_pipeline.tracking_server add-member alice   # runs, models, the alias
    python -m mnist_pipeline.tracking_server add-reader carol   # reads everything, no more
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from collections.abc import Iterator
from http import HTTPStatus

import requests
from kedro.framework.hooks import hook_impl

from mnist_pipeline.errors import UserFacingError, exception_chain

from .model import REGISTERED_MODEL_NAME

#: Where the README tells a team to run its server.
DEFAULT_TRACKING_URI = "http://127.0.0.1:5000"
#: The experiment every run of the project logs to (``conf/base/mlflow.yml``).
EXPERIMENT_NAME = "mnist_pipeline"
#: Seconds to wait to connect to the server.
CONNECT_TIMEOUT = 10


def _timeout() -> tuple[float, float]:
    """Connect within CONNECT_TIMEOUT; wait for an answer as long as MLflow's own client
    does (``MLFLOW_HTTP_REQUEST_TIMEOUT``, 120 s by default): a busy server, checking a
    password, may take more than a few seconds."""
    from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_TIMEOUT  # noqa: PLC0415

    return CONNECT_TIMEOUT, MLFLOW_HTTP_REQUEST_TIMEOUT.get()


_HELP = 'see the docs, "Sharing runs with a team"'


class TrackingServerError(UserFacingError, RuntimeError):
    """The tracking server cannot be reached or refuses this client."""


def is_server_uri(uri: str | None) -> bool:
    """Whether ``uri`` names a tracking server (not a local store)."""
    return bool(uri) and uri.startswith(("http://", "https://"))


def check_tracking_server(uri: str, username: str | None, password: str | None) -> None:
    """Check that the server at ``uri`` answers and accepts these credentials.

    Raises:
        TrackingServerError: naming the server and what to do.
    """
    uri = uri.rstrip("/")
    auth = (username, password or "") if username else None
    timeout = _timeout()
    try:
        requests.get(f"{uri}/health", timeout=timeout).raise_for_status()
        answer = requests.get(
            f"{uri}/api/2.0/mlflow/experiments/search",
            params={"max_results": 1},
            auth=auth,
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise TrackingServerError(
            f"The MLflow tracking server at {uri} cannot be reached ({type(exc).__name__}). "
            "Start it, or set MLFLOW_TRACKING_URI to a server that runs, then run again "
            f"({_HELP})."
        ) from None
    if answer.status_code == HTTPStatus.UNAUTHORIZED:
        what = (
            f"refused the password of user {username!r}: check MLFLOW_TRACKING_PASSWORD"
            if username
            else "needs credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
        )
        raise TrackingServerError(
            f"The MLflow tracking server at {uri} {what} (or the credentials entry named in "
            f"conf/server/mlflow.yml), then run again ({_HELP})."
        )
    if not answer.ok:
        raise TrackingServerError(
            f"The MLflow tracking server at {uri} answered HTTP {answer.status_code} "
            f"({answer.text[:200]!r}); is it an MLflow server? ({_HELP})."
        )


def explain_tracking_failure(exc: BaseException) -> str | None:
    """One line for an MLflow failure a user can act on (a refused request, a server
    that went away during the run), or ``None`` for anything else."""
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    for current in exception_chain(exc):
        if isinstance(current, MlflowException):
            uri = _tracking_uri()
            if current.error_code in {"PERMISSION_DENIED", "UNAUTHENTICATED"}:
                return (
                    f"The MLflow tracking server at {uri} refused a request of this run "
                    f"({current.message.splitlines()[0][:200]}). Ask the server's admin to "
                    f"make you a member (EDIT on experiment {EXPERIMENT_NAME} and model "
                    f"{REGISTERED_MODEL_NAME}; {_HELP})."
                )
            if "Max retries exceeded" in current.message:
                return (
                    f"The MLflow tracking server at {uri} stopped answering during the run "
                    "and did not come back within MLflow's retries. Training checkpoints "
                    "are kept locally: run the same command again once the server is back, "
                    "and training resumes from the last checkpoint."
                )
    return None


def _tracking_uri() -> str:
    import mlflow  # noqa: PLC0415

    return mlflow.get_tracking_uri()


def ensure_experiment(client, name: str) -> str:
    """The id of experiment ``name``, created if missing (safe when several runs race)."""
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(name).experiment_id


def _add_user(uri: str, name: str, password: str, member: bool) -> None:
    import mlflow  # noqa: PLC0415
    from mlflow.exceptions import MlflowException  # noqa: PLC0415
    from mlflow.server import get_app_client  # noqa: PLC0415

    auth = get_app_client("basic-auth", tracking_uri=uri)
    auth.create_user(name, password)
    if not member:
        return
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = ensure_experiment(client, EXPERIMENT_NAME)
    try:
        client.create_registered_model(REGISTERED_MODEL_NAME)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    auth.grant_user_permission(name, "experiment", experiment_id, "EDIT")
    auth.grant_user_permission(name, "registered_model", REGISTERED_MODEL_NAME, "EDIT")


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


def main(argv: list[str] | None = None) -> None:
    """``python -m mnist_pipeline.tracking_server add-member|add-reader NAME``."""
    parser = argparse.ArgumentParser(
        prog="python -m mnist_pipeline.tracking_server",
        description="Give a user access to the team's MLflow tracking server (run as its "
        "admin: MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD). The new user's "
        "password is read from standard input.",
    )
    parser.add_argument("action", choices=["add-member", "add-reader"])
    parser.add_argument("name")
    parser.add_argument(
        "--uri", default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    )
    args = parser.parse_args(argv)
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.name} (12 characters or more): ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    check_tracking_server(
        args.uri,
        os.environ.get(USERNAME),
        os.environ.get(PASSWORD),
    )
    try:
        _add_user(args.uri, args.name, password, member=args.action == "add-member")
    except Exception as exc:  # noqa: BLE001 (MLflow's own message says what was refused)
        sys.exit(f"Could not add {args.name} on {args.uri}: {exc}")
    role = (
        "EDIT on the experiment and the registered model" if args.action == "add-member" else "READ"
    )
    print(f"Added {args.name} on {args.uri}: {role}.")


if __name__ == "__main__":
    main()
