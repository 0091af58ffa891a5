"""Print corpus figures: quote stripping per source, classification, parse time.

Usage: .venv/bin/python bench/corpus_figures.py  (GATEWAY_CORPUS overrides the path)
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from corpus.expectations import WHEN, corpus_dir, format_scores, index_rows, score  # noqa: E402

from adapters.email.normalize import Limits, UnreadableMessage, parse_email  # noqa: E402
from tests.support.defaults import default_limits  # noqa: E402


def _classify_and_time(root: Path, limits: Limits
                       ) -> tuple[Counter[tuple[str, str]], list[tuple[float, str]]]:
    verdicts: Counter[tuple[str, str]] = Counter()
    timings: list[tuple[float, str]] = []
    for row in index_rows(root):
        raw = (root / row["path"]).read_bytes()
        start = time.process_time()
        try:
            automated = parse_email(raw, received_at=WHEN, limits=limits).automated or "person"
        except UnreadableMessage:
            automated = "unreadable"
        timings.append((time.process_time() - start, row["path"]))
        verdicts[(row["category"], automated)] += 1
    return verdicts, timings


def main() -> int:
    root = corpus_dir()
    if not (root / "INDEX.tsv").is_file():
        print(f"corpus not found at {root} (set GATEWAY_CORPUS)", file=sys.stderr)
        return 1
    limits = default_limits()
    scores, failed = score(root, limits)
    print("Quote stripping (passed/total)")
    print(format_scores(scores))
    print("failed:", ", ".join(case.path for case in failed) or "-")
    verdicts, timings = _classify_and_time(root, limits)
    print("\nClassification (INDEX category -> automated reason: count)")
    for (category, reason), count in sorted(verdicts.items()):
        print(f"  {category:11} {reason:15} {count:4}")
    for category in ("bounce", "auto-reply"):
        total = sum(n for (c, _), n in verdicts.items() if c == category)
        people = verdicts[(category, "person")]
        print(f"  {category}: {total - people}/{total} flagged as automated")
    seconds = [t for t, _ in timings]
    slowest = max(timings)
    print(
        f"\nParse time over {len(seconds)} messages: mean {statistics.mean(seconds) * 1000:.1f} ms,"
        f" max {slowest[0] * 1000:.1f} ms ({slowest[1]})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
