"""The project's pipelines, one folder each: ``nodes.py`` (pure functions) and ``pipeline.py``."""

from kedro.pipeline import Node, Pipeline, pipeline


def stage(name: str, nodes: list[Node]) -> Pipeline:
    """The pipeline of stage ``name``: its nodes, tagged and namespaced ``name``.

    The namespace makes the stage one Airflow task (``kedro airflow create --group-by
    namespace``); its datasets keep their catalog names.
    """
    return pipeline(nodes, tags=[name], namespace=name, prefix_datasets_with_namespace=False)
