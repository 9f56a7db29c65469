"""Fetch a file from a list of mirrors: HTTPS only, with a timeout, progress and atomic write.

The caller passes a ``verify`` function that raises when the downloaded bytes are not
the expected file (checksum, format); a mirror whose bytes fail it is treated like a
mirror that is down, and the next one is tried. Nothing is written at the destination
unless a download verified.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from .storage import Location

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """No mirror delivered a verified copy of the file."""


def _is_loopback(host: str | None) -> bool:
    if host in (None, ""):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url_is_secure(url: str) -> None:
    """Refuse anything but HTTPS, except plain HTTP to this machine (local mirrors, tests)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise DownloadError(
        f"refusing to download {url}: only https:// mirrors are allowed "
        "(plain http:// only to 127.0.0.1 or localhost)"
    )


def _fetch_to(url: str, path: Path, timeout: float, label: str) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked)
        total = int(response.headers.get("Content-Length") or 0) or None
        with (
            open(path, "wb") as out,
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=label,
                file=sys.stderr,
                disable=None,  # no bar when stderr is not a terminal (CI logs)
                leave=False,
            ) as bar,
        ):
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                bar.update(len(chunk))


def download_first_verified(
    urls: Sequence[str],
    destination: Location,
    verify: Callable[[bytes], None],
    timeout: float = 30.0,
) -> str:
    """Download the first of ``urls`` whose bytes pass ``verify``; return that URL.

    Raises:
        DownloadError: listing every URL tried and why it failed.
    """
    failures: list[str] = []
    for url in urls:
        try:
            check_url_is_secure(url)
            with destination.writing() as tmp:
                logger.info("Downloading %s to %s", url, destination)
                _fetch_to(url, tmp, timeout, destination.name)
                verify(tmp.read_bytes())
            return url
        except (urllib.error.URLError, OSError, ValueError, DownloadError) as exc:
            reason = getattr(exc, "reason", None) or exc
            logger.warning("Mirror %s failed: %s", url, reason)
            failures.append(f"  - {url}: {reason}")
    tried = "\n".join(failures) if failures else "  (no mirror configured)"
    raise DownloadError(f"could not download {destination.name}; mirrors tried:\n{tried}")
