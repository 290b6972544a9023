"""The persistent collection: index real photos, search with attacked copies, update
incrementally, survive kill -9 and a corrupt index, and the index / search CLI."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import lookalike
from lookalike.cli import main
from lookalike.errors import CollectionError, DecodeError
from lookalike.search.collection import Collection

ATTACKS = ("resized", "crop50", "rot90", "mirror", "pasted")


def make_attacks(photos: list[Path], out: Path) -> dict[str, Path]:
    """Attacked copies of each photo: ``{f"{stem}:{attack}": path}`` (not indexed)."""
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for i, p in enumerate(photos):
        with Image.open(p) as src:
            im = src.convert("RGB")
        w, h = im.size
        other_path = photos[(i + 1) % len(photos)]
        with Image.open(other_path) as o:
            other = o.convert("RGB").resize((int(w * 1.6), int(h * 1.6)))
        f = 0.7071  # keep half of the area
        cw, ch = int(w * f), int(h * f)
        x, y = (w - cw) // 2, (h - ch) // 2
        variants = {
            "resized": im.resize((w * 2 // 3, h * 2 // 3), Image.Resampling.LANCZOS),
            "crop50": im.crop((x, y, x + cw, y + ch)),
            "rot90": im.transpose(Image.Transpose.ROTATE_90),
            "mirror": im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        }
        # another photo, colour-negated so that it is not itself in the collection
        pasted = ImageOps.invert(other)
        pasted.paste(im, (other.width // 8, other.height // 6))
        variants["pasted"] = pasted
        for name, v in variants.items():
            dest = out / f"{p.stem}__{name}.jpg"
            v.save(dest, quality=90)
            made[f"{p.stem}:{name}"] = dest
    return made


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    lib = tmp_path_factory.mktemp("lib") / "图片库"
    lib.mkdir()
    for p in sample_photos:
        shutil.copy(p, lib / p.name)
    return lib


@pytest.fixture(scope="module")
def attacks(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> dict[str, Path]:
    return make_attacks(sample_photos, tmp_path_factory.mktemp("attacks"))


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory, library: Path):
    coll = Collection(tmp_path_factory.mktemp("db") / "coll", create=True)
    stats = coll.update([library])
    assert stats.computed == stats.images == len(list(library.iterdir()))
    yield coll
    coll.close()


def top_names(coll: Collection, query: Path | bytes, k: int = 5) -> list[str]:
    return [Path(h.path).stem for h in coll.search(query, k=k).results]


@pytest.mark.parametrize("attack", ATTACKS)
def test_each_attack_finds_the_original_first(
    collection: Collection, attacks: dict[str, Path], sample_photos: list[Path], attack: str
) -> None:
    for p in sample_photos:
        if attack == "pasted" and p.stem == "MilkyWay":
            # Known miss (docs/accuracy.md, Hard negatives): a star field pasted into another
            # picture keeps its keypoints but not its pixels in the 160-px check (0.43).
            continue
        result = collection.search(attacks[f"{p.stem}:{attack}"], k=5)
        best = result.results[0]
        assert Path(best.path).stem == p.stem, (attack, p.stem, result.to_dict())
        assert best.verdict in ("identical", "similar")
        assert best.method in ("phash8", "color", "content", "orb")
        assert 0.0 <= best.similarity <= 1.0


def test_composite_of_two_indexed_photos_finds_both(
    collection: Collection, sample_photos: list[Path], tmp_path: Path
) -> None:
    with Image.open(sample_photos[0]) as a, Image.open(sample_photos[4]) as b:
        canvas = b.convert("RGB").resize((b.width * 8 // 5, b.height * 8 // 5))
        canvas.paste(a.convert("RGB"), (canvas.width // 8, canvas.height // 6))
    canvas.save(tmp_path / "both.jpg")
    hits = collection.search(tmp_path / "both.jpg", k=3).results
    assert {Path(h.path).stem for h in hits[:2]} == {sample_photos[0].stem, sample_photos[4].stem}
    assert all(h.verdict == "similar" and h.method == "orb" for h in hits[:2])


def test_result_shape_and_no_verify(collection: Collection, attacks: dict[str, Path]) -> None:
    query = attacks["Kite:rot90"]
    result = collection.search(query.read_bytes(), k=3)
    d = result.to_dict()
    assert d["query"].startswith("<") and len(d["results"]) == 3
    assert {"path", "similarity", "distance", "method", "width", "height", "id"} <= set(
        d["results"][0]
    )
    assert d["results"][0]["width"] > 0 and set(d["timings"]) >= {"index", "total"}
    fast = collection.search(query, k=3, verify=False)
    assert Path(fast.results[0].path).stem == "Kite"
    assert fast.results[0].distance <= 5 and fast.results[0].method == "phash8"


def test_image_resolves_only_catalogued_files(collection: Collection, library: Path) -> None:
    hit = collection.search(library / "Kite.jpg", k=1).results[0]
    assert collection.image(hit.id) == hit.path == str(library / "Kite.jpg")
    assert collection.image(hit.path) == hit.path
    assert collection.image(str(hit.id)) == hit.path
    assert collection.read(hit.id) == (library / "Kite.jpg").read_bytes()
    for bad in ("/etc/passwd", str(library / ".." / "图片库" / "nope.jpg"), "x\0y", 10**9):
        with pytest.raises(CollectionError):
            collection.image(bad)


def test_stats(collection: Collection) -> None:
    s = collection.stats()
    assert s["images"] == 8 and s["backend"] == "faiss" and s["index"]["size"] == 8
    assert s["last_update"] and s["errors"] == 0


def test_add_uploads_and_remove(tmp_path: Path, sample_photos: list[Path]) -> None:
    with Collection(tmp_path / "c", create=True) as coll:
        coll.update(sample_photos[:3])
        data = sample_photos[5].read_bytes()
        (image_id,) = coll.add([("../../evil name.JPG", data)])
        path = coll.image(image_id)
        assert Path(path).parent == tmp_path / "c" / "uploads" and path.endswith(".jpg")
        top = coll.search(data, k=1).results[0]
        assert (top.id, top.path) == (image_id, path)
        with pytest.raises(DecodeError):
            coll.add([("x.jpg", b"not an image")])
        assert coll.remove([path]) == 1 and not os.path.exists(path)
        assert path not in [h.path for h in coll.search(data, k=5).results]
        assert coll.stats()["images"] == 3


def test_uploads_are_named_by_their_sniffed_format(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    buf = io.BytesIO()
    with Image.open(sample_photos[2]) as im:
        im.convert("RGB").save(buf, "PNG")
    png = buf.getvalue()
    jpg = sample_photos[3].read_bytes()
    with Collection(tmp_path / "c", create=True) as coll:
        ids = coll.add([("photo.jpg", png), ("notes.txt", jpg), ("photo.jpg", png)])
        assert len(ids) == 3 and ids[0] == ids[2] != ids[1]  # the same bytes: one file
        paths = [coll.image(i) for i in ids]
        assert paths[0].endswith(".png") and paths[1].endswith(".jpg")
        assert coll.read(ids[0]) == png and coll.stats()["images"] == 2


def test_an_identical_file_ranks_before_its_greyscale_copy(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    photo = next(p for p in sample_photos if p.stem == "ColorfulCups")
    with Image.open(photo) as im:
        ImageOps.grayscale(im).convert("RGB").save(lib / "a_grey.jpg", quality=95)
    shutil.copy(photo, lib / "b_original.jpg")  # indexed after the grey copy: a larger id
    for other in sample_photos[:3]:
        shutil.copy(other, lib / other.name)
    with Collection(tmp_path / "db", create=True) as coll:
        coll.update([lib])
        grey_id = coll.search(lib / "a_grey.jpg", k=1).results[0].id
        for query in (lib / "b_original.jpg", photo.read_bytes()):
            for verify in (True, False):
                hits = coll.search(query, k=3, verify=verify).results
                assert Path(hits[0].path).name == "b_original.jpg", (verify, hits)
                assert hits[0].id > grey_id and hits[1].id == grey_id


def test_incremental_update(tmp_path: Path, sample_photos: list[Path]) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for p in sample_photos[:5]:
        shutil.copy(p, lib / p.name)
    db = tmp_path / "db"
    with Collection(db, create=True) as coll:
        first = coll.update([lib])
        assert (first.computed, first.removed, first.images) == (5, 0, 5)
        again = coll.update([lib])
        assert (again.computed, again.cached, again.removed) == (0, 5, 0)
    added = sample_photos[6]
    changed, deleted = lib / sample_photos[1].name, lib / sample_photos[2].name
    shutil.copy(added, lib / added.name)
    shutil.copy(sample_photos[7], changed)  # other content under the same name
    os.utime(changed, ns=(1, 10**18))
    deleted.unlink()
    with Collection(db) as coll:
        third = coll.update([lib])
        assert (third.computed, third.cached, third.removed, third.images) == (2, 3, 1, 5)
        paths = {h.path for h in coll.search(sample_photos[2], k=10).results}
        assert str(deleted) not in paths
        best = coll.search(sample_photos[7], k=1).results[0]
        assert best.path == str(changed) and best.distance == 0
        assert coll.search(added, k=1).results[0].path == str(lib / added.name)


def test_corrupt_or_stale_index_is_rebuilt(tmp_path: Path, sample_photos: list[Path]) -> None:
    db = tmp_path / "db"
    with Collection(db, create=True) as coll:
        coll.update(sample_photos)
        want = top_names(coll, sample_photos[3])
    (db / "index.npz").write_bytes(b"garbage, not an npz")
    with Collection(db) as coll:
        assert coll.stats()["index"]["size"] == 8
        assert top_names(coll, sample_photos[3]) == want
    (db / "index.state.json").unlink()  # a crash between the data and its state
    with Collection(db) as coll:
        assert top_names(coll, sample_photos[3]) == want
    (db / "index.npz").unlink()
    with Collection(db) as coll:
        assert len(coll._index) == 8


_KILLED = textwrap.dedent(
    """
    import sys, time
    from lookalike.search.collection import Collection
    def tick(stage, done, total):
        if done >= 100:
            print("READY", flush=True)
            time.sleep(60)
    Collection(sys.argv[1], create=True).update([sys.argv[2]], jobs=1, progress=tick)
    """
)


def test_kill_9_while_indexing_then_resume(tmp_path: Path, sample_photos: list[Path]) -> None:
    lib = tmp_path / "many"
    lib.mkdir()
    for i in range(160):  # distinct files (the catalog keys by path)
        shutil.copy(sample_photos[i % len(sample_photos)], lib / f"{i:03d}.jpg")
    db = tmp_path / "db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(db), str(lib)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with Collection(db) as coll:
        held = coll.stats()["images"]
        assert 0 < held < 160  # the committed chunks survived
        assert len(coll._index) == held  # and the index was brought in line
        stats = coll.update([lib])
        assert stats.cached == held and stats.computed == 160 - held
        assert len(coll._index) == stats.images == 160
        hits = coll.search(sample_photos[0], k=40).results
        assert sum(h.distance == 0 for h in hits) == 20


def test_cli_index_and_search_json_chinese_path(
    tmp_path: Path, library: Path, attacks: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "集合"
    assert main(["index", str(library), "--db", str(db), "--jobs", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["update"]["images"] == 8 and out["collection"]["backend"] == "faiss"
    assert main(["search", str(attacks["Path:mirror"]), "--db", str(db), "-k", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["query"] == str(attacks["Path:mirror"])
    top = res["results"][0]
    assert top["path"] == str(library / "Path.jpg") and "图片库" in top["path"]
    assert top["method"] and 0 < top["similarity"] <= 1
    assert main(["search", str(library / "Kite.jpg"), "--db", str(db), "-k", "2"]) == 0
    text = capsys.readouterr().out
    assert "Kite.jpg" in text.splitlines()[2]
    # URLs are fetched safely: a loopback URL is refused with the reason
    assert main(["search", "http://127.0.0.1:9/x.jpg", "--db", str(db)]) == 1
    assert "loopback" in capsys.readouterr().err


def test_missing_collection_and_wrong_backend(tmp_path: Path) -> None:
    with pytest.raises(CollectionError, match="no collection"):
        Collection(tmp_path / "none")
    Collection(tmp_path / "c", create=True).close()
    with pytest.raises(CollectionError, match="migrate"):
        Collection(tmp_path / "c", backend="milvus")


def test_corpus_photos(tmp_path: Path, corpus_photos: list[Path]) -> None:
    """38 originals indexed; attacked copies of 5 and the packages' own variants of them
    searched. Global attacks must find the original first; crops and pasted copies depend
    on the original reaching ORB verification (colour-ranked candidates), so a rate."""
    originals = [p for p in corpus_photos if p.parent.name == "originals"]
    chosen = originals[::7][:5]
    names = {p.stem for p in chosen}
    variants = [
        p
        for p in corpus_photos
        if p.parent.name == "variants"
        and p.stem.split("__")[0] in names
        and not p.stem.endswith("__dark")
    ]
    with Collection(tmp_path / "db", create=True) as coll:
        coll.update([originals[0].parent], jobs=2)
        made = make_attacks(chosen, tmp_path / "attacks")
        first = {k: top_names(coll, q, 1) == [k.split(":")[0]] for k, q in made.items()}
        strict = [
            k
            for k, ok in first.items()
            if not ok and k.split(":")[1] in ("resized", "rot90", "mirror")
        ]
        assert not strict, strict
        partial = [ok for k, ok in first.items() if k.split(":")[1] in ("crop50", "pasted")]
        assert np.mean(partial) >= 0.7, f"{sum(partial)}/{len(partial)}"
        found = [top_names(coll, v, 1) == [v.stem.split("__")[0]] for v in variants]
        assert np.mean(found) >= 0.8, f"{sum(found)}/{len(found)}"


def test_visual_words_rank_the_source_of_a_crop_or_paste_first(
    collection: Collection, attacks: dict[str, Path], sample_photos: list[Path]
) -> None:
    """The word candidates (which ORB verifies first) hold the original of a half-area
    crop or a pasted copy at the top, whatever its pHash distance."""
    words = collection._by_name["words"]
    for attack in ("crop50", "pasted"):
        hits = 0
        for p in sample_photos:
            query = words.features(
                [lookalike.load(attacks[f"{p.stem}:{attack}"], mode="L", min_size=words.min_size)]
            )[0]
            ids = collection._word_candidates(query)
            hits += Path(collection.image(ids[0])).stem == p.stem
        assert hits >= len(sample_photos) - 1, (attack, hits)
