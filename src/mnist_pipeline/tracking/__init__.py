"""Everything that talks to MLflow, and what guards a run; each module holds its hook
beside its logic (the hooks are registered in :mod:`mnist_pipeline.settings`).

- :mod:`.model`: what a trained model is in MLflow (the inference pipeline packaged by
  kedro-mlflow: signature, example, requirements), its registered name and alias;
- :mod:`.registry`: a newly registered version becomes the champion if it earns it;
- :mod:`.lineage`: a run that uses a trained model is tagged with the run that trained it;
- :mod:`.run_tags`: the one way a run is tagged (its machine, its Airflow task, a node's tags);
- :mod:`.live_metrics`: the training curve logged while training runs;
- :mod:`.run_guard`: one run at a time per project, MLflow runs of dead processes closed;
- :mod:`.team_server`: a team's tracking server checked before use, and its admin command;
- :mod:`.kedro_mlflow_hook`: kedro-mlflow's own hook, building no unused catalog entry.
"""
