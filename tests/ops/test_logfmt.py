"""The log line writer (``kapacitord_tw.logs``): what clients put in a
field can neither end a line, forge one, blow up its size nor make it
vanish; audit events pass any level; the file can be reopened."""

from __future__ import annotations

import io
import os

from twisted.logger import LogLevel, PredicateResult

from kapacitord_tw import audit
from kapacitord_tw.audit import AUDIT_NAMESPACE
from kapacitord_tw.logs import (
    FIELD_LIMIT,
    LogControl,
    LogfmtObserver,
    format_logfmt,
)


def event(fmt="http request", namespace="kapacitord_tw.http", level=LogLevel.info, **fields):
    return dict(log_format=fmt, log_namespace=namespace, log_level=level,
                log_time=1_700_000_000.25, **fields)


def test_a_line_looks_like_kapacitors():
    line = format_logfmt(event(service="http", username="bob", status=204))
    assert line == ('ts=2023-11-14T22:13:20.250Z lvl=info msg="http request" '
                    "service=http status=204 username=bob\n")


def test_control_bytes_are_escaped_go_style_and_the_line_stays_one_line():
    line = format_logfmt(event(username="eve\r\nts=forged lvl=info\x1b[2J\x00"))
    assert line.count("\n") == 1 and "\r" not in line
    assert "\x1b" not in line and "\x00" not in line
    assert 'username="eve\\r\\nts=forged lvl=info\\x1b[2J\\x00"' in line


def test_bytes_that_are_not_utf8_are_written_as_hex_escapes():
    # What ``?u=%ff`` decodes to: the line must be written, not dropped.
    stream = io.StringIO()
    LogfmtObserver(stream)(event(username=b"\xff".decode("utf-8", "surrogateescape")))
    assert 'username="\\xff"' in stream.getvalue()


def test_unicode_line_separators_are_escaped_printable_letters_are_kept():
    line = format_logfmt(event(username="zoë\u2028x"))
    assert 'username="zoë\\u2028x"' in line


def test_long_values_are_cut_with_a_marker():
    line = format_logfmt(event(uri="/ping?u=" + "a" * 7000, username="b" * 7000))
    assert len(line) < 3 * FIELD_LIMIT + 300
    assert "...[truncated, 7008 chars]" in line
    assert "...[truncated, 7000 chars]" in line


def test_long_values_inside_the_message_are_cut_too():
    line = format_logfmt(event("login by {name} failed", "x", name="n" * 100_000))
    assert len(line) < 2 * FIELD_LIMIT
    assert "truncated, 100000 chars" in line


def test_an_event_that_cannot_be_formatted_still_writes_a_line():
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no")

    stream = io.StringIO()
    LogfmtObserver(stream)(event(field=Unprintable()))
    assert stream.getvalue().count("\n") == 1
    assert 'msg="unformattable log event"' in stream.getvalue()


def test_audit_events_pass_the_error_level_other_info_events_do_not():
    control = LogControl()
    control.set_level("ERROR")
    assert control.predicate(event(namespace="kapacitord_tw.http")) == PredicateResult.no
    assert control.predicate(event(namespace=AUDIT_NAMESPACE)) == PredicateResult.yes


def test_audit_lines_carry_service_audit():
    seen = []
    from twisted.logger import globalLogPublisher

    globalLogPublisher.addObserver(seen.append)
    try:
        audit.user_deleted("bob", "root", "10.0.0.1")
    finally:
        globalLogPublisher.removeObserver(seen.append)
    (line,) = [format_logfmt(e) for e in seen if e.get("log_namespace") == AUDIT_NAMESPACE]
    assert 'msg="user deleted" service=audit by=root client=10.0.0.1 user=bob' in line


def test_reopen_writes_to_a_new_file_at_the_same_path(tmp_path):
    path = tmp_path / "kapacitor.log"
    observer = LogfmtObserver.to(str(path))
    observer(event(marker="one"))
    os.rename(path, tmp_path / "kapacitor.log.1")
    observer(event(marker="two"))  # still the renamed file, as before logrotate signals
    assert observer.reopen() is True
    observer(event(marker="three"))
    rotated = (tmp_path / "kapacitor.log.1").read_text()
    assert "marker=one" in rotated and "marker=two" in rotated
    assert "marker=three" in path.read_text() and "marker=three" not in rotated


def test_reopen_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "logs" / "kapacitor.log"
    observer = LogfmtObserver.to(str(path))
    os.rename(path, tmp_path / "kapacitor.log.1")
    os.rmdir(tmp_path / "logs")
    (tmp_path / "logs").write_text("not a directory")
    assert observer.reopen() is False
    observer(event(marker="kept"))
    assert "marker=kept" in (tmp_path / "kapacitor.log.1").read_text()


def test_stderr_has_nothing_to_reopen():
    assert LogfmtObserver.to("STDERR").reopen() is False
