"""How the CLI prints: JSON for programs, aligned tables and progress bars for people."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(data: Any) -> None:
    """JSON on stdout, UTF-8 as is (Chinese paths stay readable)."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


class ProgressBar:
    """A :data:`~lookalike.progress.Progress` callback drawn as a bar on stderr.

    Drawn only when stderr is a terminal (logs and pipes stay clean) and the work takes
    over a second; a new stage resets the bar and takes its label from ``labels``.
    """

    def __init__(self, labels: dict[str, str] | None = None, enabled: bool | None = None):
        self.labels = labels or {}
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, delay=1.0, file=sys.stderr, leave=False, unit="")
        if stage != self._stage:
            self._stage = stage
            self._bar.reset(total)
            self._bar.set_description_str(self.labels.get(stage, stage), refresh=False)
        self._bar.total = total
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def error(path: str, reason: str) -> None:
    """One failed input, for people, on stderr."""
    print(f"lookalike: {path}: {reason}", file=sys.stderr)
