"""The documentation site builds with every link and page it names in place, and the
README stays a short front page pointing into it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow  # MkDocs and its theme load in a few seconds


def test_the_site_builds_strictly(tmp_path):
    """``mkdocs build --strict``: a missing page, a broken link or anchor fails it."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "robustness" / "index.html").is_file()


def test_every_page_is_in_the_navigation_and_the_readme_names_it():
    import yaml

    config = yaml.safe_load((PROJECT_ROOT / "mkdocs.yml").read_text())

    def pages(entries):
        for entry in entries:
            for value in entry.values() if isinstance(entry, dict) else [entry]:
                yield from pages(value) if isinstance(value, list) else [value]

    in_nav = set(pages(config["nav"]))
    on_disk = {path.name for path in (PROJECT_ROOT / "docs").glob("*.md")}
    assert in_nav == on_disk
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert all(page in readme for page in on_disk - {"index.md"})
