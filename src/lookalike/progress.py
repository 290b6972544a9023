"""The one shape of a progress callback, shared by every long-running library call.

``progress(stage, done, total)``: ``stage`` names the step ("features", "verifying",
"extracting", ...), ``done`` counts the items finished so far in that stage, out of
``total``. Faces draw it (the CLI as a progress bar on a terminal, the web page as a
counter); the library never prints.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]

__all__ = ["Progress"]
