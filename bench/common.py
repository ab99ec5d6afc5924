"""What the benchmarks share: the demo server, a small HTTP client and saving figures.

Each benchmark starts with `sys.path.insert(0, <repository>)`: Python puts bench/ first on the
import path, and bench/walks.py would otherwise shadow the `walks` package.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

RESULTS = Path(__file__).parent / "results"
SECRET = "bench-secret-" + "x" * 32


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGRAPH_")}
    env.update(
        PINGRAPH_DATA_DIR=str(data_dir),
        PINGRAPH_JWT_SECRET=SECRET,
        PINGRAPH_LOG_LEVEL="warning",
        PINGRAPH_RATE_LIMIT_USER="100000000/minute",
        PINGRAPH_RATE_LIMIT_ANONYMOUS="100000000/minute",
    )
    pingraph = str(Path(sys.executable).with_name("pingraph"))
    server = subprocess.Popen(
        [pingraph, "serve", "--demo", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not become ready within 120 s")


class Connection:
    """A minimal HTTP/1.1 keep-alive client. httpx's pool, not the server, was the limit at
    32 concurrent clients on this 2-core machine, so the load generator stays this small."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post_json(
        self, path: str, payload: Any, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        body = orjson.dumps(payload)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{head}\r\n".encode()
            + body
        )
        status_line = await self.reader.readuntil(b"\r\n")
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def save(name: str, record: dict[str, Any]) -> None:
    """Write `record` (with the command line and the time) to bench/results/<name>.json."""
    record = {
        "command": f"bench/{Path(sys.argv[0]).name} " + " ".join(sys.argv[1:]),
        **record,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved {path}")
