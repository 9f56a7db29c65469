"""How fast does the served model answer, against the same model in this process?

Starts ``mlflow models serve`` of a registered version (the README's command, with
``--workers``), in its own process group, and measures, with real MNIST test digits
(``data/02_intermediate/test_images.npy``; run ``kedro run`` first):

1. one client, one image per request, sent as an encoded PNG file and as a pixel array:
   median and 95th percentile latency;
2. 16 clients at once (threads, each on its own kept-alive connection), one PNG image
   per request: requests/s, median and 95th percentile latency;
3. requests of 10,000 images, as encoded PNG files and as pixel arrays: seconds (median
   of ``--repeats``) and images/s;
4. step 2 again on servers with the prediction log on (into a temporary folder) and off
   (``MNIST_PIPELINE_PREDICTION_LOG=off``), alternately, ``--rounds`` each: the median
   requests/s and 95th percentile of each, and their ratios (log on / off). Here each
   client opens a new connection every 10 requests: a kept-alive connection stays with
   the worker that accepted it, and how 16 of them happen to fall on 2 workers moved a
   round's requests/s by a factor of 2, hiding the log's cost.

Steps 1-3 run with the log on, as the model is served by default.

The reference, in the same run: the same model loaded in this process
(``mlflow.pyfunc.load_model``) predicting the same request's contents (the same PNG
files, decoded and prepared, or the same arrays) with no HTTP or JSON. Each served
figure is printed with its ratio to that. Request bodies are encoded before timing. The
clients share the machine with the server, as a load test on one machine does.

    python benchmarks/serve_latency.py                        # the champion, 2 workers
    python benchmarks/serve_latency.py --model models:/mnist_classifier/3 --workers 1
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _server(model: str, workers: int, log: str) -> Iterator[int]:
    """``mlflow models serve`` of ``model`` on a free port, stopped (its whole group) after;
    its prediction log goes to ``log`` (a folder, or ``off``)."""
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "models",
        "serve",
        "-m",
        model,
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}",
        "MNIST_PIPELINE_PREDICTION_LOG": log,
    }
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"mlflow models serve -m {model} did not start") from None
                time.sleep(0.5)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _png(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


class _Client:
    """One kept-alive connection to the server."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def post(self, body: bytes) -> float:
        """Send one request; the seconds until its whole answer is read."""
        start = time.perf_counter()
        self._connection.request("POST", "/invocations", body, {"Content-Type": "application/json"})
        response = self._connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"the server answered {response.status}")
        return time.perf_counter() - start


def _percentiles(seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms"


def _timed(call, times: int) -> list[float]:
    call()  # the first call: graph tracing, not steady state
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def _concurrent(
    port: int, clients: int, total: int, body: bytes, reconnect_every: int = 0
) -> tuple[float, list[float]]:
    """``clients`` threads sending ``total`` requests of ``body`` between them: requests/s
    and every latency. With ``reconnect_every``, each client opens a new connection after
    that many requests (the time to connect is counted)."""
    latencies, lock = [], threading.Lock()

    def load() -> None:
        own = _Client(port)
        for sent in range(total // clients):
            if reconnect_every and sent and sent % reconnect_every == 0:
                own = _Client(port)
            seconds = own.post(body)
            with lock:
                latencies.append(seconds)

    threads = [threading.Thread(target=load) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - start), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models:/mnist_classifier@champion")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--singles", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--concurrent", type=int, default=2000, help="requests of step 2")
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="of step 4, each way")
    args = parser.parse_args()
    os.environ["MNIST_PIPELINE_PREDICTION_LOG"] = "off"  # the in-process reference logs nothing
    log_folder = tempfile.mkdtemp(prefix="prediction-log-")

    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}")
    images = np.load(PROJECT_ROOT / "data" / "02_intermediate" / "test_images.npy")
    large = images[: args.large]
    pngs = [_png(image) for image in large]
    png_body = lambda items: json.dumps({"inputs": items}).encode()  # noqa: E731
    pixel_body = lambda array: json.dumps({"inputs": array.tolist()}).encode()  # noqa: E731
    one_png, one_pixels = png_body(pngs[:1]), pixel_body(large[:1])
    large_png, large_pixels = png_body(pngs), pixel_body(large)

    model = mlflow.pyfunc.load_model(args.model)
    local = {
        "one PNG": _timed(lambda: model.predict(np.asarray(pngs[:1])), args.singles),
        "one pixel array": _timed(lambda: model.predict(large[:1].astype(float)), args.singles),
        "10k PNGs": _timed(lambda: model.predict(np.asarray(pngs)), args.repeats),
        "10k pixel arrays": _timed(lambda: model.predict(large.astype(float)), args.repeats),
    }
    assert isinstance(model.predict(np.asarray(pngs[:1])), pd.DataFrame)

    with _server(args.model, args.workers, log_folder) as port:
        client = _Client(port)
        served = {
            "one PNG": _timed(lambda: client.post(one_png), args.singles),
            "one pixel array": _timed(lambda: client.post(one_pixels), args.singles),
            "10k PNGs": _timed(lambda: client.post(large_png), args.repeats),
            "10k pixel arrays": _timed(lambda: client.post(large_pixels), args.repeats),
        }
        rate, latencies = _concurrent(port, args.clients, args.concurrent, one_png)
    with_log: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    for _ in range(args.rounds):
        for state in ("off", "on"):
            with _server(args.model, args.workers, log_folder if state == "on" else "off") as port:
                _concurrent(port, args.clients, args.clients * 8, one_png)  # warm-up
                rps, seconds = _concurrent(
                    port, args.clients, args.concurrent, one_png, reconnect_every=10
                )
                with_log[state].append((rps, float(np.percentile(seconds, 95))))

    print(f"\n{args.model}, mlflow models serve --workers {args.workers}")
    print(
        f"request sizes: one PNG {len(one_png):,} B, one pixel array {len(one_pixels):,} B, "
        f"10k PNGs {len(large_png) / 1e6:.1f} MB, 10k pixel arrays {len(large_pixels) / 1e6:.1f} MB"
    )
    for name in ("one PNG", "one pixel array"):
        ratio = statistics.median(served[name]) / statistics.median(local[name])
        print(
            f"1 client, {name:<16} served {_percentiles(served[name])}  in-process "
            f"{_percentiles(local[name])}  ratio {ratio:.1f}"
        )
    for name in ("10k PNGs", "10k pixel arrays"):
        s, lo = statistics.median(served[name]), statistics.median(local[name])
        print(
            f"{name:<17} served {s:6.2f} s ({args.large / s:7,.0f} images/s)  in-process "
            f"{lo:6.2f} s ({args.large / lo:7,.0f} images/s)  ratio {s / lo:.1f}"
        )
    print(
        f"{args.clients} clients at once, one PNG per request: {rate:.0f} "
        f"requests/s, {_percentiles(latencies)}"
    )
    medians = {
        state: (statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs))
        for state, runs in with_log.items()
    }
    (on_rps, on_p95), (off_rps, off_p95) = medians["on"], medians["off"]
    print(
        f"{args.clients} clients, prediction log on vs off ({args.rounds} servers each, "
        f"medians): {on_rps:.0f} vs {off_rps:.0f} requests/s (ratio {on_rps / off_rps:.3f}), "
        f"p95 {on_p95 * 1000:.2f} vs {off_p95 * 1000:.2f} ms (ratio {on_p95 / off_p95:.3f}); "
        f"each round: on {with_log['on']}, off {with_log['off']}"
    )


if __name__ == "__main__":
    main()
