"""The seed's training procedure, as a library the ``train`` pipeline calls.

Read in this order:

- ``reference_step``: the seed's step (loss, SGD, moving averages) in plain TensorFlow 2;
- ``mlp``: the network's variables, their averages, accuracy with the averages;
- ``lenet5``: the book's convolutional network and its step, the same machinery
  (``train.model: lenet5``);
- ``schedules`` and ``batches``: the learning rate, the moving-average decay and the
  seeded batches of every step (NumPy);
- ``loop``: drives either step to the evaluation points, logs progress, checkpoints;
- ``checkpoints``: resume checkpoints and their fingerprint;
- ``config``: the ``train`` parameters;
- ``fused_steps``, ``fused_update`` and ``threads``: the same step made fast (compiled
  stretches of steps, one fused kernel pass per variable, one shard of hidden units per
  core), tested equal to ``reference_step``.

``schedules``, ``batches``, ``config``, ``fused_update`` and ``threads`` are plain Python
and NumPy (fast to import and to test; ``threads`` imports TensorFlow only to apply its
plan); the others need TensorFlow.
"""
