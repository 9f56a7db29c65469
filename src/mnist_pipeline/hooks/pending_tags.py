"""Tags decided before a run, set on its MLflow run once that is open.

kedro-mlflow opens the run's MLflow run in its own ``before_pipeline_run``, which may come
after a project hook's; the first ``before_node_run`` is the first moment it is open for
sure. Hooks that tag the run (:mod:`.lineage`, :mod:`.airflow`) fill ``_pending_tags``
before the run and inherit this ``before_node_run``.
"""

from __future__ import annotations

from kedro.framework.hooks import hook_impl


class PendingRunTags:
    """Set ``_pending_tags`` on the active MLflow run before the first node, once."""

    def __init__(self) -> None:
        """Start with no pending tags."""
        self._pending_tags: dict[str, str] = {}

    @hook_impl
    def before_node_run(self) -> None:
        """Tag the active MLflow run (open by now) with the pending tags."""
        if not self._pending_tags:
            return
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        if mlflow.active_run() is not None:
            mlflow.set_tags(self._pending_tags)
        self._pending_tags = {}
