"""What the model is sent, and whether it still looks like what it was trained on.

:mod:`.features` describes an image by a few numbers (ink mass, ink box, centre offset,
stroke width, intensities); :mod:`.prediction_log` writes one record per answered image
(the served model, ``predict`` and the drawing page all write through it) and reads the
log back for ``kedro run --pipeline=monitor`` (:mod:`mnist_pipeline.pipelines.monitor`)
through the catalog's :class:`PredictionLogDataset`.
"""

from .log_dataset import PredictionLogDataset

__all__ = ["PredictionLogDataset"]
