"""Marks that last: people's decisions, respected by every later run.

* **not duplicates** on two or more files: no two of them are ever grouped together;
* **keep** on a file: it is the keeper of any group it is in.

Marks are stored in the catalog's ``marks`` table keyed by the files' digests (BLAKE2b-128
of the bytes), so they survive moves and renames, and can be exported to and imported from
JSON (``{"format": "lookalike-marks", "version": 1, "marks": [{"kind", "digests",
"paths"}]}``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lookalike.dupes.actions import file_digest
from lookalike.errors import LookalikeError
from lookalike.store.catalog import Catalog, MarkRow

__all__ = ["KINDS", "Marks", "digests_of", "export_marks", "import_marks", "load_marks"]

#: The kinds of mark.
KINDS = ("not-duplicates", "keep")
FORMAT = "lookalike-marks"


@dataclass
class Marks:
    """The marks a run respects: digest sets that are not duplicates, digests to keep."""

    not_duplicates: list[frozenset[str]] = field(default_factory=list)
    keep: set[str] = field(default_factory=set)

    @classmethod
    def from_rows(cls, rows: Iterable[MarkRow]) -> Marks:
        out = cls()
        for r in rows:
            if r.kind == "keep":
                out.keep.update(r.digests)
            elif r.kind == "not-duplicates":
                out.not_duplicates.append(frozenset(r.digests))
        return out

    def apart(self, a: str | None, b: str | None) -> bool:
        """Whether files of digests ``a`` and ``b`` were marked "not duplicates"."""
        if a is None or b is None or a == b:
            return False
        return any(a in s and b in s for s in self.not_duplicates)

    def __bool__(self) -> bool:
        return bool(self.not_duplicates or self.keep)


def load_marks(catalog: str | os.PathLike[str] | None) -> Marks:
    """The marks stored in a catalog (a file, default the per-user one, or a PostgreSQL
    URI); none if the file is absent."""
    from lookalike.store.catalog import default_path, is_database_uri, open_catalog

    path = catalog if catalog is not None else default_path()
    if not is_database_uri(path) and not os.path.exists(path):
        return Marks()
    with open_catalog(path) as cat:
        return Marks.from_rows(cat.marks())


def digests_of(paths: Sequence[str]) -> list[str]:
    """Each file's digest; LookalikeError naming a file that cannot be read."""
    out = []
    for p in paths:
        d = file_digest(os.path.abspath(p))
        if d is None:
            raise LookalikeError(p, "cannot read the file to mark it")
        out.append(d)
    return out


def export_marks(catalog: Catalog) -> dict[str, object]:
    """Every mark as the JSON document of the module docstring."""
    return {
        "format": FORMAT,
        "version": 1,
        "marks": [
            {"kind": r.kind, "digests": list(r.digests), "paths": list(r.paths)}
            for r in catalog.marks()
        ],
    }


def import_marks(catalog: Catalog, data: object, source: str | None = None) -> int:
    """Add the marks of an exported document; the number that were new."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LookalikeError(source, f'not a marks file: "format" must be "{FORMAT}"')
    marks = data.get("marks")
    if not isinstance(marks, list):
        raise LookalikeError(source, 'not a marks file: "marks" must be a list')
    rows = []
    for k, m in enumerate(marks, 1):
        ok = (
            isinstance(m, dict)
            and m.get("kind") in KINDS
            and isinstance(m.get("digests"), list)
            and m["digests"]
            and all(isinstance(d, str) and len(d) == 32 for d in m["digests"])
        )
        if not ok:
            raise LookalikeError(source, f"mark {k}: needs a kind and a list of hex digests")
        rows.append((m["kind"], m["digests"], [str(p) for p in m.get("paths") or []]))
    return sum(catalog.add_mark(kind, d, p) for kind, d, p in rows)


def read_json(path: str) -> object:
    """A JSON file; LookalikeError naming the file when it is not JSON."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LookalikeError(path, f"not JSON: {exc}") from None
