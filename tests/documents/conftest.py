"""The rectifications' district (the referrals' agencies and a second audited unit), its API
callers, and reading a generated document."""

from __future__ import annotations

import io

import docx

from tests.rectifications.conftest import as_, world  # noqa: F401 (the fixtures, used here)


def docx_text(content: bytes) -> str:
    """All the text of a .docx as python-docx reads it: paragraphs, tables, headers, footers."""
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in document.sections:
        for part in (section.header, section.footer, section.even_page_header,
                     section.even_page_footer):
            parts += [p.text for p in part.paragraphs]
    return "\n".join(parts)
