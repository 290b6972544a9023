"""Fixtures of the store tests: a throwaway PostgreSQL (with pgvector) on 127.0.0.1."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from lookalike.errors import MissingDependencyError
from lookalike.store.local_postgres import LocalPostgres

_databases = itertools.count()


@pytest.fixture(scope="session")
def server() -> Iterator[LocalPostgres]:
    """One throwaway PostgreSQL for the store tests (skipped where none can start)."""
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    try:
        pg = LocalPostgres()
    except MissingDependencyError as exc:
        pytest.skip(f"no PostgreSQL with pgvector here ({exc})")
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture
def uri(server: LocalPostgres) -> str:
    """A fresh database on the server, so tests never see each other's tables."""
    import psycopg

    name = f"t{next(_databases)}"
    with psycopg.connect(server.uri, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.uri.rsplit("/", 1)[0] + f"/{name}"
