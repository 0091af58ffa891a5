"""Every regex that reads outside text runs in time linear in its input (issue 7, F1).

The patterns are found, not listed: every module-level `re.Pattern` of the gateway,
adapter and store packages, plus every literal pattern passed to `re.*` inside a
function (found by reading the source). Each is fed adversarial shapes (runs of one
character with a killer suffix, repeated pairs, the pattern's own literal fragments
followed by a long run, lines of spaces, and Hypothesis-drawn matching prefixes) at
1,000 and 8,000 characters: the larger must cost at most a generous linear factor of
the smaller plus a floor, and stay under an absolute cap. A measurement runs under
an interval timer, so a catastrophic pattern fails the test instead of hanging it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import re
import re._constants as sre_constants
import re._parser as sre_parse
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.email.normalize import parse_email
from adapters.email.quotes import strip_reply
from config.settings import load_settings
from gateway.languages import Language, LanguageTable
from gateway.parsing import is_list_request, strip_reply_prefixes
from tests.support.cpu import OverCpuLimit, assert_linear, cpu_limit
from tests.support.defaults import default_limits

PACKAGES = ("gateway", "adapters", "store")
SKIPPED = ("adapters.cli", "adapters.__main__", "store.migrations")  # CLI entry, Alembic scripts
SMALL, LARGE = 1_000, 8_000
LINEAR_FACTOR = 3 * LARGE // SMALL  # linear costs ~8x; quadratic ~64x
FLOOR = 0.01  # seconds below which a measurement proves nothing either way
CAP = 0.1  # seconds: no pattern may spend more on 8,000 characters
HANG = 1.0  # seconds: a measurement still running then is a failure
METHODS = ("search", "match", "fullmatch", "findall")
RUN_CHARS = "aZ9é \t\u00a0-_>*#:@<.(=?\"'[/\\\n"
PAIRS = ("a ", "a-", "a.", "a:", " -", "- ", "> ", "* ", "_ ", " \t", "=?", "##-", "a@", "1:", "<a",
         "\r\n", "--", "-##", "ab", "1 ", "a,", "(a", "@.", "a\n")
KILLERS = ("", "\x00", "x")
MAX_FRAGMENTS = 16


@dataclass(frozen=True)
class Found:
    name: str
    pattern: re.Pattern[Any]


def _modules() -> Iterator[str]:
    for package in PACKAGES:
        root = importlib.import_module(package)
        yield package
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if not info.name.startswith(SKIPPED):
                yield info.name


def _flags(node: ast.expr | None) -> int:
    """The value of a flags argument such as `re.I | re.M` (0 when absent)."""
    if node is None:
        return 0
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flags(node.left) | _flags(node.right)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re":
        return int(getattr(re, node.attr))
    raise ValueError(f"unreadable flags at line {node.lineno}")


_RE_CALLS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "split", "sub", "subn"}
_FLAG_POSITION = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2, "findall": 2, "finditer": 2,
                  "split": 3, "sub": 4, "subn": 4}


def _re_calls(tree: ast.AST) -> Iterator[tuple[ast.Call, bool]]:
    """`re.<fn>(...)` calls and whether each sits inside a function."""
    def visit(node: ast.AST, inside: bool) -> Iterator[tuple[ast.Call, bool]]:
        for child in ast.iter_child_nodes(node):
            nested = inside or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            func = getattr(child, "func", None)
            if (isinstance(child, ast.Call) and isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name) and func.value.id == "re"
                    and func.attr in _RE_CALLS):
                yield child, nested
            yield from visit(child, nested)
    yield from visit(tree, False)


def _inline_patterns(module: str) -> tuple[list[Found], list[str]]:
    """Literal patterns given to `re.*` inside functions, and the ones built at run time."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return [], []
    tree = ast.parse(Path(spec.origin).read_text())
    found, built = [], []
    for call, inside in _re_calls(tree):
        assert isinstance(call.func, ast.Attribute)
        first = call.args[0] if call.args else None
        if not inside:
            continue  # module level: the compiled object is collected by import
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str | bytes):
            built.append(f"{module}:{call.lineno}")
            continue
        position = _FLAG_POSITION[call.func.attr]
        flag_node = next((k.value for k in call.keywords if k.arg == "flags"),
                         call.args[position] if len(call.args) > position else None)
        pattern = re.compile(first.value, _flags(flag_node))
        found.append(Found(f"{module}:{call.lineno}", pattern))
    return found, built


def _held(name: str, value: object) -> Iterator[Found]:
    """Patterns a module attribute is or holds (in a tuple, list, set, dict or class)."""
    if isinstance(value, re.Pattern):
        yield Found(name, value)
    elif isinstance(value, tuple | list | set | frozenset):
        yield from (Found(f"{name}[{i}]", v) for i, v in enumerate(value) if isinstance(v, re.Pattern))
    elif isinstance(value, dict):
        yield from (Found(f"{name}[{k!r}]", v) for k, v in value.items() if isinstance(v, re.Pattern))
    elif isinstance(value, type):
        yield from (Found(f"{name}.{k}", v) for k, v in vars(value).items() if isinstance(v, re.Pattern))


def discover() -> tuple[list[Found], list[str]]:
    """Every pattern of the packages (deduplicated), and the run-time-built ones."""
    seen: dict[tuple[Any, int], Found] = {}
    built: list[str] = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            for item in _held(f"{name}.{attr}", value):
                seen.setdefault((item.pattern.pattern, item.pattern.flags), item)
        inline, dynamic = _inline_patterns(name)
        built += dynamic
        for item in inline:
            seen.setdefault((item.pattern.pattern, item.pattern.flags), item)
    return sorted(seen.values(), key=lambda f: f.name), built


PATTERNS, BUILT_AT_RUN_TIME = discover()


# --- shapes -------------------------------------------------------------------------------


def _literals(parsed: Any) -> Iterator[str]:
    """Runs of literal characters in a parsed pattern, branch by branch."""
    run: list[str] = []
    for op, arg in parsed:
        if op is sre_constants.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            yield "".join(run)
            run = []
        if op is sre_constants.BRANCH:
            for branch in arg[1]:
                yield from _literals(branch)
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
            yield from _literals(arg[2])
        elif op is sre_constants.SUBPATTERN:
            yield from _literals(arg[3])
        elif op in (sre_constants.ATOMIC_GROUP,):
            yield from _literals(arg)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            yield from _literals(arg[1])
    if run:
        yield "".join(run)


def fragments(pattern: re.Pattern[Any]) -> list[str]:
    source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    parsed = sre_parse.parse(source, pattern.flags & ~re.DEBUG)
    unique = sorted(set(_literals(parsed)), key=lambda s: (-len(s), s))
    return unique[:MAX_FRAGMENTS]


Shape = Callable[[int], str]


def _run(char: str, killer: str) -> Shape:
    return lambda n: char * n + killer


def _pairs(pair: str, killer: str) -> Shape:
    return lambda n: pair * (n // len(pair)) + killer


def _after(prefix: str, char: str, killer: str) -> Shape:
    return lambda n: prefix + char * n + killer


def _repeated(fragment: str, sep: str) -> Shape:
    unit = fragment + sep
    return lambda n: unit * (n // len(unit) + 1)


def _lines(char: str, width: int) -> Shape:
    line = char * width + "x\n"
    return lambda n: line * (n // len(line) + 1)


def shapes(pattern: re.Pattern[Any]) -> list[tuple[str, Shape]]:
    """(label, n -> text) pairs: the fixed adversarial shapes for one pattern."""
    out: list[tuple[str, Shape]] = []
    for char in RUN_CHARS:
        out += [(f"{char!r}*n+{killer!r}", _run(char, killer)) for killer in KILLERS]
    out += [(f"{pair!r}*n/2+{k!r}", _pairs(pair, k)) for pair in PAIRS for k in ("", "\x00")]
    out += [(f"({c!r}*{w}+'x\\n')*k", _lines(c, w)) for c in " \t-" for w in (200, 1590)]
    for fragment in fragments(pattern):
        out += [(f"{fragment!r}+{c!r}*n+'#'", _after(fragment, c, "#")) for c in "a 1-:"]
        out += [(f"({fragment!r}+{sep!r})*k", _repeated(fragment, sep)) for sep in ("", " ")]
    return out


# --- measuring ----------------------------------------------------------------------------


def cpu(call: Callable[[], object], limit: float = HANG) -> float:
    started = time.process_time()
    with cpu_limit(limit):
        call()
    return time.process_time() - started


def as_input(pattern: re.Pattern[Any], text: str) -> str | bytes:
    return text if isinstance(pattern.pattern, str) else text.encode("utf-8")


def linear_failure(pattern: re.Pattern[Any], method: str, shape: Shape,
                   hang: float = HANG) -> str | None:
    """Why `method` is not linear on this shape, or None when it is."""
    run = getattr(pattern, method)
    large = as_input(pattern, shape(LARGE))
    try:
        spent = cpu(lambda: run(large), hang)
        if spent <= FLOOR:
            return None
        spent = min(spent, cpu(lambda: run(large)))  # a busy machine: take the best of two
        small = as_input(pattern, shape(SMALL))
        base = min(cpu(lambda: run(small)) for _ in range(3))
    except OverCpuLimit:
        return f"still running after {hang} s on {len(large)} chars"
    if spent > LINEAR_FACTOR * base + FLOOR or spent > CAP:
        return f"{base * 1000:.1f} ms at {SMALL} chars, {spent * 1000:.1f} ms at {LARGE}"
    return None


def _ids(found: list[Found]) -> list[str]:
    return [item.name for item in found]


# --- tests --------------------------------------------------------------------------------


def test_discovery_finds_the_patterns_that_read_mail_and_titles() -> None:
    names = set(_ids(PATTERNS))
    for expected in ("adapters.email.quotes._MOBILE", "adapters.email.quotes._WROTE",
                     "adapters.email.headers._ENCODED_WORD", "gateway.parsing._REPLY_PREFIX",
                     "gateway.live_chat._EMAIL", "adapters.email.automation._BOUNCE_SUBJECT"):
        assert expected in names
    assert any(":" in name and name.startswith("adapters.email.") for name in names)  # inline ones
    assert len(PATTERNS) > 40


def test_no_pattern_is_built_at_run_time() -> None:
    """A pattern assembled inside a function escapes the checks below: define it at module level."""
    assert BUILT_AT_RUN_TIME == []


@pytest.mark.parametrize("found", PATTERNS, ids=_ids(PATTERNS))
def test_pattern_is_linear_on_adversarial_shapes(found: Found) -> None:
    failures = []
    for label, shape in shapes(found.pattern):
        for method in METHODS:
            why = linear_failure(found.pattern, method, shape)
            if why:
                failures.append(f"{method} on {label}: {why}")
    assert not failures, f"{found.name} is super-linear:\n" + "\n".join(failures[:10])


ALPHABET = "aZz09 \t\n-_.:@<>#*()[]=?\"'/\\é\u00a0中,;!"
_CATEGORY_TESTS = {"DIGIT": r"\d", "SPACE": r"\s", "WORD": r"\w", "LINEBREAK": r"\n"}


def _in_category(ch: str, category: Any) -> bool:
    name = str(category)
    kind = next(key for key in _CATEGORY_TESTS if key in name)
    hit = re.fullmatch(_CATEGORY_TESTS[kind], ch) is not None
    return hit != ("NOT" in name)


def _in_class(ch: str, items: list[tuple[Any, Any]]) -> bool:
    for op, arg in items:
        if op is sre_constants.LITERAL and ord(ch) == arg:
            return True
        if op is sre_constants.RANGE and arg[0] <= ord(ch) <= arg[1]:
            return True
        if op is sre_constants.CATEGORY and _in_category(ch, arg):
            return True
    return False


def _class_chars(items: list[tuple[Any, Any]]) -> list[str]:
    """Characters of ALPHABET (plus the class's own literals) that a [...] class accepts."""
    if items and items[0][0] is sre_constants.NEGATE:
        return [ch for ch in ALPHABET if not _in_class(ch, items[1:])]
    own = [chr(arg) for op, arg in items if op is sre_constants.LITERAL]
    own += [chr(arg[0]) for op, arg in items if op is sre_constants.RANGE]
    return own + [ch for ch in ALPHABET if ch not in own and _in_class(ch, items)]


@st.composite
def near_matches(draw: st.DrawFn, pattern: re.Pattern[Any]) -> str:
    """A string built by walking the pattern: branches, repeat counts and class members drawn.

    Look-arounds and anchors are ignored, so the string matches the pattern or nearly does:
    the prefix an attacker would write before a long run. (Hypothesis's `from_regex` takes
    seconds per example on classes spanning all of Unicode.)
    """
    out: list[str] = []

    def emit(items: Any) -> None:
        for op, arg in items:
            if op is sre_constants.LITERAL:
                out.append(chr(arg))
            elif op in (sre_constants.IN, sre_constants.NOT_LITERAL, sre_constants.ANY):
                chars = (_class_chars(arg) if op is sre_constants.IN
                         else [c for c in ALPHABET if c != "\n" and (arg is None or ord(c) != arg)])
                if chars:
                    out.append(draw(st.sampled_from(chars)))
            elif op is sre_constants.BRANCH:
                emit(draw(st.sampled_from(arg[1])))
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
                        sre_constants.POSSESSIVE_REPEAT):
                for _ in range(draw(st.integers(arg[0], min(arg[1], arg[0] + 3)))):
                    emit(arg[2])
            elif op is sre_constants.SUBPATTERN:
                emit(arg[3])
            elif op is sre_constants.ATOMIC_GROUP:
                emit(arg)

    source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    emit(sre_parse.parse(source, pattern.flags))
    return "".join(out)


@pytest.mark.parametrize("found", PATTERNS, ids=_ids(PATTERNS))
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_matching_prefix_then_long_run_is_linear(found: Found, data: st.DataObject) -> None:
    """A prefix of a string the pattern (nearly) accepts, a long run of one character, a killer."""
    whole = data.draw(near_matches(found.pattern))
    cut = data.draw(st.integers(0, min(len(whole), 200)))
    prefix = whole[:cut]
    # Pump the character the pattern wanted at the cut (that is where runs hide), or any.
    pumped = whole[cut] if cut < len(whole) else "a"
    char = data.draw(st.sampled_from((pumped, *RUN_CHARS)) if data.draw(st.booleans()) else st.just(pumped))
    killer = data.draw(st.sampled_from((*KILLERS, "#")))
    for method in ("search", "match"):
        why = linear_failure(found.pattern, method, _after(prefix, char, killer))
        assert why is None, f"{found.name}.{method} on {prefix!r}+{char!r}*n+{killer!r}: {why}"


def test_the_checker_catches_a_catastrophic_pattern() -> None:
    """The checks above would see the pattern this issue was about (and do not hang on it)."""
    old_device = re.compile(r"^\s*sent from my (\w+[ -]?){1,5}\s*$", re.I)
    why = linear_failure(old_device, "match", _after("sent from my ", "a", "#"), hang=0.2)
    assert why is not None and "still running" in why
    old_split = re.compile(r"\s*[-–—:]\s*")  # the title splitter of gateway/languages.py
    assert linear_failure(old_split, "split", _run(" ", "x")) is not None
    assert linear_failure(re.compile(r"\s*-"), "match", _run("-", "x")) is None


# --- end to end: the attacker inputs ---------------------------------------------------------

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _mail(body: str) -> bytes:
    head = "From: Anna <anna@example.org>\r\nTo: desk@example.net\r\nSubject: Help\r\n"
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


# (body of size n, n): before the fixes these took hours, 1.5 s, 5 s, hours and 0.29 s.
BODIES: dict[str, tuple[Callable[[int], str], int]] = {
    "mobile": (lambda n: "Thanks\n\nsent from my " + "a" * n + "#", 300),
    "space-lines": (lambda n: "Hello\n" + (" " * 1590 + "x\n") * n, 125),  # 200 KB
    "quote-lines": (lambda n: "Hello\n" + ">\n" * n, 100_000),
    "separator": (lambda n: "Hello\n-- original message" + " " * n + "x\n", 1500),
    "wrote": (lambda n: "Hello\n" + ("1 wrote" + " " * 390 + "x\n") * n, 500),  # 200 KB
}


@pytest.mark.parametrize(("build", "n"), BODIES.values(), ids=BODIES.keys())
def test_strip_reply_is_linear_on_attacker_bodies(build: Callable[[int], str], n: int) -> None:
    assert_linear(strip_reply, build, n)


@pytest.mark.parametrize("body", [build(n) for build, n in BODIES.values()], ids=BODIES.keys())
def test_parse_email_is_fast_on_attacker_mail(body: str) -> None:
    """The whole parse (MIME, charsets, quotes) within the worker's per-message CPU budget;
    ~0.3 s for the slowest shape on a quiet machine, so a busy one still passes."""
    raw, limits = _mail(body), default_limits()
    parse_budget = load_settings().worker.parse_cpu_seconds
    assert cpu(lambda: parse_email(raw, received_at=NOW, limits=limits), 2.0) < parse_budget


# Titles are stripped first, so a title of spaces alone was always fast: the slow
# shape has words around the run (1.7 s before the fix).
TITLES = {"word-spaces-word": "Nederlands" + " " * 20_000 + "x",
          "spaces-between-letters": "a" + " " * 20_000 + "b"}


@pytest.mark.parametrize("title", TITLES.values(), ids=TITLES.keys())
def test_title_parsing_is_fast_on_long_titles(title: str) -> None:
    table = LanguageTable([Language("nl", ("Nederlands", "Dutch"))])
    assert cpu(lambda: table.parse_title(title), 2.0) < 0.05


def test_reply_prefixes_are_fast_on_long_runs() -> None:
    subject = "re" + " " * 20_000 + "x"
    assert cpu(lambda: strip_reply_prefixes(subject), 2.0) < 0.05
    assert cpu(lambda: is_list_request(subject), 2.0) < 0.05
    assert strip_reply_prefixes("Re:  RE [2]: Fwd : printer") == "printer"
