"""The memory a ledger built in the background needs: one process (this one) requests the
ledger of a grown database as a demo account, builds it as the worker does
(`ledgers.exports.build_next`) and reports its rows, the time it took and the process's peak
resident memory (getrusage's ru_maxrss) before and after the build. The job and its file are
deleted afterwards.

    .venv/bin/python bench/grow.py --database sqlite:///bench/data/100000.db --findings 100000
    .venv/bin/python bench/export_memory.py --database sqlite:///bench/data/100000.db

The goal (issue 14, item 4): a ledger of 100,000 rows is built within 150 MB. Only the process's
peak counts, so run it in a process of its own (as here), not inside another program.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from grow import BENCH_CONFIG  # noqa: E402

from supervise import create_app  # noqa: E402
from supervise.accounts.models import User  # noqa: E402
from supervise.database import now_utc  # noqa: E402
from supervise.extensions import db  # noqa: E402
from supervise.ledgers import api, exports, jobs  # noqa: E402

DEFAULT_ARGS = {"findings": {"sort": "-created_at"}, "referrals": {"sort": "-created_at"},
                "rectifications": {}}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--user", default="audit.staff")
    parser.add_argument("--ledger", default="findings", choices=sorted(DEFAULT_ARGS))
    parser.add_argument("--storage", default="folder", choices=("folder", "database"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({**BENCH_CONFIG, "SQLALCHEMY_DATABASE_URI": options.database,
                          "FILE_STORAGE": options.storage, "UPLOAD_DIR": folder})
        with app.app_context():
            user = db.session.scalar(sa.select(User).where(User.username == options.user))
            args = DEFAULT_ARGS[options.ledger]
            ledger = api.BUILDERS[options.ledger][1](user, args, now_utc())
            counted = ledger.count()
            ledger.batches.close()
            job, _new = jobs.request_export(user, options.ledger, args, rows=counted,
                                            filter_words=ledger.filter_words,
                                            filter_details=ledger.filter_details)
            db.session.commit()
            db.session.expunge_all()
            before = peak_mb()
            started = time.monotonic()
            built = exports.build_next()
            seconds = time.monotonic() - started
            after = peak_mb()
            result = {"ledger": options.ledger, "user": options.user,
                      "storage": options.storage, "state": built.state.value,
                      "rows": built.rows, "file_mb": round((built.size or 0) / 2**20, 1),
                      "seconds": round(seconds, 1), "peak_mb_before": round(before, 1),
                      "peak_mb_after": round(after, 1)}
            exports.sweep(now_utc() + timedelta(days=2))  # the job and its file go again
            print(json.dumps(result))


if __name__ == "__main__":
    main()
