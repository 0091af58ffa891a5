"""The email normalizer against the shared third-party corpus (see its README)."""

from __future__ import annotations

import time
from pathlib import Path

from adapters.email.normalize import Limits, UnreadableMessage, parse_email

from .conftest import REPORT
from .expectations import WHEN, format_scores, index_rows, score

# Quote stripping must not regress below what was measured (120 of 129).
FLOOR = 120
MAX_SECONDS = 1.0

# Bounces and auto-replies our header/MIME rules do not recognize, on purpose.
KNOWN_MISSES = {
    # An Amazon SNS JSON notification with an ordinary From and subject.
    "sisimai/maildir/bsd/lhost-amazonses-12.eml",
    # "Re:Test message" from post_master@...: the failure is only told in the body.
    "sisimai/maildir/bsd/lhost-apachejames-01.eml",
    # A mailing-list manager's "you are not a member" notice without any header mark.
    "sisimai/maildir/bsd/lhost-fml-02.eml",
}


def _parse(path: Path, limits: Limits) -> tuple[str | None, float]:
    start = time.process_time()
    try:
        automated = parse_email(path.read_bytes(), received_at=WHEN, limits=limits).automated
    except UnreadableMessage:
        automated = "unreadable"
    return automated, time.process_time() - start


def test_every_message_parses_quickly(corpus: Path, limits: Limits) -> None:
    slow = []
    for row in index_rows(corpus):
        _, seconds = _parse(corpus / row["path"], limits)  # any exception but Unreadable fails
        if seconds > MAX_SECONDS:
            slow.append((row["path"], round(seconds, 3)))
    assert not slow, f"messages parsed slower than {MAX_SECONDS} s: {slow}"


def test_bounces_and_auto_replies_are_automated(corpus: Path, limits: Limits) -> None:
    rows = [r for r in index_rows(corpus) if r["category"] in ("bounce", "auto-reply")]
    missed = sorted(
        r["path"]
        for r in rows
        if r["path"] not in KNOWN_MISSES and not _parse(corpus / r["path"], limits)[0]
    )
    hits = len(rows) - len(missed) - len(KNOWN_MISSES)
    line = f"automated: {hits}/{len(rows)} bounce/auto-reply ({len(KNOWN_MISSES)} known misses)"
    print(line)
    REPORT.append(line)
    assert not missed, f"not recognized as automated: {missed}"


def test_sisimai_non_bounces_are_not_dsn(corpus: Path, limits: Limits) -> None:
    paths = sorted((corpus / "sisimai" / "maildir" / "not").glob("*.eml"))
    assert len(paths) == 3
    verdicts = {p.name: _parse(p, limits)[0] for p in paths}
    assert all(v != "dsn" for v in verdicts.values()), verdicts


def test_quote_stripping_score(corpus: Path, limits: Limits) -> None:
    scores, failed = score(corpus, limits)
    report = format_scores(scores)
    print(report)
    REPORT.extend(["quote stripping (passed/total):", *report.splitlines()])
    passed = sum(ok for ok, _ in scores.values())
    assert passed >= FLOOR, f"quote stripping {passed} < FLOOR {FLOOR}\n{report}\nfailed: " + (
        ", ".join(case.path for case in failed)
    )
