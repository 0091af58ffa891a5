"""What an attachment is, decided from its bytes: the declared MIME type and the name only claim.

`decide(filename, declared, data, allowed)` is pure and is used by both channels. In order:
executables and scripts are refused whatever they claim (PE, ELF, Mach-O, `#!`, shortcuts,
installers, Office macros); the bytes are sniffed (our own signatures for what the desk takes,
markup and text checks, puremagic for the rest); the name's extension must agree with the
sniffed type (a name without one takes the type's); the sniffed type must match `allowed`.
Archives are recognised, never unpacked.
"""

from __future__ import annotations

import mimetypes
import os
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Protocol

import puremagic

from adapters.text import clean_line

_HEAD = 64 * 1024  # where a shebang is looked for
_SNIFF_WINDOW = 1445  # WHATWG MIME sniffing's resource header: what a browser reads to call it HTML
_CONTROL_BYTES = bytes(b for b in range(32) if chr(b) not in "\t\n\r\f\v\x1a\x1b")
_MAX_NAME = 1000


@dataclass(frozen=True)
class Kind:
    content_type: str
    extensions: tuple[str, ...]  # the first one is given to a name without any


@dataclass(frozen=True)
class Accepted:
    content_type: str
    extensions: tuple[str, ...]  # the names this type may have; a name with none gets the first


@dataclass(frozen=True)
class Refused:
    reason: str  # short, for operators' logs: the member is told the file's name only


PNG = Kind("image/png", ("png",))
JPEG = Kind("image/jpeg", ("jpg", "jpeg", "jpe", "jfif"))
GIF = Kind("image/gif", ("gif",))
WEBP = Kind("image/webp", ("webp",))
BMP = Kind("image/bmp", ("bmp",))
TIFF = Kind("image/tiff", ("tif", "tiff"))
HEIC = Kind("image/heic", ("heic", "heif"))
AVIF = Kind("image/avif", ("avif",))
PDF = Kind("application/pdf", ("pdf",))
TEXT = Kind("text/plain", ("txt", "text", "log", "ini", "cfg", "conf"))
EMAIL = Kind("message/rfc822", ("eml",))
ZIP = Kind("application/zip", ("zip",))
UNKNOWN = Kind("application/octet-stream", ("bin",))

_PREFIXES: tuple[tuple[bytes, Kind], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"%PDF-", PDF),
    (b"7z\xbc\xaf\x27\x1c", Kind("application/x-7z-compressed", ("7z",))),
    (b"Rar!\x1a\x07", Kind("application/vnd.rar", ("rar",))),
    (b"\x1f\x8b", Kind("application/gzip", ("gz", "tgz"))),
    (b"\xfd7zXZ\x00", Kind("application/x-xz", ("xz",))),
    (b"{\\rtf", Kind("application/rtf", ("rtf",))),
)
_OOXML = ((b"word/", Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                          ("docx",))),
          (b"xl/", Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        ("xlsx",))),
          (b"ppt/", Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation",
                         ("pptx",))))
_OLE_BY_EXTENSION = {"doc": "application/msword", "xls": "application/vnd.ms-excel",
                     "ppt": "application/vnd.ms-powerpoint", "msg": "application/vnd.ms-outlook"}
_OWN_KINDS = (PNG, JPEG, GIF, WEBP, BMP, TIFF, HEIC, AVIF, PDF, TEXT, EMAIL, ZIP,
              *(kind for _, kind in _PREFIXES), *(kind for _, kind in _OOXML))
# Names no content makes acceptable: programs, scripts and markup.
_PROGRAM_EXTENSIONS = frozenset({
    "exe", "dll", "scr", "com", "pif", "cpl", "sys", "drv", "msi", "msp", "msm", "msc", "bat", "cmd",
    "ps1", "psm1", "vbs", "vbe", "js", "jse", "mjs", "wsf", "wsh", "hta", "lnk", "url", "jar", "apk",
    "app", "dmg", "pkg", "deb", "rpm", "sh", "bash", "zsh", "csh", "ksh", "py", "pl", "rb", "php",
    "reg", "inf", "chm", "html", "htm", "xhtml", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl",
    "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "iso", "img", "vhd", "vhdx"
})
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")

_EXECUTABLES: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "executable: ELF"),
    (b"\xfe\xed\xfa\xce", "executable: Mach-O"),
    (b"\xfe\xed\xfa\xcf", "executable: Mach-O"),
    (b"\xce\xfa\xed\xfe", "executable: Mach-O"),
    (b"\xcf\xfa\xed\xfe", "executable: Mach-O"),
    (b"\xca\xfe\xba\xbe", "executable: Mach-O universal or Java class"),
    (b"\x00asm", "executable: WebAssembly"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "executable: Windows shortcut"),
    (b"MSCF", "installer: cabinet"),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MACROS = "_VBA_PROJECT".encode("utf-16-le")
_INSTALLER_EXTENSIONS = ("msi", "msp", "msm")
# Types refused even when a policy pattern would let them through (puremagic can name them).
_NEVER = re.compile(r"html|svg|\bxml\b|javascript|ecmascript|executable|msdownload|dosexec|x-sh\b"
                    r"|x-csh|x-bat|x-msi|installer|java-archive|x-mach|x-elf|hta\b|vbscript|"
                    r"macroenabled|x-shockwave")

# WHATWG MIME sniffing: a document that opens with one of these is HTML to a browser.
_HTML_START = re.compile(
    r"<(?:!doctype\s++html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p"
    r"|!--|\?xml|svg|object|embed|meta|link|base|form|img|frameset|hta:application)(?:[\s>/]|$)")
# Markers that make a text file's start something a browser would run.
_SCRIPT_MARKERS = ("<script", "<svg", "<iframe", "<hta:", "<?xml-stylesheet", "<!doctype html",
                   "<html")


def decide(filename: str, declared: str, data: bytes,
           allowed: tuple[str, ...]) -> Accepted | Refused:
    """The type the attachment is stored under, or why it is left out."""
    extension = extension_of(filename)
    danger = _dangerous(data, extension)
    if danger:
        return Refused(danger)
    kind = sniff(data, declared, extension)
    if isinstance(kind, Refused):
        return kind
    if _NEVER.search(kind.content_type):
        return Refused(f"never accepted: {kind.content_type}")
    if extension in _PROGRAM_EXTENSIONS:
        return Refused(f"program name: .{extension}")
    if extension and extension not in kind.extensions:
        return Refused(f"name .{extension} does not match content {kind.content_type}")
    if not _allows(allowed, kind.content_type):
        return Refused(f"type not allowed: {kind.content_type}")
    return Accepted(kind.content_type, kind.extensions)


def refused_by_name(filename: str, allowed: tuple[str, ...]) -> Refused | None:
    """Refusal known from the name alone (saves a download); None when the bytes must decide."""
    extension = extension_of(filename)
    if extension in _PROGRAM_EXTENSIONS:
        return Refused(f"program name: .{extension}")
    for kind in _OWN_KINDS:
        if extension in kind.extensions and not _allows(allowed, kind.content_type):
            return Refused(f"type not allowed: {kind.content_type}")
    return None


def _allows(allowed: tuple[str, ...], content_type: str) -> bool:
    return any(fnmatch(content_type, pattern.lower()) for pattern in allowed)


def extension_of(filename: str) -> str:
    """`photo.PNG. ` -> "png"; "" when the name has none (a leading dot is no extension)."""
    name = re.split(r"[\\/]", filename[-_MAX_NAME:])[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().rstrip(". ").lstrip(".")
    stem, dot, extension = name.rpartition(".")
    return extension.strip().lower() if dot and stem else ""


def stored_name(name: str, accepted: Accepted) -> str:
    """`name` ending in an extension of the sniffed type (a name we generated may not)."""
    extension = extension_of(name)
    if extension in accepted.extensions:
        return name
    stem = name[: name.rfind(".")] if extension else name
    return f"{stem}.{accepted.extensions[0]}"


def _dangerous(data: bytes, extension: str) -> str:
    """Why these bytes are a program or carry one; "" when they do not."""
    for magic, reason in _EXECUTABLES:
        if data.startswith(magic):
            return reason
    if _is_dos_program(data):
        return "executable: PE/DOS"
    start = _start(data)
    if data.startswith(_OLE):
        if _OLE_MACROS in data:
            return "office document with macros"
        if extension in _INSTALLER_EXTENSIONS:
            return "installer: MSI"
    if data.startswith(_ZIP) and b"vbaProject.bin" in data:
        return "office document with macros"
    if start.startswith(b"%PDF-") and (b"/JavaScript" in data or b"/Launch" in data):
        return "PDF with script or launch action"  # uncompressed ones only: object streams hide it
    if start.startswith(b"#!"):
        return "script: #!"
    return ""


def _start(data: bytes) -> bytes:
    """The head of `data` without a UTF-8 BOM or leading blanks, as readers skip them."""
    return data[:_HEAD].lstrip(b"\xef\xbb\xbf \t\r\n")


def _is_dos_program(data: bytes) -> bool:
    """`MZ`, then a PE header or the NUL bytes of a DOS header (text starting "MZ" has none)."""
    if not data.startswith(b"MZ") or len(data) < 64:
        return False
    offset = int.from_bytes(data[0x3C:0x40], "little")
    return data[offset:offset + 4] == b"PE\x00\x00" or b"\x00" in data[:64]


def sniff(data: bytes, declared: str = "", extension: str = "") -> Kind | Refused:
    """The kind of `data` from its bytes; markup (HTML, SVG, XML) is refused."""
    kind = _by_signature(data, extension)
    if kind is not None:
        return kind
    text = as_text(data)
    if text is not None:
        return _text_kind(text, declared)
    if _start(data).startswith(b"<"):
        return Refused("markup")
    return _by_puremagic(data)


def _by_signature(data: bytes, extension: str) -> Kind | None:
    for magic, kind in _PREFIXES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return AVIF
        if brand in _HEIF_BRANDS:
            return HEIC
    if data[:2] == b"BM" and data[6:10] == b"\x00" * 4 and data[14:15] in (b"\x0c", b"(", b"4",
                                                                           b"8", b"@", b"l", b"|"):
        return BMP
    if data.startswith(_ZIP):
        return _zip_kind(data)
    if data.startswith(_OLE):
        ole = _OLE_BY_EXTENSION.get(extension)
        return Kind(ole, (extension,)) if ole else Kind("application/x-ole-storage", ("ole",))
    if _start(data).startswith(b"%PDF-"):
        return PDF
    return None


def _zip_kind(data: bytes) -> Kind:
    if b"[Content_Types].xml" in data:
        for folder, kind in _OOXML:
            if folder in data:
                return kind
    return ZIP


def as_text(data: bytes) -> str | None:
    """`data` as text when it is text: UTF-8, UTF-16 with a BOM or an 8-bit charset; no NUL, and
    C0 controls other than layout and ESC in at most 1 % of it (an 8-bit charset's letters are
    not controls, so Windows-1250 Czech passes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _decode(data, "utf-16")
        raw = text.encode("utf-8", "surrogatepass") if text is not None else b"\x00"
    else:
        text = _decode(data, "utf-8-sig")
        if text is None:
            text = data.decode("latin-1")  # only its ASCII is looked at, for markup
        raw = data
    if b"\x00" in raw:
        return None
    controls = len(raw) - len(raw.translate(None, _CONTROL_BYTES))
    return text if controls * 100 <= len(raw) else None


def _decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _text_kind(text: str, declared: str) -> Kind | Refused:
    head = text[:_SNIFF_WINDOW].lower()
    if _HTML_START.match(head.lstrip("\ufeff \t\r\n")):
        return Refused("markup: HTML, SVG or XML")
    for marker in _SCRIPT_MARKERS:
        if marker in head:
            return Refused(f"text carrying {marker}")
    if declared.startswith("message/") and re.match(r"[A-Za-z0-9-]{1,76}:", text):
        return EMAIL
    return TEXT


def _by_puremagic(data: bytes) -> Kind:
    """Anything else, named by puremagic (it knows far more formats than the desk takes)."""
    try:
        matches = puremagic.magic_string(data)
    except Exception:  # PureError when it knows nothing; hostile bytes must not stop the worker
        return UNKNOWN
    typed = [m for m in matches if m.mime_type and m.extension]
    if not typed:
        return UNKNOWN
    best = max(typed, key=lambda m: m.confidence)
    extensions = tuple(dict.fromkeys(m.extension.lstrip(".").lower() for m in typed
                                     if m.mime_type == best.mime_type))
    return Kind(best.mime_type.lower(), extensions)


class AttachmentLimits(Protocol):
    """What a channel needs to know to accept a file (the email normalizer's `Limits`)."""

    @property
    def max_attachment_bytes(self) -> int: ...

    @property
    def attachment_types(self) -> tuple[str, ...]: ...


_MAX_NAME = 100
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")

def sanitize_filename(name: str, index: int, ctype: str) -> str:
    """A safe basename: no path, controls or leading dots; at most 100 chars."""
    name = re.split(r"[\\/]", name)[-1]
    name = clean_line(_CONTROLS.sub("", name), 400).lstrip(". ").rstrip(". ")
    if not name:
        ext = mimetypes.guess_extension(ctype) or ".bin"
        return f"attachment-{index}{ext}"
    stem, ext = os.path.splitext(name)
    if len(ext) > 16:
        stem, ext = name, ""
    if len(name) > _MAX_NAME:
        name = stem[: _MAX_NAME - len(ext)].rstrip(". ") + ext
    return name
