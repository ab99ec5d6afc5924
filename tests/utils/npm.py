"""Installing the npm packages a test runs with the machine's Node.js, from a lock file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def npm_ci(directory: Path, packages: tuple[str, ...], purpose: str) -> None:
    """`npm ci` in `directory` unless every one of `packages` is installed there already."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node, f"Node.js is needed for {purpose}"
    assert npm, f"npm is needed for {purpose}"
    if not all((directory / "node_modules" / name).is_dir() for name in packages):
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=directory,
            check=True,
            timeout=600,
        )
