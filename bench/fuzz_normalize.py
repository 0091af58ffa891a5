"""Fuzz the email normalizer (RELIABILITY 39-40, 45; issue 7 F1): one command, a verdict.

    .venv/bin/python -m bench.fuzz_normalize --count 100000 [--seed 1] [--keep DIR]

Half the messages are corpus mail mutated (byte flips, truncation, spliced halves,
repeated headers, deep nesting, encoded-word and `(` floods); the other half come from
adversarial generators aimed at the regexes and scans (`sent from my aaaa…#`, lines of
spaces, `>` floods, reply headers padded with spaces, 100 KB of `(`, thousands of
encoded-words, deep and wide multipart, hostile subjects and HTML). Each message is
parsed by `parse_email`, then its subject goes through the title-language and
list-keyword parsers. Prints count, unexpected exceptions (anything but
UnreadableMessage), CPU per message (mean, p99, max, worst per generator) and keeps the
slowest inputs and every crashing one in the --keep folder. Exits 1 on any unexpected
exception or any message over --budget CPU seconds (default 1). Also prints the
process's peak RSS.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.email.normalize import Limits, UnreadableMessage, parse_email  # noqa: E402
from adapters.runtime import make_limits  # noqa: E402
from config.settings import load_settings  # noqa: E402
from gateway.languages import Language, LanguageTable  # noqa: E402
from gateway.parsing import is_list_request  # noqa: E402
from tests.support.cpu import OverCpuLimit, cpu_limit  # noqa: E402

NOW = datetime(2026, 12, 7, tzinfo=UTC)
KEEP_SLOWEST = 10
HARD_STOP = 20.0  # CPU seconds after which one message is abandoned (and counted as over budget)
TITLES = LanguageTable([Language("nl", ("Nederlands", "Dutch")), Language("en", ("English",))])
RUN_CHARS = "a 9\t-_>*#:@<.(=?\"'["

Generator = Callable[[random.Random, list[bytes]], bytes]


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
        raw = bytearray(_nested(rng.randint(10, 400))) + raw
    elif kind == 5:
        raw = bytearray(b"Subject: " + b"=?utf-8?q?a?= " * rng.randint(100, 5000) + b"\n") + raw
    else:
        raw = bytearray(b"From: " + b"(" * rng.randint(1000, 100_000) + b"\n") + raw
    return bytes(raw)


# --- adversarial generators --------------------------------------------------------------


def _mail(body: str | bytes, *, subject: str = "Help", sender: str = "Anna <anna@example.org>",
          content_type: str = "text/plain; charset=utf-8", extra: str = "") -> bytes:
    head = (f"From: {sender}\r\nTo: desk@example.net\r\nSubject: {subject}\r\n{extra}"
            f"Message-ID: <fuzz@example.org>\r\nContent-Type: {content_type}\r\n\r\n")
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    return head.encode("utf-8", "surrogatepass") + data


def _nested(depth: int) -> bytes:
    return b"".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n".encode()
                    for i in range(depth))


def mobile_killer(rng: random.Random, pool: list[bytes]) -> bytes:
    device = rng.choice(["a" * rng.randint(50, 20_000), "a " * rng.randint(50, 5000),
                         "a-" * rng.randint(50, 5000)])
    opener = rng.choice(["sent from my ", "Verzonden vanaf mijn ", "von meinem ", "Sent with "])
    return _mail("Thanks\n\n" + opener + device + rng.choice(["#", "!", " please excuse", ""]))


def space_lines(rng: random.Random, pool: list[bytes]) -> bytes:
    width = rng.randint(100, 1700)
    char = rng.choice([" ", "\t", " -", "> ", "* "])
    line = char * (width // len(char)) + rng.choice(["x", "-", ":", "wrote:", ""]) + "\n"
    return _mail("Hello\n" + line * (200_000 // len(line)))


def quote_flood(rng: random.Random, pool: list[bytes]) -> bytes:
    unit = rng.choice([">\n", "> x\n", ">\n\n", "\n> On 1 Jan 2024 a@b.c wrote:\n"])
    return _mail("Hello\n" + unit * (rng.randint(10_000, 200_000) // len(unit)))


def padded_headers(rng: random.Random, pool: list[bytes]) -> bytes:
    pad = " " * rng.randint(100, 1590)
    line = rng.choice([f"-- original message{pad}x", f"1 wrote{pad}x", f"On Mon, 1 Jan{pad}12:00",
                       f"From:{pad}x", f"2024-01-01{pad}<a@b.c>", f"##{pad}x", f"____{pad}x",
                       f"{pad}1<a@b.c>:{pad}x", f"Op 1 jan{pad}schreef"])
    return _mail("Hello\n" + (line + "\n") * rng.randint(1, 125))


def char_runs(rng: random.Random, pool: list[bytes]) -> bytes:
    char = rng.choice(RUN_CHARS)
    run = char * rng.randint(1000, 150_000) + rng.choice(["", "x", "#", "\x00"])
    where = rng.randrange(3)
    if where == 0:
        return _mail(run)
    if where == 1:
        return _mail("Hi", subject=run[:50_000])
    return _mail("Hi", sender=run[:50_000])


def paren_flood(rng: random.Random, pool: list[bytes]) -> bytes:
    flood = "(" * rng.randint(10_000, 100_000)
    where = rng.randrange(3)
    if where == 0:
        return _mail("Hi", sender=flood)
    if where == 1:
        return _mail("Hi", content_type="text/plain; name=" + flood)
    return _mail("Hi", extra=f"Content-Disposition: attachment; filename={flood}\r\n")


def encoded_words(rng: random.Random, pool: list[bytes]) -> bytes:
    word = rng.choice(["=?utf-8?q?a?= ", "=?utf-8?b?YQ==?=", "=?x?q?", "=?utf-8?q?" + "a" * 900 + "?= "])
    flood = word * (rng.randint(1000, 60_000) // len(word))
    return _mail("Hi", subject=flood) if rng.random() < 0.5 else _mail("Hi", sender=flood + "<a@b.c>")


def deep_multipart(rng: random.Random, pool: list[bytes]) -> bytes:
    if rng.random() < 0.5:
        return _nested(rng.randint(10, 2000)) + b"\nbody\n"
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
                    for i in range(rng.randint(10, 3000)))
    return _mail(parts + "--b--\r\n", content_type="multipart/mixed; boundary=b")


def hostile_subject(rng: random.Random, pool: list[bytes]) -> bytes:
    subject = rng.choice(["re" + " " * rng.randint(100, 30_000) + "x",
                          "Re: " * rng.randint(100, 5000) + "tickets",
                          "Nederlands" + " " * rng.randint(100, 30_000) + "- x",
                          "-" * rng.randint(100, 30_000), "undeliver" * rng.randint(100, 3000),
                          "[TI-" * rng.randint(100, 10_000)])
    return _mail("Hi", subject=subject)


def hostile_html(rng: random.Random, pool: list[bytes]) -> bytes:
    body = rng.choice(["<" * rng.randint(1000, 200_000), "<a" * rng.randint(1000, 100_000),
                       "<p>" + "&amp;" * rng.randint(1000, 40_000),
                       "<div>" * rng.randint(1000, 20_000), "<!--" * rng.randint(1000, 30_000)])
    return _mail(body, content_type="text/html; charset=utf-8")


ADVERSARIAL: dict[str, Generator] = {
    fn.__name__: fn for fn in (mobile_killer, space_lines, quote_flood, padded_headers, char_runs,
                               paren_flood, encoded_words, deep_multipart, hostile_subject,
                               hostile_html)
}


def messages(rng: random.Random, pool: list[bytes], count: int) -> Iterator[tuple[str, bytes]]:
    names = sorted(ADVERSARIAL)
    for _ in range(count):
        if rng.random() < 0.5:
            yield "mutation", mutate(rng, pool)
        else:
            name = rng.choice(names)
            yield name, ADVERSARIAL[name](rng, pool)


# --- running ---------------------------------------------------------------------------------


def process(raw: bytes, limits: Limits) -> str:
    """'ok', 'unreadable' or 'abandoned'; any other exception propagates."""
    try:
        with cpu_limit(HARD_STOP):
            try:
                msg = parse_email(raw, received_at=NOW, limits=limits)
            except UnreadableMessage:
                return "unreadable"
            TITLES.parse_title(msg.subject)
            is_list_request(msg.subject)
    except OverCpuLimit:
        return "abandoned"
    return "ok"


def run(count: int, seed: int, keep: Path, budget: float, limits: Limits) -> dict[str, object]:
    rng, pool = random.Random(seed), corpus_messages()
    keep.mkdir(parents=True, exist_ok=True)
    for old in [*keep.glob("slow-*.eml"), *keep.glob("crash-*.eml")]:
        old.unlink()  # a previous run's inputs would read as this run's
    times: list[float] = []
    slowest: list[tuple[float, int, str, bytes]] = []
    worst_by_kind: dict[str, float] = {}
    crashes: list[str] = []
    outcomes = {"ok": 0, "unreadable": 0, "abandoned": 0}
    for number, (kind, raw) in enumerate(messages(rng, pool, count)):
        started = time.process_time()
        try:
            outcomes[process(raw, limits)] += 1
        except Exception:
            crashes.append(f"#{number} {kind}\n{traceback.format_exc(limit=4)}")
            (keep / f"crash-{number}-{kind}.eml").write_bytes(raw)
        spent = time.process_time() - started
        times.append(spent)
        worst_by_kind[kind] = max(worst_by_kind.get(kind, 0.0), spent)
        heapq.heappush(slowest, (spent, number, kind, raw))
        if len(slowest) > KEEP_SLOWEST:
            heapq.heappop(slowest)
    for spent, number, kind, raw in slowest:
        (keep / f"slow-{int(spent * 1000):06d}ms-{number}-{kind}.eml").write_bytes(raw)
    ordered = sorted(times)
    over = sum(1 for spent in times if spent > budget)
    return {
        "messages": count, "seed": seed, "unexpected_exceptions": len(crashes),
        "over_budget": over, "budget_cpu_s": budget, **outcomes,
        "cpu_ms_mean": round(sum(times) / max(1, count) * 1000, 2),
        "cpu_ms_p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1)
        if ordered else 0.0,
        "cpu_ms_max": round(ordered[-1] * 1000, 1) if ordered else 0.0,
        "cpu_ms_max_by_generator": {k: round(v * 1000, 1) for k, v in sorted(worst_by_kind.items())},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "slowest_kept_in": str(keep),
        "crash_samples": crashes[:3],
    }


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=settings.worker.parse_cpu_seconds,
                        help="CPU seconds allowed per message")
    parser.add_argument("--keep", type=Path, default=Path("/tmp/fuzz_normalize"),
                        help="folder for the slowest and the crashing inputs")
    args = parser.parse_args(argv)
    report = run(args.count, args.seed, args.keep, args.budget, make_limits(settings))
    print(json.dumps(report, indent=2))
    failed = report["unexpected_exceptions"] or report["over_budget"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
