"""After a training run, decide whether its registered model becomes the champion."""

from __future__ import annotations

import logging

from kedro.framework.hooks import hook_impl

from mnist_pipeline.registry import MODEL_DATASET, REGISTRATION_DATASET, promote_if_better

logger = logging.getLogger(__name__)


class ModelRegistryHook:
    """After a training run's model is registered, decide on the champion alias."""

    def __init__(self) -> None:
        """Start with no training run seen."""
        self._training_run_id: str | None = None

    @hook_impl
    def before_pipeline_run(self) -> None:
        """Forget the previous run's training run (one hook serves a whole session)."""
        self._training_run_id = None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        """Note the MLflow run that saved a trained model: its model will be registered."""
        if dataset_name == MODEL_DATASET:
            import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

            run = mlflow.active_run()
            self._training_run_id = run.info.run_id if run else None

    @hook_impl(trylast=True)
    def after_pipeline_run(self, pipeline, catalog) -> None:
        """After kedro-mlflow's own hook has logged and registered the model (``trylast``)."""
        from kedro_mlflow.pipeline.pipeline_ml import PipelineML  # noqa: PLC0415

        if self._training_run_id is None or not isinstance(pipeline, PipelineML):
            return
        import mlflow  # noqa: PLC0415

        outcome = promote_if_better(mlflow.MlflowClient(), self._training_run_id)
        catalog.save(REGISTRATION_DATASET, outcome)
        logger.info(
            "Registered %s version %d (%s): %s",
            outcome["registered_model"],
            outcome["version"],
            outcome["model_uri"],
            outcome["promotion"],
        )
