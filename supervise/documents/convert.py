"""PDF of a generated .docx, by LibreOffice headless (`soffice --convert-to pdf`), started by the
product for each conversion. Optional: without LibreOffice on the server the .docx is all there
is, and the pages say so (`available`). Install it with
`apt-get install -y --no-install-recommends libreoffice-writer-nogui` (and a CJK font, such as
fonts-wqy-microhei, or the offices' 仿宋_GB2312 and 方正小标宋简体).

Each process keeps one LibreOffice profile of its own and converts one document at a time
(LibreOffice locks its profile); another server process converts beside it with its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from supervise.errors import OperationError

TIMEOUT_SECONDS = 90
_lock = threading.Lock()


def converter() -> str | None:
    """The soffice program configured (DOCUMENT_CONVERTER) or found on the PATH; None if
    there is none."""
    configured = current_app.config.get("DOCUMENT_CONVERTER")
    if configured == "":
        return None  # turned off
    return shutil.which(configured or "soffice")


def available() -> bool:
    return converter() is not None


def _profile() -> Path:
    path = Path(tempfile.gettempdir()) / f"supervise-soffice-{os.getuid()}-{os.getpid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def to_pdf(docx: bytes) -> bytes:
    """The PDF of a .docx; OperationError (503) when there is no converter or it fails."""
    program = converter()
    if program is None:
        raise OperationError(_("PDF is not available on this server (LibreOffice is not "
                               "installed); download the Word document instead."), 503)
    with _lock, tempfile.TemporaryDirectory() as work:
        source = Path(work) / "document.docx"
        source.write_bytes(docx)
        try:
            subprocess.run(  # noqa: S603 (the configured program and our own file names)
                [program, f"-env:UserInstallation=file://{_profile()}", "--headless",
                 "--norestore", "--nolockcheck", "--convert-to", "pdf", "--outdir", work,
                 str(source)],
                check=True, timeout=TIMEOUT_SECONDS, capture_output=True,
                env={**os.environ, "HOME": work})
            return (Path(work) / "document.pdf").read_bytes()
        except (subprocess.SubprocessError, OSError) as exc:
            current_app.logger.error("PDF conversion failed: %s", type(exc).__name__)
            raise OperationError(_("The PDF could not be made; download the Word document "
                                   "instead."), 503) from None
