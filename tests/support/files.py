"""The files the tests upload: one of each accepted type, and one that is refused.

The application tells a file's type from its first bytes (supervise.attachments.storage.sniff),
so these are only as long as that needs.
"""

from __future__ import annotations

import html
import io
import zipfile

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200  # a Windows program: refused (415)


def zip_file(*names: str) -> bytes:
    """A zip archive holding an XML file under each name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<?xml version='1.0'?><x/>")
    return buffer.getvalue()


def package_text(data: bytes) -> str:
    """Every member of an Office package (.xlsx, .docx), as text, with character references
    read: openpyxl writes `&#21306;` for 区 where lxml is installed, and a marker must not hide
    behind them."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(html.unescape(archive.read(name).decode("utf-8", "replace"))
                         for name in archive.namelist())


DOCX = zip_file("[Content_Types].xml", "_rels/.rels", "word/document.xml")
XLSX = zip_file("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml")
OFD = zip_file("OFD.xml", "Doc_0/Document.xml")
