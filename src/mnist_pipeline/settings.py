"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

kedro-mlflow's hooks register themselves through its entry point; the MLflow settings are
in ``conf/base/mlflow.yml``.
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probing on a CPU machine, oneDNN notices) hides
# the run's own log; warnings and errors still show. A user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
