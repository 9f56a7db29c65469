"""Everything that talks to MLflow, and what guards a run; each module holds its hook or
datasets beside its logic (the hooks are registered in :mod:`mnist_pipeline.settings`).

- :mod:`.model`: what a trained model is in MLflow (the served model, logged and
  registered: signature, example, requirements) and how a registered version is read back;
- :mod:`.served_model`: the served model itself; :mod:`.fresh_process` and
  :mod:`.served_model_worker`: a registered version served in a fresh process (the gate's
  challenger);
- :mod:`.registry`: the registry's datasets for the gate (the champion, the decision
  applied), and moving the champion by hand;
- :mod:`.lineage`: the trained model a run needs, and the data it reads, logged;
- :mod:`.run_tags`: a node's tags and parameters on its run, and the run's machine;
- :mod:`.live_metrics`: the training curve logged while training runs;
- :mod:`.trial_runs`: a search's trials, each a nested run;
- :mod:`.run_guard`: one run at a time per project, MLflow runs of dead processes closed;
- :mod:`.team_server`: a team's tracking server checked before use, and its admin command.
"""
