"""Which training examples each step sees: a seeded shuffle of the training set each epoch.

The examples form one stream, epoch after epoch, each epoch a fresh permutation; step
``s`` takes the ``batch_size`` examples at stream positions ``s*batch_size`` onward.
That is the seed's ``DataSet.next_batch`` (an epoch's leftover examples are followed by
the start of the next epoch's shuffle). The permutation of epoch ``e`` depends only on
``(seed, e)``, so any step's batch can be recomputed, which is what makes resuming
training exact.
"""

from __future__ import annotations

import numpy as np


class EpochShuffler:
    """Batch indices for any range of steps, reproducible from the seed alone."""

    def __init__(self, num_examples: int, batch_size: int, seed: int) -> None:
        """Create the shuffler for ``num_examples`` examples in batches of ``batch_size``
        (at most ``num_examples``: :data:`mnist_pipeline.parameters.TrainParameters`)."""
        self.num_examples = num_examples
        self.batch_size = batch_size
        self.seed = seed
        self._cached_epoch: int | None = None
        self._cached_permutation: np.ndarray | None = None

    def permutation(self, epoch: int) -> np.ndarray:
        """The order in which epoch ``epoch`` visits the examples."""
        if epoch != self._cached_epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._cached_permutation = rng.permutation(self.num_examples).astype(np.int32)
            self._cached_epoch = epoch
        return self._cached_permutation

    def batch_indices(self, first_step: int, num_steps: int) -> np.ndarray:
        """Indices of the examples of steps ``first_step .. first_step+num_steps-1``,
        as an int32 array of shape ``(num_steps, batch_size)``."""
        start = first_step * self.batch_size
        stop = start + num_steps * self.batch_size
        pieces = []
        position = start
        while position < stop:
            epoch, offset = divmod(position, self.num_examples)
            take = min(self.num_examples - offset, stop - position)
            pieces.append(self.permutation(epoch)[offset : offset + take])
            position += take
        flat = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int32)
        return flat.reshape(num_steps, self.batch_size)
