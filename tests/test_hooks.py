"""The hooks a run gets: the project's four, and kedro-mlflow's own, once."""

from __future__ import annotations

from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro_mlflow.framework.hooks import MlflowHook

from mnist_pipeline import settings


def test_the_project_registers_four_hooks_and_kedro_mlflow_runs_its_own_once():
    hook_manager = _create_hook_manager()
    _register_hooks(hook_manager, settings.HOOKS)
    _register_hooks_entry_points(hook_manager, ())
    plugins = hook_manager.get_plugins()
    assert len(settings.HOOKS) == 4 and all(hook in plugins for hook in settings.HOOKS)
    mlflow_hooks = [p for p in plugins if isinstance(p, MlflowHook)]
    assert [type(hook) for hook in mlflow_hooks] == [MlflowHook]  # its entry point's
