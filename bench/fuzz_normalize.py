"""Fuzz the email normalizer with mutated corpus messages (RELIABILITY 39-40, 45).

Mutations: byte flips, truncation, spliced halves of two messages, repeated headers,
deep nesting, encoded-word floods and `(` floods. Counts unexpected exceptions (anything
but UnreadableMessage) and CPU time per message; prints figures, asserts nothing.

    .venv/bin/python bench/fuzz_normalize.py [--count 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.email.normalize import UnreadableMessage, parse_email  # noqa: E402

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def corpus_messages() -> list[bytes]:
    root = Path(os.environ.get("GATEWAY_CORPUS", ROOT.parent / "shared" / "corpus"))
    index = (root / "INDEX.tsv").read_text().splitlines()[1:]
    return [(root / line.split("\t")[0]).read_bytes() for line in index]


def mutate(rng: random.Random, pool: list[bytes]) -> bytes:
    raw = bytearray(rng.choice(pool))
    kind = rng.randrange(7)
    if kind == 0 and raw:
        for _ in range(rng.randint(1, 50)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
    elif kind == 1:
        raw = raw[: rng.randrange(len(raw) + 1)]
    elif kind == 2:
        other = rng.choice(pool)
        raw = raw[: len(raw) // 2] + bytearray(other[len(other) // 2:])
    elif kind == 3:
        raw = bytearray(b"Subject: x\r\n" * rng.randint(100, 3000)) + raw
    elif kind == 4:
        depth = rng.randint(10, 400)
        raw = bytearray(b"".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"
                                 .encode() for i in range(depth))) + raw
    elif kind == 5:
        raw = bytearray(b"Subject: " + b"=?utf-8?q?a?= " * rng.randint(100, 5000) + b"\n") + raw
    else:
        raw = bytearray(b"From: " + b"(" * rng.randint(1000, 100_000) + b"\n") + raw
    return bytes(raw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng, pool = random.Random(args.seed), corpus_messages()
    crashes: list[str] = []
    unreadable, slowest, total = 0, 0.0, 0.0
    slow_dir = Path(os.environ.get("FUZZ_SLOW_DIR", ""))
    for number in range(args.count):
        raw = mutate(rng, pool)
        started = time.process_time()
        try:
            parse_email(raw, received_at=NOW)
        except UnreadableMessage:
            unreadable += 1
        except Exception:
            crashes.append(traceback.format_exc(limit=3))
        spent = time.process_time() - started
        total, slowest = total + spent, max(slowest, spent)
        if spent > 1.0 and slow_dir.parts:  # keep the inputs that break the 1 s budget
            (slow_dir / f"slow-{number}.eml").write_bytes(raw)
    print(json.dumps({"messages": args.count, "unexpected_exceptions": len(crashes),
                      "unreadable": unreadable, "cpu_ms_mean": round(total / args.count * 1000, 2),
                      "cpu_ms_max": round(slowest * 1000, 1)}, indent=2))
    for crash in crashes[:3]:
        print(crash, file=sys.stderr)


if __name__ == "__main__":
    main()
