"""Checks on an uploaded Office Open XML package (.xlsx, .docx) before any library unpacks it.

Such a file is a ZIP archive; a small one can declare members that unpack to gigabytes (a zip
bomb). Python's zipfile never hands out more than a member's declared size (a member that
inflates beyond it fails its CRC check), so checking the declared sizes in the central
directory, before openpyxl or python-docx opens the file, bounds what reading it can cost.
"""

from __future__ import annotations

import zipfile
from typing import IO

from flask_babel import gettext as _

from supervise.errors import OperationError

MAX_MEMBERS = 2000  # an ordinary workbook or document holds a few dozen
MAX_RATIO = 200  # uncompressed to compressed, for a member large enough to matter
RATIO_FLOOR = 1024 * 1024  # members smaller than this unpacked are not judged by their ratio


class PackageError(OperationError):
    """An upload that is not a sound Office package; the message says why, in the user's
    language."""


def check_package(fh: IO[bytes], max_uncompressed_bytes: int, *,
                  required: tuple[str, ...] = ()) -> None:
    """Refuse (PackageError) a file that is not a ZIP package, misses one of the `required`
    member names, has absurdly many members, declares more than `max_uncompressed_bytes` in
    all, or holds a member compressed beyond any real document's ratio. The file is left at
    its start."""
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise PackageError(_("The file is not a valid Office document (.xlsx, .docx), or it "
                             "is damaged."), 415) from None
    finally:
        fh.seek(0)
    names = {member.filename for member in members}
    if any(name not in names for name in required):
        raise PackageError(_("The file is not a valid Office document (.xlsx, .docx), or it "
                             "is damaged."), 415)
    if len(members) > MAX_MEMBERS:
        raise PackageError(_("The file holds too many parts to be an ordinary document."))
    total = 0
    for member in members:
        total += member.file_size
        if total > max_uncompressed_bytes:
            raise PackageError(_("The file unpacks to more than %(mb)d MB; it is refused.",
                                 mb=max(1, max_uncompressed_bytes // (1024 * 1024))), 413)
        if member.file_size > RATIO_FLOOR and (
                member.compress_size == 0
                or member.file_size / member.compress_size > MAX_RATIO):
            raise PackageError(_("The file is compressed far beyond any real document (a zip "
                                 "bomb?); it is refused."))
