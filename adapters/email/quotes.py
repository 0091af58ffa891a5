"""Strip quoted earlier messages and signatures from a reply body.

The body is cut at the first quote marker found: our own "reply above this
line" marker, a reply header ("On ... wrote:" in many languages, possibly
wrapped), an Outlook "Original Message" separator or From/Sent header block,
or a trailing run of ">" lines. Then a "-- " signature and a mobile "Sent
from my ..." line at the end are removed. Interleaved answers between quotes
are kept. All patterns are anchored and bounded (no catastrophic
backtracking): every run that could be split two ways is possessive (`*+`,
`++`) or atomic, so a pattern costs time linear in the line it reads, and
only lines of bounded length are looked at.
"""

from __future__ import annotations

import re

_MAX_LINE = 400
_MARKER = re.compile(r"##-.{0,200}-##")
_WROTE_WORDS = (
    r"wrote|writes|schreef|geschreven|skrev|skriver|a écrit|a ecrit|écrit|napsal\(a\)|"
    r"napsal|napsala|kirjoitti|schrieb|escribió|escribio|ha scritto|scrisse|"
    r"napisał\(a\)|napisał|napisała|napisal|написал\(а\)|написал|написала|пише|"
    r"escreveu|skrifaði|kirjutas|írta|yazdı|写道|寫道|a scris|pisze|píše|kirjoittaa"
)
_WROTE = re.compile(rf"(?<!\w)({_WROTE_WORDS})(?!\w)(.{{0,200}}:|\s*+-*+)\s*+$", re.I)
_ISO_DATE_HEADER = re.compile(r"^\s*+\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b.{0,160}+$")
_ISO_DATE_TIME = re.compile(
    r"^\s*+\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}( GMT[+-]\d{2}:?\d{2})? [^.!?]{1,80}+$"
)
_ON_DAY_TIME = re.compile(
    r"^\s*+On (Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*+,? [^.!?]{0,60}\d{1,2}:\d{2}[^.!?]{0,60}+$"
)
# "<name> <addr>:" with a digit (a date) in the name part; the digit is checked
# in `_address_colon` so that the two runs around it need not backtrack.
_ADDRESS_COLON = re.compile(r"^([^<>]{0,321}+)<[^<>\s]{1,100}@[^<>\s]{1,100}+>\s?:\s*+$")
_DIGIT = re.compile(r"\d")
_OPENER = re.compile(r"^\s*+(on|op|le|den|dne|am|el|il|em|dnia|w dniu|på|pe|\d+)\b", re.I)
_MARKER_LOOSE = re.compile(r"^\s*+##.{5,200}##\s*+$")
_SEPARATOR = re.compile(
    r"^[*_>\s]*+-{2,}+\s*+[*_]*+\s*+("
    r"original message|oorspronkelijk bericht|oprindelig meddelelse|message d'origine|"
    r"původní zpráva|puvodni zprava|alkuperäinen viesti|ursprüngliche nachricht|"
    r"ursprungligt meddelande|opprinnelig melding|mensaje original|messaggio originale|"
    r"wiadomość oryginalna|oryginalna wiadomość|forwarded message|doorgestuurd bericht|"
    r"message transféré|videresendt meddelelse|weitergeleitete nachricht|välitetty viesti|"
    r"přeposlaná zpráva|mensaje reenviado|messaggio inoltrato|vidarebefordrat meddelande|"
    r"исходное сообщение|пересылаемое сообщение|original meddelelse|originalnachricht"
    r")\s*+[*_]*+\s*+-*+\s*+[*_]*+\s*+$",
    re.I,
)
_FORWARD_INTRO = re.compile(r"^\s*+(begin forwarded message|anfang der weitergeleiteten)", re.I)
_FROM_KEYS = r"from|van|fra|de|od|lähettäjä|von|från|da|remitente|mittente|от|frá|feladó|afsender"
_OTHER_KEYS = (
    r"sent|date|to|subject|cc|reply-to|verzonden|datum|aan|onderwerp|sendt|til|emne|"
    r"envoyé|envoye|à|a|objet|odesláno|odeslano|komu|předmět|predmet|lähetetty|"
    r"vastaanottaja|aihe|päivämäärä|gesendet|an|betreff|skickat|till|ämne|enviado|"
    r"para|asunto|fecha|inviato|data|oggetto|wysłano|wysłane|do|temat|risposta|"
    r"kopie|kopio|kopi|отправлено|кому|тема|дата"
)
_FROM_LINE = re.compile(rf"^\s*+[*_]*+({_FROM_KEYS})\s?[*_]*\s?:[*_]*\s*\S", re.I)
_OTHER_LINE = re.compile(rf"^\s*+[*_]*+({_OTHER_KEYS})\s?[*_]*\s?:", re.I)
_RULE_LINE = re.compile(r"^\s*+[_—=-]{8,}+\s*+$")
_SIG_DELIMITER = re.compile(r"^(-- ?|--|__|—)$")
# The whitespace before a link is taken whole, so " please" may follow it
# with its space already eaten (the look-behind in _MOBILE).
_LINK = r"\s*+(<[^>\s]{1,200}+>|\[[^\]]{1,80}+\]\([^)\s]{1,200}+\))?"
_EXCUSE = r"please excuse [^\n]{0,60}+"
# One to five words, each taken whole (atomic), so "sent from my aaaa…#" fails
# in one pass instead of trying every way to cut the run into words.
_DEVICE = r"\w++(?:[ -]\w++){0,4}[ -]?"
_MOBILE = re.compile(
    r"^\s*+[(<]{0,2}+("
    rf"sent from my {_DEVICE}|sent from {_DEVICE}|sent (with|via|using) {_DEVICE}|"
    rf"get outlook for \w+|verzonden (vanaf|met|van) (mijn )?{_DEVICE}|"
    rf"envoyé (de|depuis) mon {_DEVICE}|sendt fra min {_DEVICE}|skickat från min {_DEVICE}|"
    rf"odesláno z {_DEVICE}|lähetetty {_DEVICE}|von meinem {_DEVICE} gesendet|"
    rf"enviado desde mi {_DEVICE}|inviato da(l)? (mio )?{_DEVICE}|wysłane z (mojego )?{_DEVICE}|"
    r"从我的 ?iphone ?发送|從我的 ?iphone ?傳送"
    rf"){_LINK}[.!]?[)>]{{0,2}}(,? {_EXCUSE}|(?<= ){_EXCUSE})?\s*+$",
    re.I,
)
_SIG_ZONE_LINES = 40
_SIG_LINE_MAX = 120


def _blank(line: str) -> bool:
    return not line.replace("\u1427", "").strip()


def _plain(line: str) -> str:
    return line.replace("*", "").strip()


def _is_wrote_header(text: str) -> bool:
    text = text.strip().lstrip("> ").strip()
    if not text or len(text) > _MAX_LINE:
        return False
    match = _WROTE.search(text)
    if match is None:
        return False
    head = text[: match.start()]
    return bool(re.search(r"\d|@", head)) and not text.startswith(("* ", "• "))


def _address_colon(line: str) -> bool:
    """`<name with a date> <address>:` with the digit at most 160 chars from either end."""
    found = _ADDRESS_COLON.match(line)
    if found is None:
        return False
    name = found.group(1)
    return _DIGIT.search(name, max(0, len(name) - 161), 161) is not None


def _starts_header(later: str, first: str) -> bool:
    """Whether a header seen from a later line really starts there."""
    return bool(_OPENER.match(later)) and not _OPENER.match(first)


def _previous_text_line(lines: list[str], i: int) -> str:
    """The last non-blank line above line i ("" if none), without copying the list."""
    for j in range(i - 1, -1, -1):
        if lines[j].strip():
            return lines[j]
    return ""


def _first_text_line(lines: list[str]) -> int:
    """Index of the first non-blank line (len(lines) when all are blank)."""
    return next((i for i, line in enumerate(lines) if line.strip()), len(lines))


def _wrote_header_at(lines: list[str], i: int) -> int:
    """Lines taken by a reply header starting at line i (0 when none)."""
    if not lines[i].strip():
        return 0
    if lines[i].lstrip().startswith(">"):
        # A quoted reply header counts only where a quote block begins.
        above = _previous_text_line(lines, i)
        if above.lstrip().startswith(">") or (i and lines[i - 1].strip()):
            return 0
        return 1 if _is_wrote_header(lines[i]) else 0
    for span in (1, 2, 3):
        chunk = lines[i : i + span]
        if len(chunk) < span or (span > 1 and not chunk[-1].strip()):
            break
        if span > 1 and not (_OPENER.match(lines[i]) or "@" in lines[i]):
            break
        if _is_wrote_header(" ".join(chunk)):
            later = " ".join(chunk[1:])
            if span > 1 and _is_wrote_header(later) and _starts_header(later, lines[i]):
                return 0  # the header starts on a later line
            return span
    if _address_colon(lines[i]) or _ISO_DATE_TIME.match(lines[i]):
        return 1
    if _ON_DAY_TIME.match(lines[i]) and not _WROTE.search(lines[i]):
        return 1
    if _ISO_DATE_HEADER.match(lines[i]) and ("<" in lines[i] or lines[i].rstrip().endswith(":")):
        return 1
    return 0


def _header_block_at(lines: list[str], i: int) -> bool:
    """An Outlook-style "From: / Sent: / To: / Subject:" block starts at line i."""
    if not _FROM_LINE.match(lines[i]) and not _OTHER_LINE.match(lines[i]):
        return False
    following = [line for line in lines[i + 1 : i + 8] if line.strip()][:4]
    hits = sum(1 for line in following if _OTHER_LINE.match(line) or _FROM_LINE.match(line))
    return hits >= 2 or (hits >= 1 and bool(_FROM_LINE.match(lines[i])))


def _quote_start(lines: list[str]) -> tuple[int, int] | None:
    """(first line of the quote, first line after its header) or None."""
    for i, line in enumerate(lines):
        if len(line) > _MAX_LINE * 4 or not line.strip():
            continue  # too long to be a header; blank lines start nothing
        if _MARKER.search(line) or _MARKER_LOOSE.match(line):
            return i, len(lines)
        plain = _plain(line)
        if _SEPARATOR.match(line) or _FORWARD_INTRO.match(plain):
            return i, _skip_header_block(lines, i)
        if _RULE_LINE.match(line) and i + 1 < len(lines):
            nxt = next((x for x in lines[i + 1 : i + 4] if x.strip()), "")
            if _FROM_LINE.match(nxt) or _OTHER_LINE.match(nxt):
                return i, _skip_header_block(lines, i)
        span = _wrote_header_at(lines, i)
        if span:
            return i, i + span
        if _header_block_at(lines, i):
            return i, _skip_header_block(lines, i)
    return None


def _skip_header_block(lines: list[str], start: int) -> int:
    """Index of the first line after a header block that begins at `start`."""
    i = start + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines) and lines[i].strip():
        i += 1
    return i


def _drop_leading_quotes(lines: list[str]) -> list[str]:
    start = 0
    while start < len(lines) and (
        not lines[start].strip() or lines[start].lstrip().startswith(">")
    ):
        start += 1
    return lines[start:] if start < len(lines) else lines


def _drop_trailing_quotes(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and (_blank(lines[end - 1]) or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    return lines[:end] if any(line.strip() for line in lines[:end]) else lines


def _drop_signature(lines: list[str]) -> list[str]:
    first_text = _first_text_line(lines)
    for i in range(len(lines) - 1, max(-1, len(lines) - 25), -1):
        if first_text < i and _SIG_DELIMITER.match(lines[i].rstrip("\n")):
            return lines[:i]
    return lines


def _drop_mobile(lines: list[str]) -> list[str]:
    """Cut at a "Sent from my ..." line when only short lines follow it."""
    first, first_text = max(0, len(lines) - _SIG_ZONE_LINES), _first_text_line(lines)
    for i in range(first, len(lines)):
        # The mobile line itself must be short too: never match a long one.
        if len(lines[i]) > _SIG_LINE_MAX or first_text >= i or not _MOBILE.match(lines[i]):
            continue
        if all(len(x) <= _SIG_LINE_MAX for x in lines[i:]):
            return lines[:i]
    return lines


def _trim(lines: list[str]) -> list[str]:
    return _drop_mobile(_drop_signature(_drop_trailing_quotes(lines)))


def strip_reply(text: str) -> str:
    """The new part of a reply: quotes, reply headers and signatures removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found = _quote_start(lines)
    if found is not None:
        start, after = found
        before = lines[:start]
        if any(line.strip() for line in before):
            lines = before
        else:
            # Nothing above the quote header: a forward or a reply written
            # below it. Keep what follows the header, up to the next quote.
            rest = _drop_leading_quotes(lines[after:])
            nxt = _quote_start(rest)
            if nxt is not None and any(x.strip() for x in rest[: nxt[0]]):
                rest = rest[: nxt[0]]
            lines = rest if any(x.strip() for x in rest) else lines
    kept = [line.rstrip() for line in _trim(lines)]
    result = "\n".join("" if _blank(line) else line for line in kept).strip("\n")
    return result if result.strip() else text.strip()
