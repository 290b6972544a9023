"""``--engine`` and ``--address`` are checked before any scan: a missing Ray names the
extra to install, an address without the Ray engine is refused, and the local engine
runs the calls in order, in this process or in workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lookalike.engines import Executor, open_engine
from lookalike.engines.local import LocalExecutor
from lookalike.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]

#: Runs the CLI with the ``ray`` module blocked, as in an install without the extra.
WITHOUT_RAY = (
    "import sys; sys.modules['ray'] = None\n"
    "from lookalike.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _cli_without_ray(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    "command",
    [
        ["dupes", "{samples}", "--no-cache"],
        ["index", "{samples}", "--db", "{tmp}/coll"],
        ["eval", "pairs", "{samples}/LICENSE.md"],
    ],
)
def test_ray_engine_without_the_extra_names_it(command: list[str], tmp_path: Path) -> None:
    args = [a.format(samples=ROOT / "samples", tmp=tmp_path) for a in command]
    proc = _cli_without_ray(*args, "--engine", "ray")
    assert proc.returncode == 2, proc.stderr
    assert "lookalike[ray]" in proc.stderr
    assert not (tmp_path / "coll").exists()  # refused before anything was made


def test_address_needs_the_ray_engine(tmp_path: Path) -> None:
    proc = _cli_without_ray("dupes", str(ROOT / "samples"), "--no-cache", "--address", "auto")
    assert proc.returncode == 2
    assert "--engine ray" in proc.stderr
    with pytest.raises(UsageError), open_engine("local", "auto"):
        pass
    with pytest.raises(UsageError), open_engine("spark"):
        pass


def _pair(shared: int, a: int, b: int) -> tuple[int, int, int]:
    return shared, a, b


def test_local_executor_keeps_the_order_of_the_calls() -> None:
    calls = [(k, k * k) for k in range(12)]
    for jobs in (1, 2):
        with open_engine("local", jobs=jobs) as ex:
            assert isinstance(ex, Executor) and isinstance(ex, LocalExecutor)
            assert ex.workers == jobs and not ex.distributed
            assert list(ex.map(_pair, calls, shared=7)) == [(7, a, b) for a, b in calls]
            assert list(ex.map(divmod, calls[1:])) == [divmod(a, b) for a, b in calls[1:]]
