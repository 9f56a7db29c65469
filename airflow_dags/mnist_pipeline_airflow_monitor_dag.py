from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import dag, task

from kedro.framework.session import KedroSession
from kedro.framework.project import configure_project

# Kedro settings required to run your pipeline
env = "airflow"
pipeline_name = "monitor"
project_path = Path.cwd()
package_name = "mnist_pipeline"
conf_source = "" or Path.cwd() / "conf"


def _run_kedro_node(node_names=None, namespaces=None, params=None):
    """Run a Kedro pipeline slice. Pass node_names for regular node groups or namespaces for namespace groups.

    A namespace group runs the registered pipeline of the same name (each stage of
    mnist_pipeline is one): the default pipeline is a kedro-mlflow PipelineML, and a
    slice of it by namespace would not log and register the trained model. ``params``
    are runtime parameters (a search worker's number).
    """
    configure_project(package_name)
    with KedroSession.create(
        project_path=project_path, env=env, conf_source=conf_source, runtime_params=params
    ) as session:
        if namespaces is not None:
            session.run(pipeline_names=namespaces)
        else:
            session.run(pipeline_names=[pipeline_name], node_names=node_names)


@dag(
    dag_id="mnist-pipeline-monitor",
    start_date=datetime(2026,1,1),
    max_active_runs=1,
    schedule="@daily",
    catchup=False,
    default_args=dict(
        owner="airflow",
        depends_on_past=False,
        email_on_failure=False,
        email_on_retry=False,
        retries=2,
        retry_delay=timedelta(minutes=1)
    ),
)
def mnist_pipeline():

    @task(task_id="monitor")
    def monitor():
        _run_kedro_node(namespaces=["monitor"])

    tasks = {
        "monitor": monitor(),
    }


mnist_pipeline()