"""The seed's training procedure, as a library the ``train`` pipeline calls.

``schedules`` and ``batches`` are plain NumPy (fast to import and to test); ``mlp``
holds everything that needs TensorFlow; ``loop`` drives training and reports progress.
"""
