"""The seed's training procedure, as a library the ``train`` pipeline calls.

``schedules``, ``batches``, ``config`` and ``fused_update`` are plain NumPy (fast to
import and to test); ``mlp`` (the network and its averages), ``fused_steps`` (the
compiled training loop) and ``checkpoints`` need TensorFlow; ``loop`` drives training
and reports progress.
"""
