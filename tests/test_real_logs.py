"""`explain` on logs people really posted: the corpus is kept honestly, the held-out half is the
regression measure (tests/fixtures/logs_real/README.md says how it was gathered and split)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from mamba_doctor.knowledge.failures import load_knowledge

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))

import eval_real_logs  # noqa: E402
import split_real_logs  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "logs_real"
# The floors this engine reached on each former held-out part (right top-1 causes, no false
# positives): a change that loses one of these logs fails here. `heldout` is round 1's held-out
# half, `heldout2` round 2's, `heldout3` to `heldout6` all of rounds 3 to 6; each was measured
# and recorded, then spent for tuning (rounds 1-2 on 2026-12-06, rounds 3-6 on 2026-12-07; see
# tests/fixtures/logs_real/README.md), so these are regression floors, no longer a held-out
# measure.
# (no machine facts, a Linux laptop's facts) -> right top-1 causes
HELDOUT_RIGHT_FLOORS = {
    "heldout": (30, 30),  # of 32 causes (31 before samba-14 was read as the project's kernels)
    "heldout2": (24, 24),  # of 24
    "heldout3": (38, 38),  # of 41, after the tuning on it (28/26 when it was held out)
    "heldout4": (54, 54),  # of 60, after the tuning on it (42/42 when it was held out)
    "heldout5": (36, 36),  # of 40, after the tuning on it (25/25 when it was held out)
    "heldout6": (20, 20),  # of 20, after the tuning on it (8/8 when it was held out)
    # Round 7 was measured whole and then split (scripts/split_real_logs.py); `tune7` was tuned
    # on, then `heldout7` measured (19/55, engine 6f9233e) and spent for tuning the same day.
    "heldout7": (46, 46),  # of 56, after the tuning on it (19/19 when it was held out; one
    # negative relabelled a cause on 2026-12-07, see the corpus README)
    "tune7": (53, 53),  # of 55, after the tuning on it (20 before)
    # Round 8, held out whole: measured 2026-12-07 (aggregates only), engine 027725e.
    "heldout8": (3, 3),  # of 5 (2 when measured; 3 in an aggregate run after later tunings;
    # spent on 2026-12-08, as were heldout9 and heldout11 to heldout15)
    # Round 9, held out whole: measured 2026-12-07 (aggregates only), engine 027725e; its one
    # cause is one no mode has, so what this part guards is its 0 false positives.
    "heldout9": (1, 1),  # of 1, after the tuning on it (0 when measured: its cause had no mode)
    # Round 10, held out whole: measured 2026-12-07 (aggregates only), engine abd15d5: 31/82
    # (31 of the 52 causes the knowledge base has a mode for; none of the 30 `new:` ones); then
    # spent and tuned on the same day.
    "heldout10": (71, 71),  # of 82, after the tuning on it (31/31 when it was held out)
    # Round 11 was measured whole (8/29, 3/74 false positives; engine a6d8c46), then split like
    # round 7; `tune11` was tuned on.
    "tune11": (11, 11),  # of 15, after the tuning on it (5 before; jamba-8 by MERGED_INTO)
    # ... and `heldout11`, measured once after that tuning (3/14; aggregates only), then spent
    # on 2026-12-08 and tuned on.
    "heldout11": (8, 8),  # of 14, after the tuning on it
    # Round 12 was measured whole (5/9, 1/35 false positives; engine 4d8c35f), then split like
    # rounds 7 and 11; `tune12` was tuned on.
    "tune12": (4, 4),  # of 5, after the tuning on it (2 before)
    # ... and `heldout12` (3/4 and 1/18 false positives as dealt, before the tuning; aggregates
    # only), spent on 2026-12-08 and tuned on.
    "heldout12": (4, 4),  # of 4, after the tuning on it
    # Round 13 was measured whole (8/16, 0/7 false positives; engine 5509794), then split like
    # rounds 7, 11 and 12; `tune13` was tuned on.
    "tune13": (5, 5),  # of 7, after the tuning on it (3 before)
    # ... and `heldout13`: 5/9 and 0/3 as dealt, 6/9 and 0/3 measured once after the tuning on
    # `tune13` (aggregates only); spent on 2026-12-08 and tuned on.
    "heldout13": (7, 7),  # of 9, after the tuning on it
    # Round 14, held out whole: measured 2026-12-07 (1/6, aggregates only), engine 4efd12b;
    # spent on 2026-12-08 and tuned on.
    "heldout14": (4, 4),  # of 6, after the tuning on it
    # Round 15 was measured whole (6/17, 1/39 false positives; engine f85e571), then split like
    # rounds 7 and 11 to 13; `tune15` was tuned on.
    "tune15": (7, 7),  # of 8, after the tuning on it (3 before; mamba-375 by MERGED_INTO)
    # ... and `heldout15`: 3/9 and 1/19 as dealt, 4/9 and 1/19 measured once after the tuning
    # on `tune15` (aggregates only); spent on 2026-12-08 and tuned on (5/9, 0/19).
    "heldout15": (5, 5),  # of 9, after the tuning on it
    # Round 16 was measured whole (15/33, 0/9 false positives; engine 8ece2e5), then split like
    # rounds 7, 11 to 13 and 15; `tune16` was tuned on.
    "tune16": (10, 10),  # of 14, after the tuning on it (4 before; comfyuizonos-7 by MERGED_INTO)
    # ... and `heldout16`, still held out: 11/19 and 0/4 as dealt, the same measured once after
    # the tuning on `tune16` (aggregates only).
    "heldout16": (11, 11),  # of 19
    # Round 17 was measured whole (15/40, 1/7 false positives; engine 410617a), then split by
    # repository; `tune17` was tuned on.
    "tune17": (14, 14),  # of 24, after the tuning on it (6 before; two by MERGED_INTO)
    # ... and `heldout17`, still held out: 9/16 and 1/5 as dealt, the same measured once after
    # the tuning on `tune17` (aggregates only).
    "heldout17": (9, 9),  # of 16
    # Round 18, held out whole: measured 2026-12-07 (aggregates only), engine 0c9b803.
    "heldout18": (4, 4),  # of 6
    # Round 19, held out whole: measured 2026-12-08 (aggregates only), engine 112d0db (the same
    # count with the engine of c651dee, before that session changed anything).
    "heldout19": (9, 9),  # of 13
}
# Parts with fewer than the usual 20 causes / 5 negatives (rounds 8, 9 and 11 to 14: the sources
# were nearly exhausted).
SMALL_PARTS = {"heldout8": (5, 9), "heldout9": (1, 4), "tune11": (15, 30), "heldout11": (14, 30),
               "tune12": (5, 15), "heldout12": (4, 15),
               "tune13": (7, 4), "heldout13": (9, 3), "heldout14": (6, 2),
               "tune15": (8, 20), "heldout15": (9, 19), "tune16": (14, 5),
               "heldout16": (19, 4),
               "tune17": (24, 2), "heldout17": (16, 5), "heldout18": (6, 0),
               "heldout19": (13, 6)}
# False positives a part may have (0 unless named): rounds 7, 10, 11 and 17 had their negatives
# flagged this often when they were measured (round 10: two, one left after the tuning; tune11:
# three, one left; heldout12's and heldout15's one each went with the tuning of 2026-12-08).
FALSE_POSITIVE_CEILINGS = {"heldout7": 2, "heldout10": 1, "tune11": 1, "heldout17": 1}
TUNE_TOP1_FLOOR = 0.95


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))


def test_the_corpus_is_large_and_documented(manifest: dict[str, Any]) -> None:
    logs = manifest["logs"]
    ids = {m.id for m in load_knowledge().modes}
    assert len(logs) >= 60
    assert sum(1 for e in logs.values() if e["label"] == "negative") >= 15
    for log_id, entry in logs.items():
        assert entry["url"].startswith("https://"), log_id
        assert entry["cause"] and entry["resolution"] in ("thread", "log"), log_id
        assert entry["label"] in ids or entry["label"] == "negative" or \
            entry["label"].startswith("new:"), log_id
        text = (CORPUS / entry["file"]).read_text(encoding="utf-8")
        assert text.strip(), log_id


def test_the_split_is_the_scripted_one(manifest: dict[str, Any]) -> None:
    """The recorded split is what the script deals with each round's seed: nobody moved a log by
    hand, and round 1's split is exactly the one dealt before round 2 existed."""
    logs = manifest["logs"]
    assert {k: v["split"] for k, v in logs.items()} == split_real_logs.split_all(logs)
    round1 = {k: v for k, v in logs.items() if v.get("round", 1) == 1}
    assert split_real_logs.split(round1, 13) == {k: v["split"] for k, v in round1.items()}
    halves: dict[str, set[str]] = {}
    for entry in logs.values():
        halves.setdefault(entry["url"], set()).add(entry["split"])
    assert all(len(sides) == 1 for sides in halves.values())  # a thread never straddles
    for rnd, held_name in ((1, "heldout"), (2, "heldout2")):
        part = [e for e in logs.values() if e.get("round", 1) == rnd]
        tune = [e for e in part if e["split"] == "tune"]
        held = [e for e in part if e["split"] == held_name]
        assert len(tune) + len(held) == len(part), rnd
        assert abs(len(tune) - len(held)) <= 4, rnd
        assert sum(e["label"] == "negative" for e in held) >= 5, rnd


def test_round_two_is_large_and_documented(manifest: dict[str, Any]) -> None:
    round2 = [e for e in manifest["logs"].values() if e.get("round", 1) == 2]
    assert len(round2) >= 50
    assert sum(e["label"] == "negative" for e in round2) >= 12


def test_later_rounds_are_held_out_whole(manifest: dict[str, Any]) -> None:
    """Every log of a later round sits on its one held-out side, and no thread of it is a thread
    of an earlier round (the same issue reached through another URL counts as the same)."""
    logs = manifest["logs"].values()
    for rnd, side, least, negatives in ((3, "heldout3", 50, 12), (4, "heldout4", 90, 30),
                                               (5, "heldout5", 50, 12), (6, "heldout6", 25, 8),
                                               (8, "heldout8", 14, 9), (9, "heldout9", 5, 4),
                                               (10, "heldout10", 150, 70),
                                               (14, "heldout14", 8, 2), (18, "heldout18", 6, 0),
                                               (19, "heldout19", 19, 6)):
        part = [e for e in logs if e.get("round", 1) == rnd]
        assert len(part) >= least and {e["split"] for e in part} == {side}
        assert sum(e["label"] == "negative" for e in part) >= negatives
        earlier = {_thread(e["url"]) for e in logs if e.get("round", 1) < rnd}
        assert not earlier & {_thread(e["url"]) for e in part}, rnd


@pytest.mark.parametrize("rnd, tune, held, least", [(7, "tune7", "heldout7", 70),
                                                    (11, "tune11", "heldout11", 45),
                                                    (12, "tune12", "heldout12", 20),
                                                    (13, "tune13", "heldout13", 10),
                                                    (15, "tune15", "heldout15", 25),
                                                    (16, "tune16", "heldout16", 15),
                                                    (17, "tune17", "heldout17", 8)])
def test_rounds_measured_whole_then_split_in_two_thread_disjoint_halves(
        manifest: dict[str, Any], rnd: int, tune: str, held: str, least: int) -> None:
    logs = manifest["logs"].values()
    part = [e for e in logs if e.get("round", 1) == rnd]
    assert len(part) >= 2 * least and {e["split"] for e in part} == {tune, held}
    sides = {s: {_thread(e["url"]) for e in part if e["split"] == s} for s in (tune, held)}
    assert not sides[tune] & sides[held]
    for side in sides.values():
        assert len(side) >= least
    earlier = {_thread(e["url"]) for e in logs if e.get("round", 1) < rnd}
    assert not earlier & (sides[tune] | sides[held])
    if rnd in split_real_logs.GROUPED_BY_REPOSITORY:  # one repository's files on one side
        repos = {s: {split_real_logs.repository(e["url"]) for e in part if e["split"] == s}
                 for s in (tune, held)}
        assert not repos[tune] & repos[held]


def _thread(url: str) -> str:
    """owner/repo#number of a GitHub issue or pull request URL, else the URL without anchor."""
    m = re.match(r"https://github\.com/([^/]+/[^/]+)/(?:issues|pull)/(\d+)", url)
    return f"{m.group(1).lower()}#{m.group(2)}" if m else url.split("#")[0].rstrip("/")


@pytest.mark.parametrize("env_name", ["none", "laptop"])
@pytest.mark.parametrize("half", sorted(HELDOUT_RIGHT_FLOORS))
def test_heldout_accuracy_floor_and_no_false_positives(half: str, env_name: str) -> None:
    """Counts only: a failure here never lists which held-out logs were missed."""
    env = None if env_name == "none" else eval_real_logs.Environment.from_dict(
        eval_real_logs.LAPTOP)
    result = eval_real_logs.evaluate(half, env)
    positives, right = result["positives"], result["right"]
    false_positives, negatives = len(result["false_positives"]), result["negatives"]
    least_positives, least_negatives = SMALL_PARTS.get(half, (20, 5))
    assert positives >= least_positives and negatives >= least_negatives
    floor = HELDOUT_RIGHT_FLOORS[half][0 if env is None else 1]
    assert right >= floor, f"{right}/{positives} right"
    ceiling = FALSE_POSITIVE_CEILINGS.get(half, 0)
    assert false_positives <= ceiling, f"{false_positives}/{negatives} false positives"


@pytest.mark.parametrize("env_name", ["none", "laptop"])
def test_tune_half_stays_diagnosed(env_name: str) -> None:
    env = None if env_name == "none" else eval_real_logs.Environment.from_dict(
        eval_real_logs.LAPTOP)
    result = eval_real_logs.evaluate("tune", env)
    assert result["top1"] >= TUNE_TOP1_FLOOR, result["wrong"]
    assert result["false_positives"] == [], result["false_positives"]
