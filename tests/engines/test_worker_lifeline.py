"""Worker processes end with the process that started them, even after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from lookalike.engines.local import process_pool

    def pid(_):
        time.sleep(0.05)
        return os.getpid()

    if __name__ == "__main__":
        pool = process_pool(2)
        pids = sorted(set(pool.map(pid, range(16))))
        print(" ".join(map(str, pids)), flush=True)
        time.sleep(120)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie waits only for its reaper
        return fh.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_parent_is_killed(tmp_path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        workers = [int(p) for p in line.split()]
        assert workers and all(_alive(p) for p in workers)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers), "workers outlived their parent"
    finally:
        proc.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_while_the_dead_parent_is_not_yet_reaped(tmp_path) -> None:
    """A caller that reads the parent's output to the end before reaping it (as
    ``subprocess.communicate`` does) must get that end: the parent is then a zombie, and
    workers that took a zombie for alive held the pipe open for ever (a CI hang)."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert workers and all(_alive(p) for p in workers)
        os.kill(proc.pid, signal.SIGKILL)  # not proc.kill(): that would reap it first
        started = time.monotonic()
        try:
            proc.communicate(timeout=15)  # reads stdout to its end, then reaps
        except subprocess.TimeoutExpired:
            pytest.fail("the parent's stdout stayed open: its workers outlived it")
        assert time.monotonic() - started < 5
        assert not any(_alive(p) for p in workers)
    finally:
        proc.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_parent_alive_tells_a_zombie_from_a_running_process() -> None:
    from lookalike.engines.local import parent_alive

    assert parent_alive(os.getpid())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{proc.pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.05)
    try:
        os.kill(proc.pid, 0)  # the number still answers ...
        assert not parent_alive(proc.pid)  # ... but the process is gone
    finally:
        proc.wait()
    assert not parent_alive(proc.pid)
