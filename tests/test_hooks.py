"""The hooks a run gets: the project's five, and kedro-mlflow's own, once."""

from __future__ import annotations

import sys

import mlflow
from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro_mlflow.framework.hooks import MlflowHook

from mnist_pipeline import settings
from mnist_pipeline.tracking.registry_uri import RegistryUriHook


def test_the_project_registers_five_hooks_and_kedro_mlflow_runs_its_own_once():
    hook_manager = _create_hook_manager()
    _register_hooks(hook_manager, settings.HOOKS)
    _register_hooks_entry_points(hook_manager, ())
    plugins = hook_manager.get_plugins()
    assert len(settings.HOOKS) == 5 and all(hook in plugins for hook in settings.HOOKS)
    mlflow_hooks = [p for p in plugins if isinstance(p, MlflowHook)]
    assert [type(hook) for hook in mlflow_hooks] == [MlflowHook]  # its entry point's


class _Looked:
    """A finder that only notes which top-level modules were looked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name, path=None, target=None):
        self.names.append(name)


def test_after_the_registry_hook_a_new_client_imports_nothing(tmp_path):
    """The system-metrics thread makes a client at every sample: it must not import (see
    mnist_pipeline.tracking.registry_uri)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    looked = _Looked()
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_registry_uri(None)
        sys.meta_path.insert(0, looked)
        mlflow.MlflowClient(uri)
        assert "pyspark" in looked.names  # what MLflow does by default
        RegistryUriHook().before_pipeline_run()
        looked.names.clear()
        client = mlflow.MlflowClient(uri)
        assert looked.names == []
        assert client._registry_uri == uri
    finally:
        sys.meta_path.remove(looked)
        mlflow.set_registry_uri(None)
        mlflow.set_tracking_uri(None)
