"""mnist-pipeline: the classic TensorFlow MNIST MLP as a tracked, tested Kedro project."""

__version__ = "0.1.0"
