"""Running `pingraph` as a user does: its executable, a free loopback port, a clean env."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

PINGRAPH = str(Path(sys.executable).with_name("pingraph"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without its PINGRAPH_* settings, for `data_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGRAPH_")}
    env.update(PINGRAPH_DATA_DIR=str(data_dir), PINGRAPH_LOG_LEVEL="warning", **extra)
    return env
