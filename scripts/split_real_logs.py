"""Split the real-log corpus into tune and held-out halves (run once, before tuning).

    python scripts/split_real_logs.py [--seed 13] [--write]

Reads tests/fixtures/logs_real/manifest.json and assigns each entry a `split`. Entries from the
same thread (same URL) stay together, so a thread never sits on both sides. Threads are grouped by
their label (a KB mode id, "negative" or "new:<name>") and each group is shuffled with a fixed seed
and dealt alternately, the starting side carried over from one label to the next, so every label
with two or more threads appears on both sides and the halves stay within one thread of each other.
Without --write it only prints the split.
"""

# ruff: noqa: T201  # a maintenance script: printing the split is its job
from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "fixtures" / "logs_real" / "manifest.json"


def split(entries: dict[str, dict], seed: int) -> dict[str, str]:
    threads: dict[str, list[str]] = defaultdict(list)
    for log_id in sorted(entries):
        threads[entries[log_id]["url"]].append(log_id)
    by_label: dict[str, list[str]] = defaultdict(list)
    for url, ids in threads.items():
        by_label[entries[ids[0]]["label"]].append(url)
    rng = random.Random(seed)
    side = rng.randrange(2)
    out: dict[str, str] = {}
    for label in sorted(by_label):
        urls = sorted(by_label[label])
        rng.shuffle(urls)
        for url in urls:
            for log_id in threads[url]:
                out[log_id] = ("tune", "heldout")[side]
            side = 1 - side
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assigned = split(data["logs"], args.seed)
    for log_id, entry in data["logs"].items():
        entry["split"] = assigned[log_id]
    data["split"] = {"seed": args.seed, "method": "stratified by label, grouped by thread URL, "
                     "dealt alternately (scripts/split_real_logs.py)"}
    for half in ("tune", "heldout"):
        ids = [k for k, v in assigned.items() if v == half]
        neg = sum(1 for k in ids if data["logs"][k]["label"] == "negative")
        print(f"{half}: {len(ids)} logs, {neg} negatives")
    if args.write:
        MANIFEST.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
