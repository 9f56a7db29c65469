"""A registered model served in a fresh Python process, used like a loaded one.

:class:`ServedInAFreshProcess` starts :mod:`.served_model_worker` in a new interpreter,
which imports MLflow and TensorFlow at once and, once told which model (:meth:`load`),
loads it from the registry with the code it was logged with, as ``mlflow models serve``
would; each ``predict`` request is then sent there. So the gate scores a new version as a
server will answer, and a version that loads or answers only in the process that trained
it never becomes the champion. The process is started once (before the model is logged,
so that its imports overlap the logging), answers as many requests as it is sent, and
ends with :meth:`~ServedInAFreshProcess.close` (or when this process ends).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from mnist_pipeline.errors import UserFacingError

#: The worker script (run as a file: the new process imports nothing of this package).
WORKER = Path(__file__).with_name("served_model_worker.py")


class ServedModelError(UserFacingError, RuntimeError):
    """The served model failed to load or to answer in its fresh process."""


def _stop(process: subprocess.Popen, connection: Connection, log) -> None:
    connection.close()  # the worker ends when its connection closes
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


class ServedInAFreshProcess:
    """A served model in a process of its own; ``predict`` takes and returns what the
    loaded model's does, and raises its refusals."""

    def __init__(self, timeout: float = 600) -> None:
        """Start the process; it imports its libraries while this one goes on."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        self.model_uri: str | None = None
        self._timeout = timeout
        self._ready = False
        ours, theirs = socket.socketpair()
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in _stop)
        self._process = subprocess.Popen(
            [sys.executable, "-I", str(WORKER), str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
                "MLFLOW_REGISTRY_URI": mlflow.get_registry_uri(),
            },
        )
        theirs.close()
        self._connection = Connection(ours.detach())
        self._finalizer = weakref.finalize(self, _stop, self._process, self._connection, self._log)

    def load(self, model_uri: str) -> ServedInAFreshProcess:
        """Have the process load the served model at ``model_uri`` (a registry address)."""
        self.model_uri = model_uri
        with contextlib.suppress(OSError):  # it ended: what it said is read at the first request
            self._connection.send(model_uri)
        return self

    def _receive(self) -> tuple[str, Any]:
        if not self._connection.poll(self._timeout):
            raise ServedModelError(
                f"the served model {self.model_uri} did not answer within {self._timeout:.0f} s"
            )
        try:
            return self._connection.recv()
        except EOFError:
            self._log.seek(0)
            last = (self._log.read().strip().splitlines() or ["no output"])[-1][:300]
            raise ServedModelError(f"the process serving {self.model_uri} ended ({last})") from None

    def predict(self, model_input: Any) -> Any:
        """The served model's answer to ``model_input``, computed in its process.

        Raises:
            MlflowException: the served model's refusal of a bad request, as it raised it.
            ServedModelError: when it failed to load or to answer.
        """
        from mlflow.exceptions import MlflowException  # noqa: PLC0415
        from mlflow.protos.databricks_pb2 import ErrorCode  # noqa: PLC0415

        if not self._ready:
            kind, detail = self._receive()
            if kind != "ready":
                raise ServedModelError(f"the served model {self.model_uri} did not load ({detail})")
            self._ready = True
        self._connection.send(model_input)
        kind, detail = self._receive()
        if kind == "refused":
            message, error_code = detail
            raise MlflowException(message, error_code=ErrorCode.Value(error_code))
        if kind == "failed":
            raise ServedModelError(f"the served model {self.model_uri} failed ({detail})")
        return detail

    def close(self) -> None:
        """End the process."""
        self._finalizer()
