"""Start and stop a real `lookalike serve` on a free loopback port (for the web tests)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """A running `lookalike serve`, where to reach it, and the write token it printed."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path
    token: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        """The header that lets a write through (empty when the server printed no token)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def serve(db: Path, log: Path, *options: str) -> Served:
    """Start `lookalike serve` on a free loopback port and wait until it answers."""
    port = free_port()
    out = log.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lookalike",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--log-level",
            "warning",
            *options,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "LOOKALIKE_TOKEN": ""},
    )
    out.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"lookalike serve exited {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/api/stats", timeout=2).status_code == 200:
                printed = re.search(r"Bearer ([\w-]+)'", log.read_text(errors="replace"))
                return Served(base, process, log, printed.group(1) if printed else None)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"lookalike serve did not answer within 60 s:\n{log.read_text()}")


def stop(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(10)
    except subprocess.TimeoutExpired:
        served.process.kill()
