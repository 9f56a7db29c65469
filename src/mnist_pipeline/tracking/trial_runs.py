"""Every trial of a search as an MLflow run nested under the worker's ``tune`` run.

The search node receives :class:`TrialRuns` from the catalog (a handle, like the live
metrics): ``with trial_runs.run(number, parameters) as log:`` opens the trial's run, logs
its parameters as ``train.<name>``, hands back the function that logs its validation
history while it trains, and closes it with its outcome in the tags ``trial_state``
(complete, pruned or failed) and, when it failed, ``fail_reason``. A trial run carries
its parent's ``project_path`` and ``host`` tags, so that a worker killed mid-trial leaves
a run that the next run on its machine closes as KILLED (:mod:`.run_guard`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from .live_metrics import MetricsLogger, log_to_active_run
from .run_tags import HOST_TAG

#: Tags a trial's run takes from the worker's run.
INHERITED_TAGS = ("project_path", HOST_TAG, "mlflow.user")


class TrialRuns:
    """Opens one nested MLflow run per trial under the active run (the worker's)."""

    @contextlib.contextmanager
    def run(
        self, study_name: str, number: int, parameters: Mapping[str, Any]
    ) -> Iterator[MetricsLogger]:
        """Trial ``number``'s run, open for the duration; yields its metrics logger."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)
        import optuna  # noqa: PLC0415

        parent = mlflow.active_run()  # its tags as they are now, not as at its start
        inherited = {} if parent is None else mlflow.get_run(parent.info.run_id).data.tags
        tags = {key: inherited[key] for key in INHERITED_TAGS if key in inherited}
        tags.update({"tuning.study": study_name, "tuning.trial": str(number)})
        mlflow.start_run(run_name=f"trial {number}", nested=True, tags=tags)
        try:
            mlflow.log_params({f"train.{name}": value for name, value in parameters.items()})
            yield log_to_active_run
        except optuna.TrialPruned as exc:
            mlflow.set_tags({"trial_state": "pruned", "prune_reason": str(exc)})
            mlflow.end_run(status="FINISHED")
            raise
        except Exception as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0][:500]
            mlflow.set_tags({"trial_state": "failed", "fail_reason": reason})
            mlflow.end_run(status="FAILED")
            raise
        except BaseException:  # Ctrl-C, SIGTERM: the worker stops
            mlflow.end_run(status="KILLED")
            raise
        mlflow.set_tag("trial_state", "complete")
        mlflow.end_run(status="FINISHED")


class MlflowTrialRunsDataset(AbstractDataset[None, TrialRuns]):
    """``load`` returns :class:`TrialRuns`."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        """Create the dataset; ``metadata`` is free-form (e.g. for kedro-viz)."""
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"sink": "runs nested in the active MLflow run"}

    def _exists(self) -> bool:
        return True

    def load(self) -> TrialRuns:
        """The handle on the trials' runs."""
        return TrialRuns()

    def save(self, data: Any) -> None:
        """Trial runs are opened by the search itself, never saved to."""
        raise DatasetError("trial runs are opened by the search itself, not saved to")
