"""kedro-mlflow's hook, without building every dataset of the catalog before each run.

After the catalog is created, kedro-mlflow 2.0 gives each of its metric datasets that has
no key of its own the catalog name as key. To find them it calls ``catalog.items()``,
which builds every entry of the catalog and so imports every dataset's library: a run
of ``ingest`` imported matplotlib (through the figures' dataset) for nothing. The hook is
also given the catalog's configuration, which names each entry's type without importing
it (Kedro's ``DataCatalog.get_type`` imports the class), so this hook hands kedro-mlflow
only the entries configured as one of its metric datasets; the rest are built when a
pipeline uses them, as Kedro intends. Everything else is kedro-mlflow's own hook,
unchanged; it replaces the one kedro-mlflow registers through its entry point
(``DISABLE_HOOKS_FOR_PLUGINS`` in :mod:`mnist_pipeline.settings`).
"""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset, DataCatalog
from kedro_mlflow.framework.hooks import MlflowHook

#: The classes kedro-mlflow's ``after_catalog_created`` looks for.
KEDRO_MLFLOW_METRIC_DATASETS = frozenset(
    {"MlflowMetricDataset", "MlflowMetricHistoryDataset", "MlflowMetricsHistoryDataset"}
)


class _MetricEntries:
    """The part of a catalog that kedro-mlflow reads and rewrites: its metric datasets."""

    def __init__(self, catalog: DataCatalog, names: list[str]):
        self._catalog = catalog
        self._names = names

    def items(self) -> list[tuple[str, AbstractDataset]]:
        return [(name, self._catalog[name]) for name in self._names]

    def __setitem__(self, name: str, dataset: AbstractDataset) -> None:
        self._catalog[name] = dataset


def metric_entries(conf_catalog: dict[str, Any]) -> list[str]:
    """Names of the entries configured as kedro-mlflow metric datasets, read from the config.

    Either spelling of the type counts: ``kedro_mlflow.io.metrics.MlflowMetricDataset`` or
    the class's full module path.
    """
    names = []
    for name, config in conf_catalog.items():
        dataset_type = config.get("type", "") if isinstance(config, dict) else ""
        package, _, class_name = str(dataset_type).rpartition(".")
        if package.startswith("kedro_mlflow.") and class_name in KEDRO_MLFLOW_METRIC_DATASETS:
            names.append(name)
    return names


class LazyCatalogMlflowHook(MlflowHook):
    """kedro-mlflow's ``MlflowHook``; after the catalog is created it builds only its metrics."""

    @hook_impl
    def after_catalog_created(
        self,
        catalog: DataCatalog,
        conf_catalog: dict[str, Any],
        conf_creds: dict[str, Any],
        parameters: dict[str, Any],
        save_version: str,
        load_versions: dict[str, str],
    ) -> None:
        """Name kedro-mlflow's metric datasets after their entries, building no other entry."""
        # The entries kedro-mlflow's own ``catalog.items()`` would visit: not the dataset
        # factory patterns, which ``name in catalog`` would match (by the pattern itself).
        entries = set(catalog.keys())
        names = [name for name in metric_entries(conf_catalog) if name in entries]
        super().after_catalog_created(
            catalog=_MetricEntries(catalog, names),
            conf_catalog=conf_catalog,
            conf_creds=conf_creds,
            parameters=parameters,
            save_version=save_version,
            load_versions=load_versions,
        )
