"""The ``FROM`` sources of an InfluxQL ``SELECT``: which database and retention
policy a recorded query reads.

Kapacitor parses the whole statement (``influxql.ParseStatement``) to learn
this: a batch task may only query its own dbrps (``checkDBRPs``) and a
recorded query must name both (``db.rp.measurement``).  Only that much is
needed here, so this is a scanner, not a parser: it skips strings, quoted
names, comments and parentheses until the ``FROM`` keyword at the top level,
then reads the comma-separated sources.  A statement whose sources it cannot
read gives ``None`` (the caller's "could not determine" error); InfluxDB
remains the judge of the statement as a whole.  One pass, linear in the text.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional

_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT = _IDENT_START | frozenset("0123456789")
#: Keywords that end the source list.
_AFTER_SOURCES = frozenset(("WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "SLIMIT", "SOFFSET",
                            "FILL", "TZ", "INTO"))


class Source(NamedTuple):
    """One ``FROM`` source; ``measurement`` is ``/regex/`` text for a regex."""

    database: str
    retention_policy: str
    measurement: str


class _Scanner:
    """Tokens of InfluxQL text: ``(kind, text)`` with kind one of ``ident``
    (bare), ``quoted`` (a double-quoted name, unescaped), ``regex``,
    ``string``, ``punct``, ``end``."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def _skip_space(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            c = text[self.pos]
            if c.isspace():
                self.pos += 1
            elif text.startswith("--", self.pos):
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                self.pos = n if end < 0 else end + 2
            else:
                return

    def _quoted(self, quote: str) -> Optional[str]:
        """The text up to the closing ``quote`` (escapes undone); None if unterminated."""
        text, n = self.text, len(self.text)
        out = []
        i = self.pos + 1
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                self.pos = i + 1
                return "".join(out)
            if c == "\n" and quote != "/":
                return None
            out.append(c)
            i += 1
        return None

    def next(self, regex_ok: bool = False):
        self._skip_space()
        text = self.text
        if self.pos >= len(text):
            return "end", ""
        c = text[self.pos]
        if c in _IDENT_START:
            start = self.pos
            while self.pos < len(text) and text[self.pos] in _IDENT:
                self.pos += 1
            return "ident", text[start:self.pos]
        if c == '"':
            value = self._quoted('"')
            return ("quoted", value) if value is not None else ("end", "")
        if c == "'":
            value = self._quoted("'")
            return ("string", value) if value is not None else ("end", "")
        if c == "/" and regex_ok:
            start = self.pos
            value = self._quoted("/")
            return ("regex", text[start:self.pos]) if value is not None else ("end", "")
        self.pos += 1
        return "punct", c


def select_sources(statement: str) -> Optional[List[Source]]:
    """The sources of a ``SELECT`` statement, or ``None`` when it is not one
    or a source is not a measurement (a subquery) or cannot be read."""
    scan = _Scanner(statement)
    kind, text = scan.next()
    if kind != "ident" or text.upper() != "SELECT":
        return None
    depth = 0
    while True:
        kind, text = scan.next()
        if kind == "end":
            return None
        if kind == "punct" and text == "(":
            depth += 1
        elif kind == "punct" and text == ")":
            depth -= 1
        elif kind == "ident" and depth == 0 and text.upper() == "FROM":
            break
    sources: List[Source] = []
    while True:
        source = _measurement(scan)
        if source is None:
            return None
        sources.append(source)
        save = scan.pos
        kind, text = scan.next()
        if kind == "punct" and text == ",":
            continue
        if kind == "end" or (kind == "punct" and text == ";") or (
                kind == "ident" and text.upper() in _AFTER_SOURCES):
            return sources
        scan.pos = save
        return None


def _measurement(scan: _Scanner) -> Optional[Source]:
    """``[db.][rp.]name`` where any segment may be empty (``db..cpu``) and the
    name may be a regex; at most three segments."""
    segments: List[str] = []
    while True:
        save = scan.pos
        kind, text = scan.next(regex_ok=True)
        if kind in ("ident", "quoted", "regex"):
            segments.append(text)
            if kind == "regex":
                break
            save = scan.pos
            kind, text = scan.next()
            if kind == "punct" and text == ".":
                continue
            scan.pos = save
            break
        if kind == "punct" and text == ".":
            # An empty segment: ``db..name`` (default retention policy).
            segments.append("")
            continue
        scan.pos = save
        return None
    if not segments or segments[-1] == "" or len(segments) > 3:
        return None
    segments = [""] * (3 - len(segments)) + segments
    return Source(segments[0], segments[1], segments[2])

