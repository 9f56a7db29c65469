"""The project's pipelines, one folder each: ``nodes.py`` (pure functions) and ``pipeline.py``."""
