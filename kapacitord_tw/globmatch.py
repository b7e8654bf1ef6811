"""Go's ``path.Match`` globs for ``?pattern=`` on lists, in C-speed time.

:func:`kapacitord_tw.gocompat.path_match` is a line-by-line port of Go's
algorithm: readable, but it slices the name at every step, so a 1 MB task
id against ``*b`` took 16 s.  Here a glob is compiled once into one Python
``re`` pattern over the name's UTF-8 bytes with the *same* semantics:

* Go matches star-separated chunks left to right, commits to the leftmost
  place a middle chunk matches and never revisits earlier stars; an atomic
  group around a lazy ``[^/]*?`` does exactly that, so the regex never
  backtracks across chunks and the work is bounded by name length × chunk
  length (both capped: :data:`MAX_PATTERN_BYTES`, and names at creation);
* ``?`` and ``[...]`` consume one rune as Go's UTF-8 decoder reads it (an
  invalid byte is U+FFFD, one byte wide), so each element is an alternation
  of the exact byte sequences of the runes it accepts;
* a malformed pattern matches nothing, as Kapacitor ignores Go's error;
* a name stored before names were capped is tested only while name length
  x pattern length stays under :data:`LONG_NAME_BUDGET`.

Compiled globs are kept in a small LRU cache: the parse is pure Python.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, List, Optional, Tuple

from kapacitord_tw.gocompat import path_match

#: Longest ``?pattern=`` accepted (bytes of UTF-8); longer is a 400.
MAX_PATTERN_BYTES = 1024

#: Names are capped at creation (:mod:`kapacitord_tw.names`), but records
#: stored before that may be megabytes long.  Matching costs up to name
#: length x pattern length, so such a name is tested only while that
#: product stays under this bound (about 0.1 s of the worst pattern) and
#: otherwise does not match.
LONG_NAME_BUDGET = 1 << 24

_MAX_RUNE = 0x10FFFF
_RUNE_ERROR = 0xFFFD

Ranges = List[Tuple[int, int]]


class PatternTooLong(ValueError):
    """A glob over :data:`MAX_PATTERN_BYTES`."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"pattern is too long: at most {MAX_PATTERN_BYTES} bytes are allowed, got {size}")


class _BadPattern(Exception):
    pass


# ------------------------------------------------------- the name's view
#
# Go reads the name as bytes: a star skips bytes (so a chunk may start in
# the middle of a multi-byte rune), a literal compares one byte, and ``?``
# or a class decodes the rune at that byte (an invalid or continuation byte
# is U+FFFD, one byte wide).  The name is turned into a str with one
# character per byte that says exactly that: ASCII stays itself, a valid
# multi-byte rune is one character followed by a CONT marker per further
# byte, and an invalid byte is a STRAY marker.  The markers are Latin-1
# characters (regex classes over Latin-1 compile fast), so the runes
# U+0080-U+00FF are moved to lone surrogates, which no rune can be.
#
# Literal bytes above 0x7F only ever come as whole runes in a pattern that
# is valid UTF-8 (the HTTP layer decodes it so), and whole runes only ever
# match a rune and its CONT markers; a pattern with raw invalid bytes is
# matched by the plain port instead.

_CONT = "\x80"
_STRAY = "\x81"
_LATIN1_SHIFT = 0xDB00  # U+0080-U+00FF are U+DB80-U+DBFF in the view
_ONE_BYTE_ERROR = "[\\x80\\x81]"  # U+FFFD, one byte wide
_CONTS = "\\x80*+"  # the rest of the rune just read
_NOT_MARKER = "[^\\x80\\x81]"


def _view_char(rune: int) -> str:
    return chr(_LATIN1_SHIFT + rune) if 0x80 <= rune <= 0xFF else chr(rune)


class _Expand(dict):
    """str.translate table: a non-ASCII rune → its view (cached)."""

    def __missing__(self, code: int):
        if 0xDC80 <= code <= 0xDCFF:
            value = _STRAY  # an invalid byte, from surrogateescape decoding
        else:
            value = _view_char(code) + _CONT * (len(chr(code).encode("utf-8")) - 1)
        if len(self) < 4096:
            self[code] = value
        return value


_EXPAND = _Expand()


def byte_view(name: str) -> str:
    """One character per UTF-8 byte of *name*, as described above."""
    if name.isascii():
        return name
    decoded = _to_bytes(name).decode("utf-8", "surrogateescape")
    return decoded.translate(_EXPAND)


def _char(code: int) -> str:
    return re.escape(chr(code)) if code < 0x80 else "\\U%08x" % code


def _view_ranges(ranges: Ranges) -> Ranges:
    """Rune ranges as ranges of view characters (surrogates dropped, Latin-1 moved)."""
    out: Ranges = []
    for lo, hi in ranges:
        for a, b in ((lo, min(hi, 0x7F)), (max(lo, 0x100), min(hi, 0xD7FF)), (max(lo, 0xE000), hi)):
            if a <= b:
                out.append((a, b))
        a, b = max(lo, 0x80), min(hi, 0xFF)
        if a <= b:
            out.append((_LATIN1_SHIFT + a, _LATIN1_SHIFT + b))
    return out


def _char_class(ranges: Ranges) -> str:
    parts = [_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in _view_ranges(ranges)]
    return "[" + "".join(parts) + "]" if parts else ""


def _normalise(ranges: Ranges) -> Ranges:
    merged: Ranges = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


# One rune, '/' included, and '?' (one rune but '/').
_RUNE = f"(?:{_ONE_BYTE_ERROR}|{_NOT_MARKER}{_CONTS})"
_ANY_RUNE = f"(?:{_ONE_BYTE_ERROR}|[^/\\x80\\x81]{_CONTS})"


def _class_regex(ranges: Ranges, negated: bool) -> str:
    ranges = _normalise([(lo, hi) for lo, hi in ranges if lo <= hi])
    alternatives = []
    runes = _char_class(ranges)
    if runes:
        alternatives.append(runes + ("" if negated else _CONTS))
    if any(lo <= _RUNE_ERROR <= hi for lo, hi in ranges):
        alternatives.append(_ONE_BYTE_ERROR)
    members = "|".join(alternatives)
    if negated:
        # A lookahead on the members keeps the class small (and quick to compile).
        return f"(?:(?!{members}){_RUNE})" if members else _RUNE
    return f"(?:{members})" if members else "(?!)"


def _decode_rune(b: bytes, i: int) -> Tuple[int, int]:
    """Go's ``utf8.DecodeRune`` at ``b[i:]``: (rune, width), (U+FFFD, 1) if invalid."""
    for width in (1, 2, 3, 4):
        piece = b[i:i + width]
        if len(piece) < width:
            break
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return ord(text[0]), width
    return _RUNE_ERROR, 1


# ----------------------------------------------------------------- parsing

def _chunks(pattern: bytes) -> List[Tuple[bool, bytes]]:
    """(star before it, chunk) pairs, as Go's ``scanChunk`` splits them."""
    out = []
    while pattern:
        star = False
        while pattern[:1] == b"*":
            pattern = pattern[1:]
            star = True
        in_range = False
        i = 0
        while i < len(pattern):
            c = pattern[i]
            if c == 0x5C and i + 1 < len(pattern):
                i += 1
            elif c == 0x5B:
                in_range = True
            elif c == 0x5D:
                in_range = False
            elif c == 0x2A and not in_range:
                break
            i += 1
        out.append((star, pattern[:i]))
        pattern = pattern[i:]
    return out


def _class_char(chunk: bytes, i: int) -> Tuple[int, int]:
    """One possibly escaped rune of a class (Go's ``getEsc``); (rune, next index)."""
    if i >= len(chunk) or chunk[i] in (0x2D, 0x5D):
        raise _BadPattern()
    if chunk[i] == 0x5C:
        i += 1
        if i >= len(chunk):
            raise _BadPattern()
    rune, width = _decode_rune(chunk, i)
    if rune == _RUNE_ERROR and width == 1:
        raise _BadPattern()
    i += width
    if i >= len(chunk):
        raise _BadPattern()
    return rune, i


def _ascii_class(ranges: Ranges, negated: bool) -> str:
    """A class for names that are all ASCII: only its ASCII members matter."""
    members = {c for lo, hi in ranges for c in range(lo, min(hi, 0x7F) + 1)}
    if negated:
        members = set(range(0x80)) - members
    if not members:
        return "(?!)"
    return "[" + "".join("\\x%02x" % c for c in sorted(members)) + "]"


def _chunk_regex(chunk: bytes, ascii_only: bool) -> str:
    parts: List[str] = []
    i = 0
    while i < len(chunk):
        c = chunk[i]
        if c == 0x5B:  # '['
            i += 1
            negated = chunk[i:i + 1] == b"^"
            if negated:
                i += 1
            ranges: Ranges = []
            while True:
                if chunk[i:i + 1] == b"]" and ranges:
                    i += 1
                    break
                lo, i = _class_char(chunk, i)
                hi = lo
                if chunk[i] == 0x2D:
                    hi, i = _class_char(chunk, i + 1)
                ranges.append((lo, hi))
            parts.append(_ascii_class(ranges, negated) if ascii_only
                         else _class_regex(ranges, negated))
        elif c == 0x3F:  # '?'
            parts.append("[^/]" if ascii_only else _ANY_RUNE)
            i += 1
        else:
            if c == 0x5C:
                i += 1
                if i >= len(chunk):
                    raise _BadPattern()
            if chunk[i] < 0x80:
                parts.append(re.escape(chr(chunk[i])))
                i += 1
            else:
                # A whole rune (the pattern is valid UTF-8): the rune and its markers.
                rune, width = _decode_rune(chunk, i)
                parts.append("(?!)" if ascii_only else re.escape(_view_char(rune)) + _CONT * (width - 1))
                i += width
    return _collapse_runs(parts)


def _collapse_runs(parts: List[str]) -> str:
    """``X{n}`` for n equal elements in a row: compiling each costs a lot."""
    out = []
    i = 0
    while i < len(parts):
        j = i
        while j < len(parts) and parts[j] == parts[i]:
            j += 1
        count = j - i
        out.append(parts[i] if count == 1 else f"(?:{parts[i]}){{{count}}}")
        i = j
    return "".join(out)


def _compile(pattern: bytes, ascii_only: bool) -> re.Pattern:
    chunks = _chunks(pattern)
    parts = []
    for index, (star, chunk) in enumerate(chunks):
        body = _chunk_regex(chunk, ascii_only)
        last = index == len(chunks) - 1
        if not star:
            parts.append(body)
        elif last:
            # The last chunk must end the name: the leftmost place it does.
            parts.append(f"[^/]*?{body}" if chunk else "[^/]*")
        else:
            # Commit to the leftmost match, as Go does: no backtracking into it.
            parts.append(f"(?>[^/]*?{body})")
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


@functools.lru_cache(maxsize=64)
def _compiled(pattern: bytes, ascii_only: bool) -> Optional[re.Pattern]:
    try:
        return _compile(pattern, ascii_only)
    except (_BadPattern, IndexError):
        return None


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def check_pattern(pattern: str) -> None:
    """Raise :class:`PatternTooLong` for a glob the lists refuse."""
    size = len(_to_bytes(pattern))
    if size > MAX_PATTERN_BYTES:
        raise PatternTooLong(size)


def matcher(pattern: str) -> Callable[[str], bool]:
    """``name -> bool`` for a Go glob; a malformed glob matches nothing.

    The regex for names that are all ASCII (almost every name) is small and
    quick to compile; the one that reads runes is compiled only when a name
    needs it.
    """
    raw = _to_bytes(pattern)
    size = max(1, len(raw))
    if any(0xD800 <= ord(c) <= 0xDFFF for c in pattern):
        # Raw invalid bytes in the pattern: rare, so the plain port does it.
        return lambda name: len(name) * size <= LONG_NAME_BUDGET and path_match(pattern, name)
    ascii_rx = _compiled(raw, True)
    if ascii_rx is None:
        return lambda name: False


    def match(name: str) -> bool:
        if len(name) * size > LONG_NAME_BUDGET:
            return False
        if name.isascii():
            return ascii_rx.match(name) is not None
        full_rx = _compiled(raw, False)
        return full_rx is not None and full_rx.match(byte_view(name)) is not None

    return match


def glob_match(pattern: str, name: str) -> bool:
    """Go's ``path.Match(pattern, name)`` with errors as no match."""
    return matcher(pattern)(name)
