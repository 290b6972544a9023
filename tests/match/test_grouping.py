"""Groups from verified pairs: no chaining through a bridge, a keeper with its reason."""

from __future__ import annotations

import numpy as np

from lookalike.match.grouping import FileFacts, choose_keeper, group_pairs


def test_a_collage_does_not_chain_two_unrelated_photos() -> None:
    # 0 and 1 are unrelated photos; 2 is a collage holding both; 3 is a copy of 0.
    paths = ["a.jpg", "b.jpg", "collage.jpg", "a_copy.jpg"]
    facts = [
        FileFacts(1000, 800, 500),
        FileFacts(1000, 800, 400),
        FileFacts(800, 600, 300),
        FileFacts(500, 400, 100),
    ]
    i, j = np.array([0, 1, 0]), np.array([2, 2, 3])
    groups = group_pairs(paths, i, j, np.array([0.9, 0.95, 0.97]), ["orb", "orb", "phash"], facts)
    assert len(groups) == 1
    g = groups[0]
    assert g.keep == "a.jpg" and g.members[0].path == "a.jpg"
    assert {m.path for m in g.members} == {"a.jpg", "collage.jpg", "a_copy.jpg"}
    assert "b.jpg" not in {m.path for m in g.members}
    by_path = {m.path: m for m in g.members}
    assert by_path["a_copy.jpg"].method == "phash" and by_path["a_copy.jpg"].similarity == 0.97


def test_keeper_rule_resolution_then_size_then_age() -> None:
    assert choose_keeper(["x", "y"], [FileFacts(10, 10, 5), FileFacts(20, 20, 1)]) == (
        1,
        "highest resolution (20x20)",
    )
    k, why = choose_keeper(["x", "y"], [FileFacts(10, 10, 5), FileFacts(10, 10, 9)])
    assert k == 1 and "largest file" in why
    k, why = choose_keeper(["x", "y"], [FileFacts(10, 10, 5, 200.0), FileFacts(10, 10, 5, 100.0)])
    assert k == 1 and "oldest" in why


def test_no_pairs_no_groups() -> None:
    assert (
        group_pairs(["a"], np.array([], int), np.array([], int), np.array([]), [], [FileFacts()])
        == []
    )


def test_a_reencoded_copy_joins_its_source_through_another_copy() -> None:
    """The keeper (a framed, larger copy) links to the source; a re-encode of the source
    links only to the source. Re-encoded within a few bits is the same picture as the
    source, so it lands in the source's group; a crop linked the same way does not."""
    from lookalike.match.relation import PairRelation

    paths = ["framed.png", "source.jpg", "reencoded.jpg", "crop.jpg"]
    facts = [FileFacts(2000, 1600, 900), FileFacts(1000, 800, 500)]
    facts += [FileFacts(1000, 800, 300), FileFacts(600, 500, 200)]
    i, j = np.array([0, 1, 1]), np.array([1, 2, 3])
    rel = [PairRelation("framed", 1, 0.6), PairRelation("recompressed"), PairRelation("cropped")]
    sims = np.array([0.9, 0.99, 0.9])
    groups = group_pairs(paths, i, j, sims, ["orb", "phash8", "orb"], facts, relation=rel)
    first = {m.path for m in groups[0].members}
    assert groups[0].keep == "framed.png"
    assert {"source.jpg", "reencoded.jpg"} <= first and "crop.jpg" not in first
    # below SAME_PICTURE_AT the re-encode is a copy like any other: a star link only
    weaker = np.array([0.9, 0.975, 0.9])
    groups = group_pairs(paths, i, j, weaker, ["orb", "phash8", "orb"], facts, relation=rel)
    assert "reencoded.jpg" not in {m.path for m in groups[0].members}


def test_a_stretched_copy_that_wins_on_resolution_keeps_the_copies_of_its_source() -> None:
    """A copy stretched to another aspect is a resize 4-8 pHash bits from its source
    (calibrated 0.95-0.97). It wins the keeper rule on resolution; copies verified only
    against the source (a brightened, a mirrored one) still belong to its group, as a
    resize at any distance the hash calls similar is the same picture. A re-encode that
    far (same size: a burst's next shot looks like that) is not."""
    from lookalike.match.relation import PairRelation

    paths = ["stretched.jpg", "source.jpg", "brighter.jpg", "mirror.jpg"]
    facts = [FileFacts(1741, 1024, 900), FileFacts(1024, 1024, 500)]
    facts += [FileFacts(1024, 1024, 400), FileFacts(1024, 1024, 450)]
    i, j = np.array([0, 1, 1]), np.array([1, 2, 3])
    rel = [PairRelation("resized"), PairRelation("edited"), PairRelation("mirrored")]
    sims = np.array([0.96, 0.93, 0.93])
    methods = ["phash8", "phash8", "orb"]
    (group,) = group_pairs(paths, i, j, sims, methods, facts, relation=rel)
    assert group.keep == "stretched.jpg" and {m.path for m in group.members} == set(paths)
    same_size = [PairRelation("recompressed"), *rel[1:]]
    (group,) = group_pairs(paths, i, j, sims, methods, facts, relation=same_size)
    assert {m.path for m in group.members} == {"stretched.jpg", "source.jpg"}  # a star only


def test_a_copy_merged_with_the_keeper_keeps_its_own_similarity() -> None:
    """A resize merged into the keeper's picture reads its own score (99%), not 100%:
    100% is for identical files only."""
    from lookalike.match.relation import PairRelation

    paths = ["photo.jpg", "half.jpg"]
    facts = [FileFacts(1000, 800, 500), FileFacts(500, 400, 100)]
    rel = [PairRelation("resized")]
    groups = group_pairs(
        paths, np.array([0]), np.array([1]), np.array([0.99]), ["phash8"], facts, relation=rel
    )
    (member,) = groups[0].members[1:]
    assert member.path == "half.jpg" and member.similarity == 0.99
    assert member.relation == PairRelation("resized")


def test_a_member_reads_its_own_pair_with_the_keeper() -> None:
    """Merged through another copy first, a member still shows its own pair with the
    keeper (re-encoded, 99%), not the pair that merged it (a resize of the other copy)."""
    from lookalike.match.relation import PairRelation

    paths = ["keeper.jpg", "reencoded.jpg", "half.jpg"]
    facts = [FileFacts(1000, 800, 900), FileFacts(1000, 800, 500), FileFacts(500, 400, 100)]
    i, j = np.array([1, 0]), np.array([2, 1])
    rel = [PairRelation("resized"), PairRelation("recompressed")]
    groups = group_pairs(
        paths, i, j, np.array([0.985, 0.99]), ["phash8", "phash8"], facts, relation=rel
    )
    by_path = {m.path: m for m in groups[0].members}
    assert groups[0].keep == "keeper.jpg"
    assert by_path["reencoded.jpg"].relation == PairRelation("recompressed")
    assert by_path["reencoded.jpg"].similarity == 0.99


def test_unlinked_reach_lists_copies_two_and_three_links_from_the_keeper() -> None:
    from lookalike.match.grouping import unlinked_reach

    # 0 - 1 - 2 - 3 - 4, and 0 - 5 directly: from keeper 0, 2 and 3 are within 3 links
    i, j = np.array([0, 1, 2, 3, 0]), np.array([1, 2, 3, 4, 5])
    assert unlinked_reach(6, i, j, [0]) == [(0, 2), (0, 3)]
    assert unlinked_reach(6, i, j, [0], hops=4) == [(0, 2), (0, 3), (0, 4)]
    assert unlinked_reach(6, i, j, [0], cap=1) == [(0, 2)]
    assert unlinked_reach(6, i, j, [5]) == [(5, 1), (5, 2)]
    assert unlinked_reach(6, np.array([], int), np.array([], int), [0]) == []
