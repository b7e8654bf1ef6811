"""
Rewrite ``pending.txt`` with the conformance cases that fail today.

    python -m tests.engine.update_pending [--check]

Runs every case of ``cases.json`` the way ``test_conformance.py`` does (a
fresh in-memory app per case) and writes the failing ids, keeping the
reason already written for a case that still fails and recording the first
line of the failure for a new one.  ``--check`` only reports the changes and
exits 1 if the file is out of date.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from twisted.logger import globalLogBeginner, textFileLogObserver

from tests.engine.conformance import (
    PENDING_FILE,
    check_case,
    fast_tmpdir,
    load_cases,
    load_pending,
    pin_utc,
)


def failing_cases():
    """{case id: first line of its failure} for the cases that fail now."""
    failures = {}
    for case in load_cases():
        with fast_tmpdir() as tmp:
            try:
                check_case(Path(tmp), case)
            except Exception as e:  # a failure of any kind keeps the case pending
                text = str(e).strip().splitlines()
                failures[case["id"]] = f"{type(e).__name__}: {text[0] if text else ''}"[:160]
    return failures


def render(failures, previous) -> str:
    lines = [
        "# Conformance cases expected to fail (xfail strict); one id per line, '# reason' optional.",
        "# Regenerate with: python -m tests.engine.update_pending",
    ]
    for case in load_cases():
        cid = case["id"]
        if cid in failures:
            reason = previous.get(cid) or failures[cid]
            lines.append(f"{cid}  # {reason}" if reason else cid)
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if stale")
    parser.add_argument("--log", action="store_true", help="show the app's log events")
    args = parser.parse_args(argv)
    # The app logs the failures of unfinished engine parts; the summary is what matters here.
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stderr)] if args.log else [], redirectStandardIO=False
    )
    pin_utc()
    previous = load_pending()
    started = time.monotonic()
    failures = failing_cases()
    total = len(load_cases())
    fixed = sorted(set(previous) - set(failures))
    broken = sorted(set(failures) - set(previous))
    print(f"{total - len(failures)}/{total} cases pass ({time.monotonic() - started:.1f} s)")
    for cid in fixed:
        print(f"  now passing: {cid}")
    for cid in broken:
        print(f"  now failing: {cid}: {failures[cid]}")
    if args.check:
        return 1 if fixed or broken else 0
    PENDING_FILE.write_text(render(failures, previous))
    print(f"wrote {PENDING_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
