"""Project CLI: Kedro's own ``kedro run``, with expected failures shown as one message.

Kedro's CLI loads ``<package>.cli`` and lets its commands override the built-in ones;
this ``run`` takes exactly the built-in options and behaves the same, except that:

- a :class:`~mnist_pipeline.errors.UserFacingError` (a bad file or setting, a concurrent
  run: :mod:`.tracking.run_guard`) ends the run with its message and exit code 1
  instead of a traceback;
- a tracking server that refuses a request or goes away during the run ends it with one
  message too (:mod:`.tracking.team_server`);
- Ctrl-C and SIGTERM close the MLflow run as KILLED (exit code 130); SIGUSR1 prints
  where every thread of the run is (``kill -USR1 <pid>``: a run that seems stuck);
- ``--pipeline NAME`` (how this project's README and users run a stage) is taken as
  ``--pipelines NAME``, without Kedro 1.7's deprecation warning on every run, and a name
  that is not a registered pipeline is one message that lists the registered ones;
- a search (``--pipeline tune``) with ``tune.train_best: true`` is followed by the
  ``train_best`` pipeline, as if run next with the same options.

``kedro champion promote VERSION --reason ...`` and ``kedro champion rollback --reason
...`` move the registry's champion alias by hand (:mod:`.tracking.registry`); ``kedro
demo`` opens the drawing page on the champion (:mod:`.demo`).
"""

from __future__ import annotations

import faulthandler
import signal
from pathlib import Path

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.project import pipelines as registered_pipelines

from mnist_pipeline.errors import UserFacingError, find_user_facing
from mnist_pipeline.tracking.team_server import explain_tracking_failure


@click.group(name="mnist-pipeline")
def cli() -> None:
    """Commands of the mnist-pipeline project."""


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _trains_the_best(options: dict) -> bool:
    """Whether the parameters of this ``kedro run`` set ``tune.train_best``."""
    from kedro.framework.project import settings  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    project = Path.cwd()
    bootstrap_project(project)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=options["conf_source"] or str(project / settings.CONF_SOURCE),
        env=options["env"],
        runtime_params=options["params"],
        **settings.CONFIG_LOADER_ARGS,
    )
    return bool((loader["parameters"].get("tune") or {}).get("train_best"))


def _end_active_mlflow_runs(status: str) -> None:
    """End every run on MLflow's stack (kedro-mlflow may have pushed the same run twice;
    one left there would be closed as FINISHED by MLflow's exit handler)."""
    import mlflow  # noqa: PLC0415

    while mlflow.active_run() is not None:
        mlflow.end_run(status=status)


@cli.command(name="run", params=kedro_run.params, help=kedro_run.help)
def run(**kwargs) -> None:
    """Run the pipeline (see ``kedro run --help``)."""
    # SIGTERM (a scheduler, `kill`) is handled like Ctrl-C: the MLflow run is closed as
    # KILLED instead of being left RUNNING, and training resumes on the next run.
    signal.signal(signal.SIGTERM, _interrupt)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if kwargs["pipeline"] and not kwargs["pipelines"]:
        kwargs["pipelines"], kwargs["pipeline"] = [kwargs["pipeline"]], None
    unknown = [name for name in kwargs["pipelines"] if name not in registered_pipelines]
    if unknown:
        known = ", ".join(sorted(name for name in registered_pipelines if name != "__default__"))
        click.secho(
            f"Error: no pipeline named {', '.join(unknown)}; this project has {known}.",
            err=True,
            fg="red",
        )
        raise SystemExit(1)
    try:
        kedro_run.callback(**kwargs)
        if kwargs["pipelines"] == ["tune"] and _trains_the_best(kwargs):
            click.echo("tune.train_best is true: training the study's best trial (train_best).")
            kedro_run.callback(**{**kwargs, "pipelines": ["train_best"]})
    except KeyboardInterrupt:
        _end_active_mlflow_runs("KILLED")
        click.secho(
            "Interrupted: the MLflow run is marked KILLED. Interrupted training resumes from "
            "its last checkpoint on the next `kedro run`.",
            err=True,
            fg="yellow",
        )
        raise SystemExit(130) from None
    except Exception as exc:
        problem = find_user_facing(exc)
        if problem is not None:
            message = str(exc) if str(problem) in str(exc) else f"{exc}\n{problem}"
        else:
            message = explain_tracking_failure(exc)
            if message is None:
                raise
        click.secho(f"Error: {message}", err=True, fg="red")
        raise SystemExit(1) from None


@cli.group(name="champion")
def champion() -> None:
    """Move the registry's champion alias by hand (docs, "A champion, by a gate")."""


_ENV = click.option("--env", "-e", default=None, help="Kedro environment, e.g. server.")
_REASON = click.option("--reason", required=True, help="Why: kept on the version's tags.")


def _on_the_registry(env: str | None, action, echo: bool = True):
    """Run ``action(client)`` against the MLflow registry of the project's settings (and
    show what it returns)."""
    import mlflow  # noqa: PLC0415
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(Path.cwd())
    try:
        with KedroSession.create(env=env) as session:
            session.load_context()  # kedro-mlflow points MLflow at the project's store
            result = action(mlflow.MlflowClient())
    except Exception as exc:
        problem = find_user_facing(exc)
        message = str(problem) if problem is not None else explain_tracking_failure(exc)
        if message is None:
            raise
        click.secho(f"Error: {message}", err=True, fg="red")
        raise SystemExit(1) from None
    if echo:
        click.echo(result)
    return result


@champion.command(name="promote")
@click.argument("version")
@_REASON
@_ENV
def promote(version: str, reason: str, env: str | None) -> None:
    """Make VERSION the champion, whatever the gate decided."""
    from mnist_pipeline.tracking.registry import promote_by_hand  # noqa: PLC0415

    _on_the_registry(env, lambda client: promote_by_hand(client, version, reason))


@champion.command(name="rollback")
@_REASON
@_ENV
def rollback(reason: str, env: str | None) -> None:
    """Give the champion alias back to the version the current champion replaced."""
    from mnist_pipeline.tracking.registry import roll_back  # noqa: PLC0415

    _on_the_registry(env, lambda client: roll_back(client, reason))


@cli.command(name="demo")
@click.option(
    "--port",
    default=7860,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The port of the page on 127.0.0.1.",
)
@_ENV
def demo(port: int, env: str | None) -> None:
    """Open a page where you draw a digit and the registry's champion reads it."""
    import os  # noqa: PLC0415

    try:
        import gradio  # noqa: F401, PLC0415
    except ImportError:
        click.secho(
            'Error: the drawing page needs the demo extra: pip install -e ".[demo]"',
            err=True,
            fg="red",
        )
        raise SystemExit(1) from None
    # A page answers as it is drawn on: a registry that is down is a message within
    # seconds, not MLflow's minutes of retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    from mnist_pipeline.demo import Champion, serve  # noqa: PLC0415

    champion = _on_the_registry(env, Champion, echo=False)
    try:
        champion.current()  # loaded now (and logged), so that the first drawing is quick
    except UserFacingError as exc:  # the page tells it too, on every drawing
        click.secho(f"Warning: {exc}", err=True, fg="yellow")
    click.echo(f"The drawing page: http://127.0.0.1:{port}/ (Ctrl-C stops it)")
    serve(champion, port)
