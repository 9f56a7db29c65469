"""TensorFlow's C++ start-up lines are dropped; everything else written to stderr is kept."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from mnist_pipeline.console.tensorflow_logs import BANNER, _QuietFirstImport, stderr_without

BANNER_LINES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795965156.559103   14222 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results due to floating-point round-off errors "
    "from different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1795965156.559465   14222 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "I0000 00:00:1795965156.623233   14222 cpu_feature_guard.cc:227] This TensorFlow binary "
    "is optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other "
    "operations, rebuild TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1795965159.519113   14222 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
)
#: Lines like TensorFlow's own that say something a user must see.
KEPT_LINES = (
    "E0000 00:00:1795965159.519113   14222 op_kernel.cc:1830] OP_REQUIRES failed",
    "W0000 00:00:1795965159.519113   14222 cpu_allocator_impl.cc:83] Allocation exceeds 10%",
    "Traceback (most recent call last):",
)


def _python(script: str) -> subprocess.CompletedProcess:
    """Run ``script`` in a new interpreter, its output captured."""
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )


@pytest.mark.parametrize("line", BANNER_LINES)
def test_each_banner_line_is_recognised(line):
    assert BANNER.search(line)


@pytest.mark.parametrize("line", KEPT_LINES)
def test_other_lines_are_not(line):
    assert not BANNER.search(line)


def test_only_the_noise_is_dropped_from_what_c_and_python_write():
    # In a process of its own: pytest's capture replaces sys.stderr, a real process does not.
    script = (
        "import os, re, sys\n"
        "from mnist_pipeline.console.tensorflow_logs import stderr_without\n"
        "with stderr_without(re.compile('^noise')):\n"
        "    os.write(2, b'noise from C\\nkept from C\\n')\n"
        "    print('noise from Python\\nkept from Python', file=sys.stderr)\n"
        "os.write(2, b'after\\n')\n"
    )
    result = _python(script)
    assert result.stderr == "kept from C\nkept from Python\nafter\n"


def test_what_was_captured_is_written_back_when_the_import_fails(capfd):
    with pytest.raises(ImportError), stderr_without(re.compile("^noise")):
        os.write(2, b"noise\nwhy it failed\n")
        raise ImportError("broken")
    assert capfd.readouterr().err == "why it failed\n"


def test_the_first_import_of_the_module_runs_quietly_and_only_the_first(tmp_path, capfd):
    (tmp_path / "noisy_library.py").write_text(
        "import os\nos.write(2, b'noise at import\\nreal warning\\n')\nVALUE = 42\n"
    )
    seen = []
    finder = _QuietFirstImport("noisy_library", re.compile("^noise"), then=seen.append)
    sys.path.insert(0, str(tmp_path))
    sys.meta_path.insert(0, finder)
    try:
        import noisy_library
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("noisy_library", None)
    assert noisy_library.VALUE == 42
    assert seen == [noisy_library]
    assert finder not in sys.meta_path
    # The module keeps its own loader, not the wrapper.
    assert type(noisy_library.__loader__).__name__ == "SourceFileLoader"
    assert noisy_library.__spec__.loader is noisy_library.__loader__
    assert capfd.readouterr().err == "real warning\n"


@pytest.mark.parametrize("death", ["os.kill(os.getpid(), signal.SIGKILL)", "os.abort()"])
def test_what_was_written_reaches_stderr_when_the_process_dies_inside_the_import(tmp_path, death):
    """The one moment a user needs TensorFlow's message: it crashes while loading."""
    (tmp_path / "crashing_library.py").write_text(
        f"import os, signal\nos.write(2, b'noise at import\\nwhy it crashed\\n')\n{death}\n"
    )
    script = (
        "import re, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from mnist_pipeline.console.tensorflow_logs import _QuietFirstImport\n"
        "sys.meta_path.insert(0, _QuietFirstImport('crashing_library', re.compile('^noise')))\n"
        "import crashing_library\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode < 0  # killed by its signal
    assert result.stderr == "why it crashed\n"


@pytest.mark.slow
def test_tensorflow_starts_without_its_banner_and_still_takes_thread_settings():
    script = (
        "from mnist_pipeline.console.tensorflow_logs import filter_tensorflow_banner\n"
        "filter_tensorflow_banner()\n"
        "import keras, tensorflow as tf\n"
        "tf.config.threading.set_inter_op_parallelism_threads(2)\n"
        "threads = tf.config.threading.get_inter_op_parallelism_threads()\n"
        "print(float(tf.constant(1.0) + 1), threads)\n"
    )
    result = _python(script)
    assert result.stdout.split() == ["2.0", "2"]
    assert not any(BANNER.search(line) for line in result.stderr.splitlines()), result.stderr
    assert "oneDNN" not in result.stderr and "cuInit" not in result.stderr
