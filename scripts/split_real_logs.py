"""Split the real-log corpus into tune and held-out halves (run once per round, before tuning).

    python scripts/split_real_logs.py [--write]

Reads tests/fixtures/logs_real/manifest.json and assigns each entry a `split`. The corpus was
gathered in rounds (an entry's `round`, 1 when absent); each round is split on its own, with its
own seed, so adding a round never moves a log of an earlier one:

- round 1 (seed 13): `tune` / `heldout`
- round 2 (seed 26): `tune` / `heldout2`
- round 3 (seed 39): every entry onto `heldout3` (both sides are `heldout3`: the round was held
  out entirely until its measurement was recorded; spent for tuning on 2026-12-07)
- round 4 (seed 52): every entry onto `heldout4`, held out entirely in the same way (spent for
  tuning on 2026-12-07, after its measurement was recorded)
- round 5 (seed 65): every entry onto `heldout5`, held out entirely in the same way (spent for
  tuning on 2026-12-07, after its measurement was recorded)
- round 6 (seed 78): every entry onto `heldout6`, held out entirely in the same way (spent for
  tuning on 2026-12-07, after its measurement was recorded)
- round 7 (seed 91): `tune7` / `heldout7` (164 logs: measured whole, in aggregate, first; then
  split, so that tuning on one half is measured on the other)
- round 8 (seed 104): every entry onto `heldout8` (14 logs gathered while round 7 was tuned on:
  the measure of that tuning, held out whole)
- round 9 (seed 117): every entry onto `heldout9` (5 logs from the upstream trackers, gathered
  after round 8 was measured; held out whole)
- round 11 (seed 143) into `tune11` / `heldout11` (103 logs from nine helpers' searches of the
  upstream, Dao-AILab, framework and downstream trackers and of pages, gathered while round 10
  was tuned on; measured whole, in aggregate, before it was split)
- round 10 (seed 130): every entry onto `heldout10` (158 logs from blogs, error-text searches and
  downstream trackers, gathered while the prose and toolchain faces were written; held out whole)
- round 12 (seed 156) into `tune12` / `heldout12` (44 logs from eight helpers' searches, the
  sources nearly exhausted; measured whole, in aggregate, before it was split)
- round 13 (seed 169) into `tune13` / `heldout13` (23 logs: three helpers retried the threads
  round 12 could not read to their error line; measured whole, in aggregate, before the split)
- round 14 (seed 182): every entry onto `heldout14` (8 logs from four helpers whose search budget
  ran out within minutes; too small to split, held out whole)
- round 15 (seed 195) into `tune15` / `heldout15` (56 logs, 39 of them negatives, from ten
  helpers' searches with a fresh search budget; measured whole, in aggregate, before the split)
- round 16 (seed 208) into `tune16` / `heldout16` (42 logs from eight helpers' searches, the
  sources exhausted: most from Evo/Evo 2 and from install notes committed to repositories;
  measured whole, in aggregate, before the split)
- round 17 (seed 221) into `tune17` / `heldout17` (47 logs from four helpers' searches of files
  committed to repositories: install notes, raw logs, container files; measured whole, in
  aggregate, before the split, which deals it by repository)
- round 18 (seed 234): every entry onto `heldout18` (6 logs, all causes, from two helpers' last
  look-ups in files committed to repositories; too small to split, held out whole)
- round 19 (seed 247): every entry onto `heldout19` (19 logs from six helpers' searches of the
  issue threads' long tail, after five helpers found nothing usable in the `pages` corpus; too
  small to split, held out whole)

Within a round, entries from the same thread (same URL) stay together, so a thread never sits on
both sides; in a round of files committed to repositories (GROUPED_BY_REPOSITORY), entries from the
same repository do. Threads are grouped by their label (a KB mode id, "negative" or "new:<name>")
and each group is shuffled with the round's seed and dealt alternately (a log relabelled after its
round was split, see its `relabelled` record, is grouped by the label it had then), the starting
side carried over from one label to the next, so every label with two or more threads appears on
both sides and the halves stay within one thread of each other. Without --write it only prints the
split's sizes.
"""

# ruff: noqa: T201  # a maintenance script: printing the split is its job
from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "fixtures" / "logs_real" / "manifest.json"

# round -> (seed, tune side, held-out side). A new round gets a new row, never a changed one.
ROUNDS: dict[int, tuple[int, str, str]] = {
    1: (13, "tune", "heldout"),
    2: (26, "tune", "heldout2"),
    3: (39, "heldout3", "heldout3"),  # held out entirely: both sides are the held-out half
    4: (52, "heldout4", "heldout4"),
    5: (65, "heldout5", "heldout5"),
    6: (78, "heldout6", "heldout6"),
    7: (91, "tune7", "heldout7"),
    8: (104, "heldout8", "heldout8"),
    9: (117, "heldout9", "heldout9"),
    10: (130, "heldout10", "heldout10"),
    11: (143, "tune11", "heldout11"),  # measured whole first, then split (as round 7 was)
    12: (156, "tune12", "heldout12"),  # measured whole first, then split (as rounds 7 and 11)
    13: (169, "tune13", "heldout13"),  # measured whole first, then split (as rounds 7, 11, 12)
    14: (182, "heldout14", "heldout14"),  # too small to split: held out whole
    15: (195, "tune15", "heldout15"),  # measured whole first, then split (as rounds 7, 11 to 13)
    16: (208, "tune16", "heldout16"),  # measured whole first, then split (as rounds 7, 11 to 15)
    17: (221, "tune17", "heldout17"),  # measured whole first, then split (by repository)
    18: (234, "heldout18", "heldout18"),  # too small to split: held out whole
    19: (247, "heldout19", "heldout19"),  # too small to split: held out whole
}
# Rounds whose logs come from files committed to repositories (install notes, logs, Dockerfiles)
# rather than from issue threads: several files of one repository tell one person's install, so
# the whole repository is dealt as one thread.
GROUPED_BY_REPOSITORY = frozenset({17, 18})


def entry_round(entry: dict) -> int:
    return int(entry.get("round", 1))


def label_when_dealt(entry: dict) -> str:
    """The label the split was dealt with: a log relabelled later (its `relabelled` record) keeps
    its place, since the split was made before the new label existed."""
    relabelled = entry.get("relabelled")
    return str(relabelled["from"]) if relabelled else str(entry["label"])


def repository(url: str) -> str:
    """owner/repo of a GitHub URL (lower case), else the URL itself."""
    m = re.match(r"https://github\.com/([^/]+/[^/]+)", url)
    return m.group(1).lower() if m else url


def split(entries: dict[str, dict], seed: int,
          sides: tuple[str, str] = ("tune", "heldout"), by_repository: bool = False
          ) -> dict[str, str]:
    """Deal `entries` (one round's) onto `sides` with `seed`."""
    threads: dict[str, list[str]] = defaultdict(list)
    for log_id in sorted(entries):
        url = entries[log_id]["url"]
        threads[repository(url) if by_repository else url].append(log_id)
    by_label: dict[str, list[str]] = defaultdict(list)
    for url, ids in threads.items():
        by_label[label_when_dealt(entries[ids[0]])].append(url)
    rng = random.Random(seed)
    side = rng.randrange(2)
    out: dict[str, str] = {}
    for label in sorted(by_label):
        urls = sorted(by_label[label])
        rng.shuffle(urls)
        for url in urls:
            for log_id in threads[url]:
                out[log_id] = sides[side]
            side = 1 - side
    return out


def split_all(entries: dict[str, dict]) -> dict[str, str]:
    """Every entry's side: each round dealt on its own with its own seed."""
    out: dict[str, str] = {}
    for rnd, (seed, tune, held) in ROUNDS.items():
        part = {k: v for k, v in entries.items() if entry_round(v) == rnd}
        out.update(split(part, seed, (tune, held), by_repository=rnd in GROUPED_BY_REPOSITORY))
    unknown = sorted(k for k in entries if k not in out)
    if unknown:
        raise SystemExit(f"entries of an unknown round: {unknown}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assigned = split_all(data["logs"])
    for log_id, entry in data["logs"].items():
        entry["split"] = assigned[log_id]
    data["split"] = {
        "seed": ROUNDS[1][0],
        "rounds": {str(r): {"seed": s, "sides": [t, h]} for r, (s, t, h) in ROUNDS.items()},
        "method": "per round: stratified by label, grouped by thread URL, dealt alternately "
                  "(scripts/split_real_logs.py)"}
    for rnd, (_seed, tune, held) in ROUNDS.items():
        for half in dict.fromkeys((tune, held)):  # a round held out entirely has one half
            ids = [k for k, v in assigned.items()
                   if v == half and entry_round(data["logs"][k]) == rnd]
            neg = sum(1 for k in ids if data["logs"][k]["label"] == "negative")
            print(f"round {rnd} {half}: {len(ids)} logs, {neg} negatives")
    if args.write:
        MANIFEST.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
