"""Does the monitor see drift where there is some, and only there?

Sends each of these logs, 2,000 images each, to the champion of a trained project (in
this process, as the scoring server answers: ``source`` ``server``), each into a log
folder of its own, then compares each log with the champion's reference as ``kedro run
--pipeline=monitor`` does (its nodes and ``parameters_monitoring.yml``'s thresholds):

- MNIST test digits: the first 2,000, the last 2,000 (other writers), and 2,000 drawn
  from the whole test split: no drift expected;
- the same first 2,000 rotated by 20 to 30 degrees (either way), and thickened (a 2x2
  grey dilation): drift expected;
- Fashion-MNIST's first 2,000 test images (Debian's dataset-fashion-mnist): drift expected.

Prints, per log, the verdict, the share rejected and the figures that moved most.

    python benchmarks/drift_targets.py                  # this project (run `kedro run` first)
    python benchmarks/drift_targets.py --project /path/to/trained/copy
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FASHION = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")


def _logs(test_images: np.ndarray, count: int) -> dict[str, np.ndarray]:
    from scipy.ndimage import grey_dilation, rotate

    rng = np.random.default_rng(0)
    first = test_images[:count]
    angles = rng.uniform(20, 30, count) * rng.choice([-1, 1], count)
    logs = {
        "MNIST test, first": first,
        "MNIST test, last": test_images[-count:],
        "MNIST test, drawn": test_images[rng.choice(len(test_images), count, replace=False)],
        "rotated 20-30 deg": np.stack(
            [
                np.clip(rotate(image.astype(float), angle, reshape=False, order=1), 0, 255)
                for image, angle in zip(first, angles, strict=True)
            ]
        ).astype(np.uint8),
        "thickened": np.stack([grey_dilation(image, size=(2, 2)) for image in first]),
    }
    if FASHION.is_file():
        with gzip.open(FASHION) as handle:
            data = handle.read()
        logs["Fashion-MNIST"] = np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    return logs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    project = args.project.resolve()

    from mnist_pipeline.console import quiet_start

    quiet_start()  # TensorFlow's C++ notices off, as in a kedro run
    import mlflow
    import pandas as pd

    from mnist_pipeline.monitoring.prediction_log import LOCATION_VARIABLE, read_prediction_log
    from mnist_pipeline.pipelines.monitor.nodes import compare_with_reference, records_in_window

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    monitor = yaml.safe_load((project / "conf/base/parameters_monitoring.yml").read_text())
    monitor = {**monitor["monitor"], "last_records": args.count}
    champion = mlflow.MlflowClient().get_model_version_by_alias("mnist_classifier", "champion")
    reference = pd.read_csv(
        project / "data/06_models/monitoring_references" / f"{champion.version}.csv"
    )
    test_images = np.load(project / "data/02_intermediate/test_images.npy")
    print(f"mnist_classifier version {champion.version}; reference: {len(reference)} records")
    print(f"thresholds: { ({k: v for k, v in monitor.items() if k.startswith('max_')}) }\n")
    for name, images in _logs(test_images, args.count).items():
        with tempfile.TemporaryDirectory() as folder:
            os.environ[LOCATION_VARIABLE] = folder
            model = mlflow.pyfunc.load_model(f"models:/mnist_classifier/{champion.version}")
            for start in range(0, len(images), 100):
                model.predict(images[start : start + 100].astype(np.float64))
            model.unwrap_python_model().log.flush()
            log = records_in_window(read_prediction_log(folder), monitor)
        table, _, verdict = compare_with_reference(log, reference, monitor)
        moved = ", ".join(f"{row.figure} {row.distance:.3f}" for row in table.head(3).itertuples())
        figures = table.set_index("figure")["distance"]
        print(
            f"{name:20s} drift {'YES' if verdict['drift'] else 'no ':3s}  "
            f"rejected {log['rejected'].mean():6.1%}  digit mix {figures['digit_mix']:.3f}  "
            f"moved most: {moved}"
        )


if __name__ == "__main__":
    main()
