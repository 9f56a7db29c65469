"""The seed's training procedure, as a library the ``train`` pipeline calls.

``schedules``, ``batches``, ``config``, ``fused_update`` and ``threads`` (the thread
layout; it imports TensorFlow only to apply it) are plain Python and NumPy (fast to import and to
test); ``mlp`` (the network and its averages), ``fused_steps`` (the
compiled training loop) and ``checkpoints`` need TensorFlow; ``loop`` drives training
and reports progress.
"""
