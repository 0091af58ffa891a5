"""The core's Renderer port: a `Reply` becomes a subject and a plain-text body.

Templates live in `config/locales/<lang>.toml`, one file per language:

- `[strings]`   shared texts (`marker`, `scope`, `signature`, ...). A string that
                contains Jinja2 markup is itself rendered with the reply's data
                (e.g. `greeting`), so bodies can use `{{ strings.greeting }}`.
- `[statuses]`  `open`, `awaiting_feedback`, `closed` as shown to people.
- `[<kind>]`    `subject` and `body`, Jinja2 templates for one kind of reply
                (`gateway.replies.Kind`).

A missing language file or a kind missing from it falls back to English, the
whole message then being English (strings, statuses and dates alike).

`channel` ("email" or "telegram", set by the core on member replies; "email" when a
reply does not say) lets a template word "reply to this email" for Telegram.

Mail is wrapped at 76 characters (`adapters/wrapping.py`): the template's own words and its
`[strings]` are wrapped, while every value inserted with `{{ ... }}` is kept whole and as
written (what members and agents wrote above all). Telegram texts are not wrapped: its
clients wrap to the screen. Numbers are written the language's way, a whole number without
decimals ("14 dagen", never "14.0").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    get_datetime_format,
    match_skeleton,
)
from babel.numbers import format_decimal
from jinja2 import Environment, StrictUndefined, Template, TemplateError, pass_context
from jinja2.runtime import Context

from adapters.wrapping import plain, verbatim, wrap
from gateway.replies import AGENT_KINDS, Rendered, Reply

FALLBACK_LANGUAGE = "en"

_RESERVED_TABLES = frozenset({"strings", "statuses"})
# Strings about formats, not words: a language without them uses Babel's own, not English.
_NOT_INHERITED = frozenset({"datetime_at"})
_MARKUP = re.compile(r"\{\{|\{%")
# Babel locales to use where the bare language code is not the European one.
_BABEL_LOCALE = {"en": "en_GB", "pt": "pt_PT"}


class _Own(str):
    """Text of the language file itself (a `[strings]` entry): wrapped like the template's words."""

    __slots__ = ()


class UnknownKind(LookupError):
    """A reply names a kind that no language file (not even English) has."""


@dataclass(frozen=True)
class _Kind:
    subject: Template
    body: Template


@dataclass(frozen=True)
class _Catalog:
    language: str
    locale: Locale
    strings: Mapping[str, str]
    string_templates: Mapping[str, Template]
    statuses: Mapping[str, str]
    kinds: Mapping[str, _Kind]


def default_locales_dir() -> Path:
    """The `config/locales` folder shipped with the code."""
    try:
        from importlib.resources import files

        candidate = Path(str(files("config") / "locales"))
        if candidate.is_dir():
            return candidate
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - odd installs
        pass
    return Path(__file__).resolve().parent.parent / "config" / "locales"


def _normalize_language(language: str) -> str:
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] if language else ""


def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(_BABEL_LOCALE.get(language, language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(_BABEL_LOCALE[FALLBACK_LANGUAGE])


def _whole(value: float) -> float:
    """14.0 as 14: a setting read as a float is still a whole number of days."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _locale_of(context: Context) -> Locale:
    locale = context.get("_locale")
    return locale if isinstance(locale, Locale) else _babel_locale(FALLBACK_LANGUAGE)


def _day_pattern(locale: Locale) -> str:
    """A weekday + day + month pattern ("Monday 7 December") for `locale`."""
    skeletons = locale.datetime_skeletons
    key = match_skeleton("MMMMEEEEd", skeletons) if skeletons else None
    pattern = skeletons[key].pattern if key else "EEEE d MMMM"
    pattern = re.sub(r"(?<!E)E{1,3}(?!E)", "EEEE", pattern)
    return re.sub(r"(?<!c)c{1,3}(?!c)", "cccc", pattern)


@pass_context
def _filter_date(context: Context, value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _utc(value)
    return format_date(value, format=fmt, locale=_locale_of(context))


@pass_context
def _filter_datetime(context: Context, value: datetime | None, fmt: str = "long") -> str:
    """Date and time in GMT, e.g. "21 December 2020 at 13:00 GMT"."""
    if value is None:
        return ""
    locale = _locale_of(context)
    value = _utc(value)
    day = format_date(value, format=fmt, locale=locale)
    clock = format_time(value, format="short", tzinfo=UTC, locale=locale)
    strings = context.get("strings")
    pattern = strings.get("datetime_at") if isinstance(strings, Mapping) else None
    if pattern:  # e.g. "{date} at {time}" from the language file
        return f"{pattern.replace('{date}', day).replace('{time}', clock)} GMT"
    width = fmt if fmt in ("full", "long", "medium", "short") else "medium"
    glue = str(get_datetime_format(width, locale=locale)).replace("'", "")  # type: ignore[arg-type]
    return f"{glue.replace('{1}', day).replace('{0}', clock)} GMT"


@pass_context
def _filter_day(context: Context, value: datetime | None) -> str:
    """Weekday, day and month, e.g. "Monday 7 December"."""
    if value is None:
        return ""
    locale = _locale_of(context)
    return format_datetime(_utc(value), _day_pattern(locale), tzinfo=UTC, locale=locale)


@pass_context
def _filter_window(context: Context, start: datetime | None, end: datetime | None) -> str:
    """A support window, e.g. "Monday 7 December 13:00–21:00 GMT"."""
    if start is None:
        return ""
    locale = _locale_of(context)
    start = _utc(start)
    pattern = _day_pattern(locale)
    day = format_datetime(start, pattern, tzinfo=UTC, locale=locale)
    begin = format_time(start, format="short", tzinfo=UTC, locale=locale)
    if end is None:
        return f"{day} {begin} GMT"
    end = _utc(end)
    finish = format_time(end, format="short", tzinfo=UTC, locale=locale)
    ends_same_day = end.date() == start.date() or (
        end - start <= timedelta(days=1) and end.time() == datetime.min.time()
    )
    if ends_same_day:
        return f"{day} {begin}–{finish} GMT"
    end_day = format_datetime(end, pattern, tzinfo=UTC, locale=locale)
    return f"{day} {begin} – {end_day} {finish} GMT"


@pass_context
def _filter_status(context: Context, value: str) -> str:
    statuses = context.get("_statuses") or {}
    key = str(value).strip().lower().replace(" ", "_")
    name = statuses.get(key)
    return str(name) if name else str(value).replace("_", " ").capitalize()


@pass_context
def _filter_plural(context: Context, count: int, **forms: str) -> str:
    """The word form for `count` by CLDR plural category: one, two, few, many, other."""
    category = _locale_of(context).plural_form(_whole(count))
    return forms.get(category) or forms.get("other") or next(iter(forms.values()), "")


@pass_context
def _filter_language_name(context: Context, code: str | None) -> str:
    if not code:
        return ""
    try:
        name = Locale.parse(_normalize_language(code)).get_display_name(_locale_of(context))
    except (UnknownLocaleError, ValueError):
        return code
    return name or code


def _filter_quote(value: str, prefix: str = "> ") -> str:
    """Each line of `value` prefixed with `prefix` (blank lines get it stripped)."""
    return "\n".join((prefix + line).rstrip() for line in str(value).splitlines())


def _filter_join_names(values: Iterable[Any], sep: str = ", ") -> str:
    """The values joined; wrapping may break the list between two values, never inside one."""
    return _Own(sep.join(verbatim(str(v)) for v in values if v is not None and str(v) != ""))


@pass_context
def _finalize(context: Context, value: Any) -> str:
    """What `{{ ... }}` writes: the language file's own strings as they are, any other value
    marked as inserted text, a number as the language writes it."""
    if isinstance(value, _Own):
        return value
    if value is None:
        return ""
    if isinstance(value, float):
        value = format_decimal(_whole(value), locale=_locale_of(context), group_separator=False)
    return verbatim(str(value))


def _clean_subject(subject: str) -> str:
    return " ".join(subject.split())


def _clean_body(body: str) -> str:
    lines = [line.rstrip() for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    kept: list[str] = []
    for line in lines:
        if not line and (not kept or not kept[-1]):
            continue  # no leading blank lines, no runs of blank lines
        kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept) + "\n"


def _make_environment() -> Environment:
    env = Environment(
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    filters: dict[str, Callable[..., Any]] = {
        "date": _filter_date,
        "datetime": _filter_datetime,
        "day": _filter_day,
        "window": _filter_window,
        "status": _filter_status,
        "plural": _filter_plural,
        "language_name": _filter_language_name,
        "quote": _filter_quote,
        "names": _filter_join_names,
    }
    env.filters.update(filters)
    return env


class TemplateRenderer:
    """Renders replies from the TOML templates, in the reply's language or English."""

    def __init__(self, locales_dir: Path | None = None) -> None:
        self._dir = Path(locales_dir) if locales_dir is not None else default_locales_dir()
        self._env = _make_environment()
        self._catalogs: dict[str, _Catalog] = {}
        for path in sorted(self._dir.glob("*.toml")):
            language = _normalize_language(path.stem)
            self._catalogs[language] = self._load(language, path)
        if FALLBACK_LANGUAGE not in self._catalogs:
            raise FileNotFoundError(f"no {FALLBACK_LANGUAGE}.toml in {self._dir}")
        english = self._catalogs[FALLBACK_LANGUAGE]
        # A language file may leave out strings or statuses: English fills them in.
        for language, catalog in list(self._catalogs.items()):
            if language == FALLBACK_LANGUAGE:
                continue
            self._catalogs[language] = _Catalog(
                language=catalog.language,
                locale=catalog.locale,
                strings={
                    **{k: v for k, v in english.strings.items() if k not in _NOT_INHERITED},
                    **catalog.strings,
                },
                string_templates={
                    **{
                        key: template
                        for key, template in english.string_templates.items()
                        if key not in catalog.strings
                    },
                    **catalog.string_templates,
                },
                statuses={**english.statuses, **catalog.statuses},
                kinds=catalog.kinds,
            )

    def _load(self, language: str, path: Path) -> _Catalog:
        with path.open("rb") as handle:
            try:
                data = tomllib.load(handle)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"{path}: {exc}") from exc
        strings = {str(k): str(v) for k, v in dict(data.get("strings", {})).items()}
        statuses = {str(k): str(v) for k, v in dict(data.get("statuses", {})).items()}
        string_templates: dict[str, Template] = {}
        kinds: dict[str, _Kind] = {}
        try:
            for key, value in strings.items():
                if _MARKUP.search(value):
                    string_templates[key] = self._env.from_string(value)
            for name, table in data.items():
                if name in _RESERVED_TABLES or not isinstance(table, dict):
                    continue
                if "subject" not in table or "body" not in table:
                    raise ValueError(f"{path}: [{name}] needs both subject and body")
                kinds[name] = _Kind(
                    subject=self._env.from_string(str(table["subject"])),
                    body=self._env.from_string(str(table["body"])),
                )
        except TemplateError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        return _Catalog(
            language=language,
            locale=_babel_locale(language),
            strings=strings,
            string_templates=string_templates,
            statuses=statuses,
            kinds=kinds,
        )

    def languages(self) -> frozenset[str]:
        return frozenset(self._catalogs)

    def kinds(self, language: str) -> frozenset[str]:
        """The kinds a language file has itself (without the English fallback)."""
        catalog = self._catalogs.get(_normalize_language(language))
        return frozenset(catalog.kinds) if catalog else frozenset()

    def render(self, reply: Reply) -> Rendered:
        catalog = self._catalogs.get(_normalize_language(reply.language))
        if catalog is None or reply.kind not in catalog.kinds:
            catalog = self._catalogs[FALLBACK_LANGUAGE]
        kind = catalog.kinds.get(reply.kind)
        if kind is None:
            raise UnknownKind(f"no template for reply kind {reply.kind!r}")
        context: dict[str, Any] = {"channel": "email", **reply.data}
        context["lang"] = catalog.language
        context["_locale"] = catalog.locale
        context["_statuses"] = catalog.statuses
        strings = {key: _Own(value) for key, value in catalog.strings.items()}
        for key, template in catalog.string_templates.items():
            strings[key] = _Own(template.render(context).strip())
        context["strings"] = strings
        subject = plain(kind.subject.render(context))
        body = kind.body.render(context)
        # Agents are written to by mail only; a member's reply says where it goes.
        if reply.kind in AGENT_KINDS or context["channel"] != "telegram":
            body = wrap(body)
        return Rendered(subject=_clean_subject(subject), text=_clean_body(plain(body)))
