"""Load one registered model in a fresh Python process and answer its requests.

Started by :class:`.fresh_process.ServedInAFreshProcess` as a script
(``python -I served_model_worker.py FD``), never imported: the process must load the model
with the code the model was logged with, as ``mlflow models serve`` does, so it imports
nothing of this project before MLflow loads the model. It imports MLflow and TensorFlow
at once (while its parent is still logging the model), then waits on the connection
``FD`` (a socket its parent passed) for the model's URI, loads the model from the
registry that ``MLFLOW_TRACKING_URI`` and ``MLFLOW_REGISTRY_URI`` name, says whether it
could, and answers every request that follows with the model's own ``predict``: its
table, its refusal (an ``MlflowException``: the HTTP 400 of a server), or the error it
failed with. It ends when the connection closes.
"""

import sys
from multiprocessing.connection import Connection


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"[:300]


def ask(model, request):
    """The model's answer; its prediction log is left out (the project's own checks ask
    here) when the model takes request parameters."""
    if model.metadata.get_params_schema() is None:
        return model.predict(request)
    return model.predict(request, params={"source": ""})


def main() -> None:
    connection = Connection(int(sys.argv[1]))
    try:
        # What loading the model imports first; a failure is told to the parent too.
        import mlflow  # noqa: PLC0415
        import tensorflow  # noqa: F401, PLC0415
        from mlflow.exceptions import MlflowException  # noqa: PLC0415
    except Exception as exc:  # noqa: BLE001 (whatever stops it starting, the parent is told)
        connection.send(("failed", _first_line(exc)))
        return
    try:
        uri = connection.recv()
        model = mlflow.pyfunc.load_model(uri)
    except EOFError:
        return
    except Exception as exc:  # noqa: BLE001 (whatever stops it loading, the parent is told)
        connection.send(("failed", _first_line(exc)))
        return
    connection.send(("ready", None))
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("answer", ask(model, request)))
        except MlflowException as exc:
            connection.send(("refused", (exc.message, exc.error_code)))
        except Exception as exc:  # noqa: BLE001 (the parent decides what a failure means)
            connection.send(("failed", _first_line(exc)))


if __name__ == "__main__":
    main()
