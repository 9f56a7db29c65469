"""kedro-mlflow's hook as the project registers it: metrics named, nothing else built."""

from __future__ import annotations

from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro.io import DataCatalog
from kedro_mlflow.framework.hooks import MlflowHook
from kedro_mlflow.io.metrics import MlflowMetricDataset

from mnist_pipeline import settings
from mnist_pipeline.tracking.kedro_mlflow_hook import LazyCatalogMlflowHook, metric_entries

CONFIG = {
    "test_accuracy": {"type": "kedro_mlflow.io.metrics.MlflowMetricDataset"},
    "keyed_metric": {"type": "kedro_mlflow.io.metrics.MlflowMetricDataset", "key": "given"},
    "loss_history": {
        "type": "kedro_mlflow.io.metrics.mlflow_metric_history_dataset.MlflowMetricHistoryDataset"
    },
    # A type that cannot even be imported: building this entry would raise.
    "report": {"type": "no_such_package.ReportDataset", "filepath": "report.txt"},
    "_anchor": "not a dataset",
}


def _after_catalog_created(catalog: DataCatalog, conf_catalog: dict) -> None:
    LazyCatalogMlflowHook().after_catalog_created(
        catalog=catalog,
        conf_catalog=conf_catalog,
        conf_creds={},
        parameters={},
        save_version="",
        load_versions={},
    )


def test_a_metric_dataset_factory_pattern_is_left_to_kedro():
    """kedro-mlflow visits the catalog's entries; a pattern is resolved when a run needs it."""
    config = {
        "{name}_score": {"type": "kedro_mlflow.io.metrics.MlflowMetricDataset"},
        "test_accuracy": {"type": "kedro_mlflow.io.metrics.MlflowMetricDataset"},
    }
    catalog = DataCatalog.from_config(config)

    _after_catalog_created(catalog, config)

    assert catalog.keys() == ["test_accuracy"]
    assert catalog["test_accuracy"].key == "test_accuracy"
    assert catalog["val_score"].key is None  # kedro-mlflow's hook never saw it


def test_the_metric_entries_are_read_from_the_config_in_either_spelling():
    assert metric_entries(CONFIG) == ["test_accuracy", "keyed_metric", "loss_history"]


def test_metric_datasets_take_their_entry_name_and_no_other_entry_is_built():
    config = {name: spec for name, spec in CONFIG.items() if not name.startswith("_")}
    catalog = DataCatalog.from_config(config)

    _after_catalog_created(catalog, config)  # "report" would fail to import if it were built

    assert isinstance(catalog["test_accuracy"], MlflowMetricDataset)
    assert catalog["test_accuracy"].key == "test_accuracy"  # kedro-mlflow's own rule
    assert catalog["keyed_metric"].key == "given"
    assert catalog["loss_history"].key == "loss_history"


def test_the_project_runs_exactly_one_mlflow_hook():
    """Its own subclass, not also the one kedro-mlflow's entry point registers."""
    hook_manager = _create_hook_manager()
    _register_hooks(hook_manager, settings.HOOKS)
    _register_hooks_entry_points(hook_manager, settings.DISABLE_HOOKS_FOR_PLUGINS)
    mlflow_hooks = [p for p in hook_manager.get_plugins() if isinstance(p, MlflowHook)]
    assert [type(hook) for hook in mlflow_hooks] == [LazyCatalogMlflowHook]
