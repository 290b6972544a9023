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
