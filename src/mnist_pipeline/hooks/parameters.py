"""Stop a run whose parameters cannot work, before any data is read.

It runs before the pipeline (and before kedro-mlflow opens a run): a setting that cannot
work stops the run with one message, no data read, no run recorded.
"""

from __future__ import annotations

from kedro.framework.hooks import hook_impl

from mnist_pipeline.datasets.idx_dataset import IDXDataset
from mnist_pipeline.parameters import check_parameters

#: The raw training labels: their header says how many examples the splits share.
TRAINING_LABELS_DATASET = "raw_train_labels"


class ParameterCheckHook:
    """Check the parameter namespaces a pipeline uses (``params:<namespace>...``)."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline, catalog) -> None:
        """Check every namespace the pipeline's nodes take parameters from."""
        namespaces = {
            name.removeprefix("params:").split(".")[0]
            for name in pipeline.inputs()
            if name.startswith("params:")
        }
        if not namespaces:
            return
        parameters = catalog.get("parameters").load()  # the merged parameters, not data
        check_parameters(parameters, namespaces, _training_file_examples(catalog))


def _training_file_examples(catalog) -> int | None:
    """How many examples the raw training labels file declares, from its header alone."""
    if TRAINING_LABELS_DATASET not in catalog:
        return None
    dataset = catalog.get(TRAINING_LABELS_DATASET)
    shape = dataset.peek_shape() if isinstance(dataset, IDXDataset) else None
    return shape[0] if shape else None
