"""Read the corpus's quote-stripping expectations and score `strip_reply` on them.

Shared by the corpus tests and `bench/corpus_figures.py`. Comparison is
whitespace-insensitive and ignores Markdown emphasis (`*`, `_`), because
several sources state their expectation in Markdown converted from HTML.
"""

from __future__ import annotations

import csv
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adapters.email.normalize import Limits, UnreadableMessage, parse_email
from adapters.email.parts import html_to_text
from adapters.email.quotes import strip_reply

REPO_ROOT = Path(__file__).resolve().parents[2]
WHEN = datetime(2024, 1, 1, tzinfo=UTC)
_TALON_HTML_REPLY = "Hi. I am fine.\n\nThanks,\nAlex"
_STATED = re.compile(
    r"(?:visible reply|visible text|visible|latest body|body)\s+"
    r'(==|starts|contains)\s+"(.*?)"(?=\s+\(|;|\s+\||\s*$)'
)
_INDEX_SOURCES = ("discourse", "email-reply-parser", "mail-parser-reply", "zapier")


def corpus_dir() -> Path:
    return Path(os.environ.get("GATEWAY_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))


@dataclass(frozen=True)
class Case:
    source: str
    path: str
    mode: str  # "==", "starts" or "contains"
    accepted: tuple[str, ...]


def index_rows(root: Path) -> list[dict[str, str]]:
    with (root / "INDEX.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n")


def _trimmer_cases(root: Path) -> Iterator[Case]:
    base = root / "email_reply_trimmer"
    for path in sorted((base / "emails").glob("*.txt")):
        expected = base / "trimmed" / path.name
        if expected.exists():
            text = expected.read_text(encoding="utf-8", errors="replace")
            yield Case("email_reply_trimmer", str(path.relative_to(root)), "==", (text,))


def _talon_cases(root: Path) -> Iterator[Case]:
    for path in sorted((root / "talon" / "standard_replies").glob("*.eml")):
        accepted = ["Hello"]
        sibling = path.with_name(path.stem + "_reply_text")
        if sibling.exists():  # talon keeps signatures; we strip them, so both count
            accepted.insert(0, sibling.read_text(encoding="utf-8", errors="replace"))
        yield Case("talon", str(path.relative_to(root)), "==", tuple(accepted))
    for path in sorted((root / "talon" / "html_replies").glob("*.html")):
        yield Case("talon-html", str(path.relative_to(root)), "==", (_TALON_HTML_REPLY,))


def _index_cases(root: Path) -> Iterator[Case]:
    for row in index_rows(root):
        source = row["path"].split("/")[0]
        expected = row.get("expected") or ""
        if not source.startswith(_INDEX_SOURCES) or expected.startswith("note:"):
            continue
        found = _STATED.search(expected)
        if found:
            mode, text = found.group(1), _unescape(found.group(2))
            yield Case(source, row["path"], mode, (text,))


def cases(root: Path) -> list[Case]:
    return [*_trimmer_cases(root), *_talon_cases(root), *_index_cases(root)]


def _squash(text: str) -> str:
    return " ".join(text.replace("*", "").replace("_", "").split())


def visible_text(root: Path, case: Case, limits: Limits) -> str:
    path = root / case.path
    raw = path.read_bytes()
    if path.suffix == ".eml":
        try:
            return parse_email(raw, received_at=WHEN, limits=limits).text
        except UnreadableMessage:
            return ""
    text = raw.decode("utf-8", errors="replace")
    if path.suffix == ".html":
        text = html_to_text(text)
    return strip_reply(text)


def _matches(got: str, want: str, mode: str) -> bool:
    """`...` in an expectation stands for elided text (the sources write it so)."""
    pieces = [_squash(piece) for piece in re.split(r'"?\s\.\.\.\s(?:ends\s")?', want)]
    if '... ends "' in want:
        mode = "=="
    if mode == "contains":
        return all(piece in got for piece in pieces)
    if not got.startswith(pieces[0]):
        return False
    position = len(pieces[0])
    for piece in pieces[1:]:
        found = got.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return mode == "starts" or (got.endswith(pieces[-1]) and position == len(got))


def passes(case: Case, got: str) -> bool:
    squashed = _squash(got)
    return any(_matches(squashed, want, case.mode) for want in case.accepted)


def score(root: Path, limits: Limits) -> tuple[dict[str, tuple[int, int]], list[Case]]:
    """Per source (passed, total), and the cases that failed."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failed: list[Case] = []
    for case in cases(root):
        ok = passes(case, visible_text(root, case, limits))
        totals[case.source][0] += int(ok)
        totals[case.source][1] += 1
        if not ok:
            failed.append(case)
    return {name: (v[0], v[1]) for name, v in sorted(totals.items())}, failed


def format_scores(scores: dict[str, tuple[int, int]]) -> str:
    lines = [f"{name:24} {ok:3}/{total:3}" for name, (ok, total) in scores.items()]
    ok_all = sum(v[0] for v in scores.values())
    all_ = sum(v[1] for v in scores.values())
    lines.append(f"{'TOTAL':24} {ok_all:3}/{all_:3}")
    return "\n".join(lines)
