"""Shortfall certificates (optimizer/diagnose.py, ``bedalloc diagnose``) against the brute force
and the solver."""

from __future__ import annotations

import json

from bruteforce import brute_force
from optimizer.cli import main
from optimizer.diagnose import diagnose
from optimizer.generate import national_instance
from optimizer.instance import read_instance
from optimizer.engine import solve
from randinst import load_random, short_of_cd_beds


def test_certificate_equals_the_brute_force_optimum_without_families(tmp_path):
    """Without families the max-flow bound is the optimal level 1; with them a lower bound.
    The deficient sets add up to the bound and each is really short."""
    exact = 0
    for seed in range(120):
        inst = load_random(seed, tmp_path)
        ref = brute_force(inst).unplaced
        cert = diagnose(inst)
        if cert["exact"]:
            assert cert["unplaced_at_least"] == ref, seed
            exact += 1
        else:
            assert cert["unplaced_at_least"] <= ref, seed
        assert sum(p["short_by"] for p in cert["short"]) == cert["unplaced_at_least"], seed
        for p in cert["short"]:
            assert p["short_by"] == p["people"] - p["beds_incl_surge"] - p["atd_slots"] > 0
    assert exact > 50


def test_regional_variant_short_of_beds(tmp_path):
    """Halving the beds for men of levels C-D (no surge) leaves mandatory men without beds: the
    certificate matches the solver's proven level 1 and names them."""
    doc = short_of_cd_beds(national_instance(seed=1, aors=["NOL"], scale=0.2))
    path = tmp_path / "short.json"
    path.write_text(json.dumps(doc))
    inst = read_instance(path)
    cert = diagnose(inst)
    res = solve(inst)
    assert res.levels_proven >= 1 and cert["unplaced_at_least"] == res.objective["unplaced"] > 0
    assert any(c["mandatory"] and c["level"] in ("C", "D") for p in cert["short"] for c in p["classes"])
    assert main(["diagnose", str(path)]) == 3
    assert main(["diagnose", "instances/tiny.json"]) == 0


def test_the_certificate_equals_level_1_under_transport_limits_and_ties(tmp_path):
    """Two regions short of beds, with 10 national seats, 5 out of NOL and a third of the people
    tied to their AOR: the bed-and-slot cut certifies 243 (the level 1 without limits), the
    seats 3 more, and the certificate, the LP relaxation with the limits, equals the proven
    level 1 (246)."""
    import random

    doc = short_of_cd_beds(national_instance(seed=1, aors=["NOL", "HOU"], scale=0.2))
    doc.setdefault("policy", {})["max_transfers_per_day"] = 10
    doc["aors"][0]["max_transfers_out_per_day"] = 5
    rng = random.Random(3)
    for p in doc["people"]:
        p["local_ties"] = rng.random() < 0.3
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(doc))
    inst = read_instance(path)
    cert, res = diagnose(inst), solve(inst)
    assert res.levels_proven >= 1 and cert["unplaced_at_least"] == res.objective["unplaced"] == 246
    assert [(p["kind"], p["short_by"]) for p in cert["short"]] == [("beds_and_slots", 243), ("seats", 3)]
    assert not cert["exact"]
