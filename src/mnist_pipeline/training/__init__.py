"""The seed's training procedure, as a library the ``train`` pipeline calls. TensorFlow
lives here and nowhere else in the package; nothing here reads or writes files.

Read in this order:

- ``reference_step``: the seed's step (loss, SGD, moving averages) in plain TensorFlow 2,
  for both networks;
- ``averaged``: what both networks keep (weights, TensorFlow's moving averages, the step);
- ``mlp`` and ``lenet5``: the two networks (logits, L2 penalty, dropout, accuracy with the
  averages, the Keras model that is saved);
- ``schedules`` and ``batches``: the learning rate, the moving-average decay and the
  seeded batches of every step (NumPy);
- ``loop``: drives either step to the evaluation points, logs progress, checkpoints;
- ``checkpoints``: what a resume checkpoint must match, and what training needs of the
  checkpoint folder (kept by ``mnist_pipeline.datasets``);
- ``fused_steps``, ``fused_update`` and ``threads``: the MLP's step made fast (compiled
  stretches of steps, one fused kernel pass per variable, one shard of hidden units per
  core), tested equal to ``reference_step``;
- ``precision``: mixed precision of the products.

``schedules``, ``batches``, ``checkpoints``, ``fused_update`` and ``threads`` are plain
Python and NumPy (fast to import and to test; ``threads`` imports TensorFlow only to apply
its plan); the others need TensorFlow. (TensorFlow's C++ start-up lines are filtered from
the first import by ``mnist_pipeline.console``.)
"""
