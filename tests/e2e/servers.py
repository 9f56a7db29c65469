"""Start a server in its own process group, wait until it answers, stop the whole group.

Every server a test starts also gets a :class:`Watchdog`: a small process of its own that
stops the server when the test process ends without stopping it, however it ends (an
exception, Ctrl-C, a runner's SIGTERM or ``kill -9``), so that no server outlives its tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path


def free_port(low: int = 20000, high: int = 49151) -> int:
    """A TCP port on 127.0.0.1 in [low, high] that nothing listens on right now.

    kedro-viz refuses ports above 49151 (the registered range), where the OS's own
    ephemeral choice often lands, so the port is drawn from a range instead.
    """
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(low, high)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}..{high}")


def get_json(url: str, timeout: float = 10) -> dict:
    """GET ``url`` and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


#: The watchdog: it waits on a pipe whose only writer is the test process. A byte means
#: "stopped as planned": it exits. End of file means the test process is gone: it signals
#: each target (``group:PGID:SIG`` or ``pid:PID:SIG``), waits up to 15 s, kills what is
#: left, then removes each ``folder:PATH``.
_WATCHDOG = """
import os, shutil, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
if sys.stdin.buffer.read(1):
    sys.exit(0)
kinds = {"group": os.killpg, "pid": os.kill}
targets = [arg.split(":", 2) for arg in sys.argv[1:]]
processes = [
    (kinds[kind], int(number), getattr(signal, "SIG" + sig))
    for kind, number, sig in targets
    if kind in kinds
]
def alive(send, number):
    try:
        send(number, 0)
    except ProcessLookupError:
        return False
    return True
for send, number, sig in processes:
    if alive(send, number):
        send(number, sig)
deadline = time.monotonic() + 15
while any(alive(send, number) for send, number, _ in processes) and time.monotonic() < deadline:
    time.sleep(0.2)
for send, number, _ in processes:
    if alive(send, number):
        send(number, signal.SIGKILL)
for kind, path, _ in targets:
    if kind == "folder":
        shutil.rmtree(path, ignore_errors=True)
"""


class Watchdog:
    """Stops a server's processes (and removes its folders) if this process ends first."""

    def __init__(self, *targets: str) -> None:
        """``targets``: ``group:PGID:TERM``, ``pid:PID:QUIT``, ``folder:PATH:`` ..."""
        read_end, self._write_end = os.pipe()  # not inherited by any other child
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, *targets],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C meant for the tests does not reach it
        )
        os.close(read_end)

    def disarm(self) -> None:
        """The server was stopped as planned: the watchdog leaves."""
        if self._write_end is not None:
            os.write(self._write_end, b"x")
            os.close(self._write_end)
            self._write_end = None
            self._process.wait(timeout=10)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def running_server(
    command: Sequence[str],
    cwd: Path,
    ready_url: str,
    env: dict | None = None,
    timeout: float = 120,
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in a new session until ``ready_url`` answers; kill its group after.

    Both kedro-viz and the MLflow server start children (workers, reloaders), so the
    whole process group is stopped, first with SIGTERM, then SIGKILL.
    """
    log = open(cwd / f"server-{Path(command[0]).name}-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pgid = process.pid
    watchdog = Watchdog(f"group:{pgid}:TERM")
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}; see {log.name}")
            try:
                urllib.request.urlopen(ready_url, timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{ready_url} did not answer in {timeout} s") from None
                time.sleep(0.5)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        # poll() reaps the leader: a zombie still counts as a member of its group.
        while (process.poll() is None or _group_alive(pgid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=10)
        log.close()
        assert not _group_alive(pgid), "server processes left running"
        watchdog.disarm()


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (Linux's /proc/net).

    ``127.0.0.1`` alone means the server cannot be reached from another machine;
    ``0.0.0.0`` or ``::`` would mean every interface.
    """
    import ipaddress

    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
            found.add(str(ipaddress.ip_address(words)))
    return found
