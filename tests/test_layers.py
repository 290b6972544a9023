"""One source for each fact, and imports that flow downstream only.

(a) Values derived from a method's thresholds (a candidate radius, help text, a
docstring's bit counts) agree with the method that owns them, so a change to the owner
cannot leave a restatement behind. (b) The core never imports a face (``lookalike.cli``,
``lookalike.web``) and no module reaches into another's private names; ruff's TID251
(``[tool.ruff.lint.flake8-tidy-imports.banned-api]``) enforces the first in the editor.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from lookalike.methods import CodeMethod, get_method

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "lookalike"
FACES = ("lookalike.cli", "lookalike.web")
#: ``python -m lookalike`` is the command itself: an entry point of the CLI face.
ENTRY_POINTS = ("lookalike.__main__",)


def _phash_bits() -> tuple[int, int]:
    m = get_method("phash")
    assert isinstance(m, CodeMethod)
    return m.distance_thresholds()


# -- (a) derived values agree with their owner ------------------------------------------


def test_the_dupes_candidate_radius_is_where_phash_calls_a_pair_different() -> None:
    from lookalike.match.engine import CANDIDATE_RADIUS

    m = get_method("phash8")
    assert isinstance(m, CodeMethod)
    assert CANDIDATE_RADIUS == _phash_bits()[1] == m.distance_thresholds()[1]


def test_the_dupes_candidates_hold_every_pair_within_phash8s_own_radius(
    sample_photos: list[Path],
) -> None:
    """The candidate search (plain and dihedral radius search) is phash8's distance."""
    from lookalike.match.candidates import dihedral_pairs, hash_pairs
    from lookalike.match.engine import CANDIDATE_RADIUS

    m = get_method("phash8")
    assert isinstance(m, CodeMethod)
    ims = [Image.open(p).convert("L") for p in sample_photos]
    ims += [ImageOps.mirror(ims[0]), ims[1].rotate(90, expand=True), ims[2].crop((0, 0, 300, 200))]
    codes = m.features(ims)
    codes8 = m.codes(codes)  # type: ignore[attr-defined]
    found = set()
    for i, j, _ in (
        hash_pairs(codes8[:, 0, :], CANDIDATE_RADIUS),
        dihedral_pairs(codes8, CANDIDATE_RADIUS),
    ):
        found |= set(zip(i.tolist(), j.tolist(), strict=True))
    d = m.distance_matrix(codes, codes)
    i, j = np.nonzero(np.triu(d <= CANDIDATE_RADIUS, k=1))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == found


def test_the_dupes_default_threshold_is_phash8s_own() -> None:
    from lookalike.dupes.find import DupesOptions, layer_methods

    (phash8,) = [m for m in layer_methods(DupesOptions()) if m.name == "phash8"]
    assert phash8.thresholds == get_method("phash").thresholds


def test_the_dupes_threshold_help_states_the_calibrated_bands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The help's "95 = re-encoded or resized ... every verified pair is >= 85" must be
    what match.relation.BANDS says."""
    from lookalike.cli import build_parser
    from lookalike.match.relation import BANDS

    with pytest.raises(SystemExit):
        build_parser().parse_args(["dupes", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    floor = min(lo for lo, _ in BANDS.values())
    assert f"every verified pair is >= {floor * 100:g}" in text
    assert "95 = re-encoded or resized" in text
    at_95 = {k for k, (lo, _) in BANDS.items() if lo >= 0.95}
    assert at_95 == {"identical bytes", "recompressed", "resized"}
    assert all(hi < 0.95 for k, (_, hi) in BANDS.items() if k not in at_95)


def test_the_cascade_docstring_states_the_hashes_bands_in_bits() -> None:
    from lookalike.match import cascade

    doc = " ".join((cascade.__doc__ or "").split())
    similar, different = _phash_bits()
    h = get_method("ahash")
    assert isinstance(h, CodeMethod)
    hs, hd = h.distance_thresholds()
    assert f"d <= {similar} of 64" in doc
    assert f"the sources' d <= {hs}" in doc
    assert f"pHash {similar + 1}-{different} bits, the others {hs + 1}-{hd}" in doc


def test_a_verified_local_match_is_similar_on_the_methods_own_scale() -> None:
    """``calibrated`` restates orb's thresholds (0.85, 0.5): the scale must map onto them."""
    from lookalike.methods.local import MIN_INLIERS, SIMILAR_AT, LocalMatch, calibrated

    m = get_method("orb")
    cases = {
        (MIN_INLIERS, SIMILAR_AT): "similar",
        (MIN_INLIERS, 1.0): "similar",
        (500, 1.0): "similar",
        (MIN_INLIERS - 1, 1.0): "different",
        (MIN_INLIERS, np.nextafter(SIMILAR_AT, 0)): "different",
        (0, 0.0): "different",
    }
    for (inliers, sim), verdict in cases.items():
        match = LocalMatch(inliers, inliers, float(sim), False, None, 1.0, 1.0, 1.0, 1.0, 1.0)
        assert m.verdict(calibrated(match)) == verdict, (inliers, sim)
        assert 0.0 <= calibrated(match) <= 1.0


def test_documents_at_the_default_threshold_include_every_verified_local_copy() -> None:
    """doccheck's 85% is its own spec; its comment promises ORB-verified copies reach it."""
    from lookalike.doccheck.check import DEFAULT_THRESHOLD

    assert get_method("orb").thresholds.similar >= DEFAULT_THRESHOLD


# -- (b) imports flow downstream ---------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every lookalike import in ``name``, anywhere in
    the file (top level, inside functions, ``importlib.import_module("lookalike...")``)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.split(".")[0] == "lookalike"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] == "lookalike":
                for a in node.names:
                    sub = f"{module}.{a.name}"  # `from lookalike import cli` imports a module
                    out.append((sub, None) if sub in MODULES else (module, a.name))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if isinstance(first, ast.JoinedStr) and first.values:
                first = first.values[0]
            if (
                called == "import_module"
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.startswith("lookalike")
            ):
                out.append((first.value.rstrip("."), None))
    return out


def _is_face(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FACES)


def test_the_readmes_state_gist_and_embed_thresholds_as_their_owners_do() -> None:
    """The methods tables restate GIST's and the shipped embed model's measured thresholds."""
    from lookalike.methods.gist import GIST_THRESHOLDS
    from lookalike.models import default_card

    root = SRC.parent
    defaults = default_card()["thresholds"]
    for name in ("README.md", "README.zh-CN.md"):
        text = (root / name).read_text(encoding="utf-8")
        gist = next(line for line in text.splitlines() if line.startswith("| `gist`"))
        embed = next(line for line in text.splitlines() if line.startswith("| `embed`"))
        assert f">= {GIST_THRESHOLDS.similar:.2f} / < {GIST_THRESHOLDS.different:.2f}" in gist
        assert f">= {defaults['similar']:.2f} / < {defaults['different']:.2f}" in embed


def test_the_import_walk_sees_the_faces_own_imports() -> None:
    """The walker finds top-level, in-function, relative and import_module imports."""
    cli = {m for m, _ in _imports("lookalike.cli")}
    assert {"lookalike.errors", "lookalike.cli"} <= cli  # the latter by import_module
    legacy = _imports("lookalike.sources.documents.legacy")
    assert ("lookalike.sources.documents", "dib_to_bmp") in legacy
    methods = {m for m, _ in _imports("lookalike.methods")}
    assert "lookalike.methods.local" in methods  # imported inside a function


@pytest.mark.parametrize("name", [n for n in MODULES if not _is_face(n) and n not in ENTRY_POINTS])
def test_the_core_never_imports_a_face(name: str) -> None:
    faces = sorted({m for m, _ in _imports(name) if _is_face(m)})
    assert not faces, f"{name} imports {faces}: the core never imports a face"


#: Known reaches into another module's private names: fix the module, then drop it here.
PRIVATE_TODAY: dict[str, str] = {}


def _private_marks(name: str) -> list[pytest.MarkDecorator]:
    reason = PRIVATE_TODAY.get(name)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@pytest.mark.parametrize("name", [pytest.param(n, marks=_private_marks(n), id=n) for n in MODULES])
def test_no_module_imports_another_modules_private_name(name: str) -> None:
    private = sorted(
        f"{module}.{n}"
        for module, n in _imports(name)
        if n and n.startswith("_") and not n.startswith("__") and module != name
    )
    assert not private, f"{name} imports private names {private}"
