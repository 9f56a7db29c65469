"""How fast does the served model answer? Latency of small requests, throughput of large.

Against a running ``mlflow models serve`` (the README's command), with real MNIST test
digits from ``data/02_intermediate/test_images.npy`` (run ``kedro run`` first):

- single-image requests, one at a time: median and 95th percentile latency;
- one request of 10,000 images, several times: seconds (min, median) and images/s.

The reference in the same script is the same model loaded in this process
(``mlflow.pyfunc.load_model``) predicting the same arrays with no HTTP, JSON or
request parsing: the ratio served / in-process says how much of a request is the
model's own work. Request bodies are encoded once, before timing.

    mlflow models serve -m models:/mnist_classifier@champion --env-manager local \\
        --host 127.0.0.1 --port 5001 &
    python benchmarks/serve_latency.py
    python benchmarks/serve_latency.py --url http://127.0.0.1:5001 --singles 200 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _post(url: str, body: bytes) -> float:
    """Send one request; the seconds until its whole answer is read."""
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"the server answered {response.status}")
    return time.perf_counter() - start


def _body(images: np.ndarray) -> bytes:
    return json.dumps({"inputs": images.tolist()}).encode()


def _in_process(model_uri: str, images: np.ndarray, singles: int, repeats: int):
    """The same model's predict in this process: per single image, and the large batch."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    pixels = images.astype(np.float64)
    model.predict(pixels[:1])  # first call: graph tracing, not steady state
    single = []
    for index in range(singles):
        start = time.perf_counter()
        model.predict(pixels[index : index + 1])
        single.append(time.perf_counter() - start)
    large = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(pixels)
        large.append(time.perf_counter() - start)
    return single, large


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5001")
    parser.add_argument(
        "--model-uri",
        default="models:/mnist_classifier@champion",
        help="the model the server serves (for the in-process reference)",
    )
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    images = np.load(PROJECT_ROOT / "data" / "02_intermediate" / "test_images.npy")
    large_images = images[: args.large]
    bodies = [_body(images[i : i + 1]) for i in range(args.singles)]
    large_body = _body(large_images)

    _post(args.url, bodies[0])  # warm-up
    single = [_post(args.url, body) for body in bodies]
    large = [_post(args.url, large_body) for _ in range(args.repeats)]
    local_single, local_large = _in_process(
        args.model_uri, large_images, args.singles, args.repeats
    )

    def ms(values: list[float]) -> str:
        return (
            f"median {1000 * statistics.median(values):.1f} ms, "
            f"p95 {1000 * float(np.percentile(values, 95)):.1f} ms"
        )

    print(
        f"single image, {args.singles} requests: served {ms(single)}; in-process {ms(local_single)}"
    )
    print(
        f"  ratio served / in-process (median): "
        f"{statistics.median(single) / statistics.median(local_single):.1f}"
    )
    print(
        f"{len(large_images):,} images in one request ({len(large_body) / 1e6:.1f} MB), "
        f"{args.repeats} times: served min {min(large):.2f} s, median "
        f"{statistics.median(large):.2f} s = {len(large_images) / statistics.median(large):,.0f} "
        f"images/s; in-process min {min(local_large):.2f} s, median "
        f"{statistics.median(local_large):.2f} s = "
        f"{len(large_images) / statistics.median(local_large):,.0f} images/s"
    )
    print(
        f"  ratio served / in-process (median): "
        f"{statistics.median(large) / statistics.median(local_large):.1f}"
    )


if __name__ == "__main__":
    main()
