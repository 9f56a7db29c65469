"""TensorFlow without the lines of its C++ logging a user cannot act on, and without losing
any other line.

TensorFlow 2.21 writes lines to the process's stderr from C++ that no logging variable
reaches: while its libraries load and when it first looks for devices (that oneDNN is on,
that there is no CUDA driver, that the binary could use more CPU instructions, that
``cuInit`` failed: :data:`BANNER`, written by absl before its logging is initialised),
and while a model is exported (its graph optimiser and the LiteRT converter reading and
writing SavedModels: :data:`EXPORT_LOG`, absl's ``I0000``/``W0000`` lines).

:func:`stderr_without` sends file descriptor 2 (C++ and Python writes alike) through a
pipe to a small filter process of its own, which passes every line that its pattern does
not match on to the real stderr as it arrives. The filter outlives this process: if the
process dies inside the block (a crash, ``kill -9``), the filter still reads what was
written up to that moment, passes it on, and exits when the pipe closes.
:func:`filter_tensorflow_banner` makes the process's first ``import tensorflow`` (by any
module, ``keras`` included) run inside it; the exports run inside it too
(:mod:`mnist_pipeline.datasets.keras_exports_dataset`). This module does not import
TensorFlow.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import subprocess
import sys
from collections.abc import Iterator

#: The lines TensorFlow 2.21 prints on a CPU-only machine before absl logging starts.
BANNER = re.compile(
    "|".join(
        (
            r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written "
            r"to STDERR$",
            r"^I\d{4} [\d:. ]+\S+\.cc:\d+\] oneDNN custom operations are on\.",
            r"^I\d{4} [\d:. ]+\S+\.cc:\d+\] Could not find cuda drivers on your machine",
            r"^I\d{4} [\d:. ]+\S+\.cc:\d+\] This TensorFlow binary is optimized to use "
            r"available CPU instructions",
            r"^To enable the following instructions: .*rebuild TensorFlow with the "
            r"appropriate compiler flags\.$",
            r"^E\d{4} [\d:. ]+\S+\.cc:\d+\] failed call to cuInit: ",
        )
    )
)


#: What TensorFlow's C++ logging says while a model is exported, at INFO and WARNING (an
#: ``E`` line, an error, is passed on): the graph optimiser's sessions, the SavedModel reader
#: and loader, and the LiteRT converter's notes on options it ignores.
EXPORT_LOG = re.compile(r"^[IW]\d{4} [\d:. ]+\S+\.cc:\d+\] ")


#: The filter process: copies standard input to standard output, line by line, except the
#: lines its pattern (``argv[1]``) matches; it ignores Ctrl-C (it ends when its input does).
_FILTER = (
    "import re, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "noise = re.compile(sys.argv[1])\n"
    "for line in sys.stdin.buffer:\n"
    "    if not noise.search(line.decode(errors='replace').rstrip('\\n')):\n"
    "        sys.stdout.buffer.write(line)\n"
    "        sys.stdout.buffer.flush()\n"
)


@contextlib.contextmanager
def stderr_without(noise: re.Pattern) -> Iterator[None]:
    """For the duration, send file descriptor 2 (C++ and Python writes alike) through a
    filter process that drops the lines ``noise`` matches and passes the others on at once;
    afterwards, wait until it has passed on everything."""
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    try:
        line_filter = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _FILTER, noise.pattern],
            stdin=read_end,
            stdout=2,
            start_new_session=True,  # not stopped by a Ctrl-C meant for this process
        )
    except OSError:  # no filter process here: TensorFlow's lines are shown, never lost
        os.close(read_end)
        os.close(write_end)
        yield
        return
    os.close(read_end)
    original = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the filter reads to its end
        os.close(original)
        line_filter.wait()


class _QuietFirstImport(importlib.abc.MetaPathFinder):
    """Finds ``module`` as Python would, and runs its first import (and ``then``, given the
    fresh module) inside :func:`stderr_without`."""

    def __init__(self, module: str, noise: re.Pattern, then=None) -> None:
        self.module = module
        self.noise = noise
        self.then = then

    def find_spec(self, fullname, path, target=None):
        if fullname != self.module:
            return None
        sys.meta_path.remove(self)  # the first import only; never found twice
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader

        def quiet_exec_module(module) -> None:
            with stderr_without(self.noise):
                loader.exec_module(module)
                if self.then is not None:
                    self.then(module)

        # Only this import runs through the wrapper, which puts the module's own loader
        # back on it before it runs.
        spec.loader = _Once(loader, quiet_exec_module)
        return spec


class _Once(importlib.abc.Loader):
    """``loader`` with its ``exec_module`` replaced; puts ``loader`` back on the module.

    Everything else is ``loader``'s own: other import hooks (MLflow's, for autologging)
    may wrap this one and load through the legacy ``load_module``, which asks the loader
    for the file name and whether it is a package.
    """

    def __init__(self, loader, exec_module) -> None:
        self._loader = loader
        self._exec_module = exec_module

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__spec__.loader = self._loader
        module.__loader__ = self._loader
        self._exec_module(module)


def _find_devices(tensorflow) -> None:
    # The cuInit line comes when TensorFlow first enumerates devices, not at import.
    tensorflow.config.list_physical_devices()


def filter_tensorflow_banner() -> None:
    """Make the process's first ``import tensorflow`` (if it has not happened yet) print
    none of :data:`BANNER`; called from the project's settings, so every ``kedro`` command
    has it."""
    if "tensorflow" in sys.modules or any(
        isinstance(finder, _QuietFirstImport) and finder.module == "tensorflow"
        for finder in sys.meta_path
    ):
        return
    sys.meta_path.insert(0, _QuietFirstImport("tensorflow", BANNER, then=_find_devices))
