"""TICKscript regexes: Go's ``regexp`` syntax, matched by RE2.

TICKscript regexes are Go regexps.  Matching is done by RE2 (the
``google-re2`` package): it is the engine Go's ``regexp`` was ported from,
speaks the same syntax and runs in time linear in the text, so no pattern
can hold the reactor by backtracking.

Before a pattern reaches RE2 it is read once, left to right and in linear
time, with Go's ``regexp/syntax`` grammar.  That pass:

* rejects what Go rejects, with Go's ``error parsing regexp: <code>:
  `<expr>``` texts (RE2's C++ wording differs, and it accepts a few things
  Go does not, e.g. ``\\C``);
* records Go's capture names (which may repeat or start with a digit, as
  RE2's C++ parser does not allow) and hands RE2 plain groups;
* spells Go 1.25's loose Unicode class names (``\\p{greek}``,
  ``\\p{Letter}``) the way RE2 knows them; the few Go names RE2 lacks
  (``ASCII``, ``LC``, ``Cn``, ``Assigned``) become code point ranges;
* turns ``\\Q…\\E`` into escaped literals.

Everything else -- flags, ``$``/``^``/``.`` defaults, ASCII ``\\b\\d\\s\\w``,
case folding, Unicode tables -- is RE2's own, which is Go's.
"""

import collections
import re
import threading
import unicodedata
import weakref

import re2

from kapacitord_tw.tick.unicode_scripts import SCRIPT_NAMES

MAX_RUNE = 0x10FFFF
MAX_REPEAT = 1000
MAX_HEIGHT = 1000
#: Estimated RE2 instructions a pattern may compile to.  RE2 holds the GIL
#: while it compiles, about a microsecond per instruction (its own memory
#: budget ends near 350,000); refusing before RE2 parses keeps a pattern of
#: 300,000 ``\pL`` (each ~1,200 instructions) from holding the process
#: for minutes.
MAX_PROGRAM_SIZE = 50_000


class RegexError(ValueError):
    pass


def _error(code, expr):
    return RegexError("error parsing regexp: %s: `%s`" % (code, expr))


def _options():
    options = re2.Options()
    options.log_errors = False      # RE2 would print to stderr
    options.longest_match = False   # Go's leftmost-first
    options.encoding = re2.Options.Encoding.UTF8
    return options


_OPTIONS = _options()
# The ``re2`` module's Python wrapper re-encodes a str subject on every call
# and wraps each match in objects; regexReplace would pay that per match.
# Its C++ binding takes a bytes buffer and byte offsets, once encoded.
_Program = re2._re2.RE2
_UNANCHORED = _Program.Anchor.UNANCHORED
_ANCHOR_START = _Program.Anchor.ANCHOR_START
_ANCHOR_BOTH = _Program.Anchor.ANCHOR_BOTH
_SURROGATES = re.compile("[\ud800-\udfff]")


def _valid_utf8_text(text):
    """Lone surrogates (possible in JSON strings) are U+FFFD, as Go's
    ``encoding/json`` would have made them; one character each, so
    character offsets do not move."""
    return _SURROGATES.sub("\ufffd", text)


class GoMatch:
    """One match: spans in characters of the searched ``str``."""

    __slots__ = ("string", "_spans")

    def __init__(self, string, spans):
        self.string = string
        self._spans = spans

    def span(self, group=0):
        return self._spans[group]

    def start(self, group=0):
        return self._spans[group][0]

    def end(self, group=0):
        return self._spans[group][1]

    def group(self, group=0):
        start, end = self._spans[group]
        return None if start < 0 else self.string[start:end]

    def groups(self):
        return tuple(self.group(i) for i in range(1, len(self._spans)))


class _Subject:
    """A ``str`` encoded once to UTF-8 for RE2, with a cursor that turns
    non-decreasing byte offsets into character offsets in linear total
    time."""

    __slots__ = ("text", "data", "ascii", "_byte", "_char")

    def __init__(self, text):
        self.text = text
        try:
            self.data = text.encode("utf-8")
        except UnicodeEncodeError:
            self.data = _valid_utf8_text(text).encode("utf-8")
        self.ascii = len(self.data) == len(text)
        self._byte = self._char = 0

    def byte_offset(self, char_offset):
        if self.ascii or char_offset <= 0:
            return max(char_offset, 0)
        return len(self.text[:char_offset].encode("utf-8", "surrogatepass"))

    def char_offset(self, byte_offset):
        if self.ascii:
            return byte_offset
        if byte_offset < self._byte:
            self._byte = self._char = 0
        self._char += len(self.data[self._byte:byte_offset].decode("utf-8"))
        self._byte = byte_offset
        return self._char

    def inside_character(self, byte_offset):
        return (not self.ascii and byte_offset < len(self.data)
                and 0x80 <= self.data[byte_offset] < 0xC0)

    def next_character(self, byte_offset):
        """The byte offset of the character after the one at ``byte_offset``."""
        byte_offset += 1
        while self.inside_character(byte_offset):
            byte_offset += 1
        return byte_offset


class GoRegexp:
    """A compiled Go regexp: the RE2 program plus Go's capture names."""

    __slots__ = ("pattern", "program", "group_names", "__weakref__")

    def __init__(self, pattern, program, group_names):
        self.pattern = pattern          # the Go source
        self.program = program          # ``re2._re2.RE2`` (UTF-8 bytes in)
        self.group_names = group_names  # Go name (or "") per group 1..n

    def _spans(self, subject, byte_pos, anchor):
        """Byte spans of every group of the first match at or after
        ``byte_pos``, or None."""
        data = subject.data
        while True:
            spans = self.program.Match(anchor, data, byte_pos, len(data))
            start = spans[0][0]
            if start < 0:
                return None
            if not subject.inside_character(start):
                return spans
            # RE2's unanchored search steps through bytes, Go's through
            # characters: an empty-width match such as \B can land inside
            # a multi-byte character, where Go never looks.
            byte_pos = subject.next_character(start)

    @staticmethod
    def _to_chars(subject, spans):
        if subject.ascii:
            return GoMatch(subject.text, spans)
        offsets = sorted({offset for span in spans for offset in span
                          if offset >= 0})
        chars = {offset: subject.char_offset(offset) for offset in offsets}
        chars[-1] = -1
        return GoMatch(subject.text, [(chars[a], chars[b]) for a, b in spans])

    def _find(self, text, pos, anchor):
        subject = _Subject(text)
        byte_pos = subject.byte_offset(pos)
        if byte_pos > len(subject.data):
            return None
        spans = self._spans(subject, byte_pos, anchor)
        return None if spans is None else self._to_chars(subject, spans)

    def search(self, text, pos=0):
        return self._find(text, pos, _UNANCHORED)

    def match(self, text, pos=0):
        return self._find(text, pos, _ANCHOR_START)

    def fullmatch(self, text, pos=0):
        return self._find(text, pos, _ANCHOR_BOTH)

    def replace_all(self, text, template):
        """Go's ``ReplaceAllString(text, template)``, ``$1``/``${name}``
        expanded as ``Regexp.Expand`` does.  Linear in the text: one UTF-8
        encoding, byte offsets throughout, one decoding at the end."""
        subject = _Subject(text)
        data = subject.data
        pieces = self._template(template)
        out = []
        last_end = 0
        byte_pos = 0
        while byte_pos <= len(data):
            spans = self._spans(subject, byte_pos, _UNANCHORED)
            if spans is None:
                break
            start, stop = spans[0]
            out.append(data[last_end:start])
            # An empty match right after a match is not replaced.
            if stop > last_end or start == 0:
                for piece in pieces:
                    if piece.__class__ is bytes:
                        out.append(piece)
                        continue
                    for group in piece:
                        a, b = spans[group]
                        if a >= 0:
                            out.append(data[a:b])
                            break
            last_end = stop
            # Advance past this match; always by at least one character.
            width = subject.next_character(byte_pos) - byte_pos
            byte_pos = byte_pos + width if byte_pos + width > stop else stop
        out.append(data[last_end:])
        return b"".join(out).decode("utf-8", "surrogatepass")

    def _template(self, template):
        """The template as encoded literals and, per ``$`` reference, the
        group numbers to try in order (Go: the first participating group
        with that name; a number names one group)."""
        pieces = []
        for literal, name in _template_parts(template):
            if literal:
                pieces.append(literal.encode("utf-8", "surrogatepass"))
            if name is not None:
                pieces.append(self._groups_named(name))
        return pieces

    def _groups_named(self, name):
        number = _group_number(name)
        if number >= 0:
            return (number,) if number <= len(self.group_names) else ()
        return tuple(index for index, group_name in enumerate(self.group_names, 1)
                     if group_name == name)

    def named_group(self, match, name):
        """Go's ``$name`` expansion on a :class:`GoMatch`: the first
        participating group so named, or a numbered group; "" when none."""
        for index in self._groups_named(name):
            if match.start(index) >= 0:
                return match.group(index)
        return ""


def _name_char(ch):
    # Go's extract: unicode.IsLetter, unicode.IsDigit (Nd) or '_'.
    return ch == "_" or ch.isalpha() or ch.isdecimal()


def _group_number(name):
    """Go's ``extract`` number: ASCII digits, no leading zero, else -1."""
    if not name.isascii() or not name.isdigit() or \
            (name[0] == "0" and len(name) > 1) or len(name) > 9:
        return -1
    return int(name)


def _template_parts(template):
    """``Regexp.Expand``'s reading of a template: (literal, name or None)
    pairs; ``$$`` is "$", a malformed reference is a literal "$"."""
    parts = []
    literal = []
    i, n = 0, len(template)
    while i < n:
        dollar = template.find("$", i)
        if dollar < 0:
            literal.append(template[i:])
            break
        literal.append(template[i:dollar])
        i = dollar + 1
        if i < n and template[i] == "$":
            literal.append("$")
            i += 1
            continue
        brace = i < n and template[i] == "{"
        j = i + 1 if brace else i
        end = j
        while end < n and _name_char(template[end]):
            end += 1
        if end == j or (brace and (end >= n or template[end] != "}")):
            literal.append("$")
            continue
        parts.append(("".join(literal), template[j:end]))
        literal = []
        i = end + 1 if brace else end
    parts.append(("".join(literal), None))
    return parts


# -- Unicode class names ---------------------------------------------------
_CATEGORY_TABLE = None

# Go's unicode.Categories keys beyond the two-letter ones.
_MAJOR = {
    "L": ("Lu", "Ll", "Lt", "Lm", "Lo"), "LC": ("Lu", "Ll", "Lt"),
    "M": ("Mn", "Mc", "Me"), "N": ("Nd", "Nl", "No"),
    "P": ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"),
    "S": ("Sm", "Sc", "Sk", "So"), "Z": ("Zs", "Zl", "Zp"),
    "C": ("Cc", "Cf", "Co", "Cs"),
}

# unicode.CategoryAliases (Unicode's long names), matched loosely.
_CATEGORY_ALIASES = {
    "Other": "C", "Control": "Cc", "Cntrl": "Cc", "Format": "Cf",
    "Unassigned": "Cn", "Private_Use": "Co", "Surrogate": "Cs",
    "Letter": "L", "Cased_Letter": "LC", "Lowercase_Letter": "Ll",
    "Modifier_Letter": "Lm", "Other_Letter": "Lo",
    "Titlecase_Letter": "Lt", "Uppercase_Letter": "Lu", "Mark": "M",
    "Combining_Mark": "M", "Spacing_Mark": "Mc", "Enclosing_Mark": "Me",
    "Nonspacing_Mark": "Mn", "Number": "N", "Decimal_Number": "Nd",
    "Digit": "Nd", "Letter_Number": "Nl", "Other_Number": "No",
    "Punctuation": "P", "Punct": "P", "Connector_Punctuation": "Pc",
    "Dash_Punctuation": "Pd", "Close_Punctuation": "Pe",
    "Final_Punctuation": "Pf", "Initial_Punctuation": "Pi",
    "Other_Punctuation": "Po", "Open_Punctuation": "Ps", "Symbol": "S",
    "Currency_Symbol": "Sc", "Modifier_Symbol": "Sk", "Math_Symbol": "Sm",
    "Other_Symbol": "So", "Separator": "Z", "Line_Separator": "Zl",
    "Paragraph_Separator": "Zp", "Space_Separator": "Zs",
}

_TWO_LETTER = (
    "Cc", "Cf", "Cn", "Co", "Cs", "Ll", "Lm", "Lo", "Lt", "Lu", "Mc", "Me",
    "Mn", "Nd", "Nl", "No", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "Sc",
    "Sk", "Sm", "So", "Zl", "Zp", "Zs")


def _canonical(name):
    """Go's ``canonicalName``: first letter upper, rest lower, no ``_ -``."""
    out = []
    for ch in name:
        if ch in "_- ":
            continue
        out.append(ch.upper() if not out and "a" <= ch <= "z" else
                   ch.lower() if out and "A" <= ch <= "Z" else ch)
    return "".join(out)


def _categories():
    """Code point ranges per category, built once, only for the names RE2
    lacks (``Cn``, ``LC``)."""
    global _CATEGORY_TABLE
    if _CATEGORY_TABLE is None:
        table = {}
        start, current = 0, unicodedata.category("\0")
        for cp in range(1, MAX_RUNE + 2):
            cat = unicodedata.category(chr(cp)) if cp <= MAX_RUNE else None
            if cat != current:
                table.setdefault(current, []).append((start, cp - 1))
                start, current = cp, cat
        _CATEGORY_TABLE = table
    return _CATEGORY_TABLE


def _clean(ranges):
    ranges = sorted(ranges)
    out = []
    for lo, hi in ranges:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _negate(ranges):
    out = []
    next_lo = 0
    for lo, hi in _clean(ranges):
        if next_lo <= lo - 1:
            out.append((next_lo, lo - 1))
        next_lo = hi + 1
    if next_lo <= MAX_RUNE:
        out.append((next_lo, MAX_RUNE))
    return out


def _category_ranges(*names):
    table = _categories()
    return _clean([r for name in names for r in table.get(name, ())])


# canonical name -> RE2's name, or a function giving (ranges, sign)
_RE2_NAMES = {"Any": "Any"}
_RE2_NAMES.update({_canonical(name): name for name in SCRIPT_NAMES})
_RE2_NAMES.update({name: name for name in _TWO_LETTER if name != "Cn"})
_RE2_NAMES.update({name: name for name in _MAJOR if name != "LC"})
_RANGE_NAMES = {
    "Ascii": lambda: ([(0, 0x7F)], 1),
    "Lc": lambda: (_category_ranges(*_MAJOR["LC"]), 1),
    "Cn": lambda: (_category_ranges("Cn"), 1),
    "Assigned": lambda: (_category_ranges("Cn"), -1),
}
for _alias, _target in _CATEGORY_ALIASES.items():
    _key = _canonical(_alias)
    if _target in _RE2_NAMES:
        _RE2_NAMES[_key] = _target
    else:
        _RANGE_NAMES[_key] = _RANGE_NAMES[_canonical(_target)]


def _range_items(ranges):
    return "".join("\\x{%x}" % lo if lo == hi else "\\x{%x}-\\x{%x}" % (lo, hi)
                   for lo, hi in ranges)


def _unicode_class_text(name, sign, in_class):
    """RE2 text for ``\\p{name}`` with ``sign``, or None for unknown names."""
    canonical = _canonical(name)
    re2_name = _RE2_NAMES.get(canonical)
    if re2_name is not None:
        return "\\%s{%s}" % ("p" if sign > 0 else "P", re2_name)
    table = _RANGE_NAMES.get(canonical)
    if table is None:
        return None
    ranges, table_sign = table()
    if sign * table_sign < 0:
        ranges = _negate(ranges)
    items = _range_items(ranges)
    return items if in_class else "[%s]" % items


_CLASS_SIZES = {}


def _class_size(text):
    """RE2 instructions for one Unicode class (measured once per class)."""
    size = _CLASS_SIZES.get(text)
    if size is None:
        program = _Program(text.encode("utf-8"), _OPTIONS)
        size = program.ProgramSize() if program.ok() else MAX_PROGRAM_SIZE
        _CLASS_SIZES[text] = size
    return size


_POSIX_NAMES = frozenset((
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
    "print", "punct", "space", "upper", "word", "xdigit"))


# -- Go's grammar ----------------------------------------------------------
class _Frame:
    """An open group.  For Go's ``repeatIsValid``: the largest repeat
    product among its finished items and that of the last item on the
    current alternative (None while the alternative is empty).  For the
    size budget: RE2 instructions of the finished items and of the last."""

    __slots__ = ("done", "last", "size", "last_size")

    def __init__(self):
        self.done = 1
        self.last = None
        self.size = 0
        self.last_size = 0

    def push(self, weight=1, size=1):
        self._finish_last()
        self.last = weight
        self.last_size = size

    def bar(self):
        self._finish_last()
        self.last = None
        self.last_size = 0

    def _finish_last(self):
        if self.last is not None and self.last > self.done:
            self.done = self.last
        self.size += self.last_size

    def weight(self):
        return max(self.done, self.last or 1)

    def total_size(self):
        return self.size + self.last_size


def _escape_literal(ch):
    return "\\" + ch if ch < "\x80" and not ch.isalnum() else ch


class _Reader:
    """Go's ``regexp/syntax`` parse, by index (linear in the pattern):
    Go's errors, Go's capture names, and the edits RE2 needs."""

    def __init__(self, pattern):
        self.p = pattern
        self.n = len(pattern)
        self.frames = [_Frame()]
        self.group_names = []
        self.edits = []     # (start, end, replacement), left to right

    def read(self):
        p, n = self.p, self.n
        i = 0
        last_repeat = -1
        while i < n:
            repeat = -1
            c = p[i]
            if c == "(":
                if i + 1 < n and p[i + 1] == "?":
                    i = self.perl_flags(i)
                else:
                    self.open_group(None)
                    i += 1
            elif c == "|":
                self.frames[-1].bar()
                i += 1
            elif c == ")":
                self.close_group()
                i += 1
            elif c == "[":
                i = self.parse_class(i)
            elif c in "*+?":
                repeat = i
                i = self.repeat(None, None, i, i + 1, last_repeat)
            elif c == "{":
                parsed = _parse_repeat(p, i)
                if parsed is None:
                    self.frames[-1].push()
                    i += 1
                else:
                    lo, hi, after = parsed
                    if lo < 0 or lo > MAX_REPEAT or hi > MAX_REPEAT or \
                            (hi >= 0 and lo > hi):
                        raise _error("invalid repeat count", p[i:after])
                    repeat = i
                    i = self.repeat(lo, hi, i, after, last_repeat)
            elif c == "\\":
                i = self.escape(i)
            else:
                self.frames[-1].push()
                i += 1
            last_repeat = repeat
        if len(self.frames) != 1:
            raise _error("missing closing )", p)
        if self.frames[0].total_size() > MAX_PROGRAM_SIZE:
            # RE2 would take seconds just to parse (a \pL is ~1,200
            # instructions) before refusing for its memory budget.
            raise _error("expression too large", p)
        return self

    def rewritten(self):
        """The pattern as RE2 should read it."""
        out = []
        at = 0
        for start, end, text in self.edits:
            out.append(self.p[at:start])
            out.append(text)
            at = end
        out.append(self.p[at:])
        return "".join(out)

    def open_group(self, name):
        if name is not False:
            self.group_names.append(name or "")
        if len(self.frames) > MAX_HEIGHT:
            raise _error("expression nests too deeply", self.p)
        self.frames.append(_Frame())

    def close_group(self):
        if len(self.frames) < 2:
            raise _error("unexpected )", self.p)
        frame = self.frames.pop()
        self.frames[-1].push(frame.weight(), frame.total_size() + 1)

    def perl_flags(self, i):
        """``parsePerlFlags``: named captures, ``(?flags)``, ``(?flags:``."""
        p, n = self.p, self.n
        starts_p = n - i > 4 and p[i + 2] == "P" and p[i + 3] == "<"
        starts_name = n - i > 3 and p[i + 2] == "<"
        if starts_p or starts_name:
            begin = i + (4 if starts_p else 3)
            end = p.find(">", i)
            if end < 0:
                raise _error("invalid named capture", p[i:])
            name = p[begin:end]
            if not name or not all(ch == "_" or (ch.isascii() and
                                                 ch.isalnum())
                                   for ch in name):
                raise _error("invalid named capture", p[i:end + 1])
            self.open_group(name)
            self.edits.append((i, end + 1, "("))
            return end + 1
        negative = False
        saw_flag = False
        j = i + 2
        while j < n:
            ch = p[j]
            j += 1
            if ch in "imsU":
                saw_flag = True
            elif ch == "-":
                if negative:
                    break
                negative = True
                saw_flag = False
            elif ch in ":)":
                if negative and not saw_flag:
                    break
                if ch == ":":
                    self.open_group(False)
                return j
            else:
                break
        raise _error("invalid or unsupported Perl syntax", p[i:j])

    def repeat(self, lo, hi, start, after, last_repeat):
        p = self.p
        if after < self.n and p[after] == "?":
            after += 1
        if last_repeat >= 0:
            raise _error("invalid nested repetition operator",
                         p[last_repeat:after])
        frame = self.frames[-1]
        if frame.last is None:
            raise _error("missing argument to repetition operator",
                         p[start:after])
        weight = frame.last
        if lo is not None:
            # Go's repeatIsValid: the product of counts along any path
            # must stay within 1000; {0} ends a path, {0,} is neutral.
            count = hi if hi > 0 else lo
            if hi == 0:
                weight = 1
            elif count > 0:
                weight *= count
            if (lo >= 2 or hi >= 2) and weight > MAX_REPEAT:
                raise _error("invalid repeat count", p[start:after])
        frame.last = weight
        # RE2 copies the operand once per counted repetition.
        copies = 1 if lo is None else (hi if hi >= 0 else lo + 1)
        frame.last_size = frame.last_size * max(copies, 1) + 1
        return after

    def escape(self, i):
        p, n = self.p, self.n
        frame = self.frames[-1]
        if i + 1 < n:
            c = p[i + 1]
            if c in "AbBz":
                frame.push()
                return i + 2
            if c == "C":
                raise _error("invalid escape sequence", p[i:i + 2])
            if c == "Q":
                end = p.find("\\E", i + 2)
                stop = n if end < 0 else end
                literal = p[i + 2:stop]
                if literal:
                    frame.push()
                self.edits.append((i, n if end < 0 else end + 2, "".join(
                    _escape_literal(ch) for ch in literal)))
                return n if end < 0 else end + 2
            if c in "pP":
                end, size = self.unicode_class(i, in_class=False)
                frame.push(size=size)
                return end
            if c in "dswDSW":
                frame.push()
                return i + 2
        _, end = _parse_escape(p, i)
        frame.push()
        return end

    def unicode_class(self, i, in_class):
        """``parseUnicodeClass`` for ``\\pL``, ``\\p{Greek}``, ``\\P{^Lu}``."""
        p, n = self.p, self.n
        sign = -1 if p[i + 1] == "P" else 1
        if n - i < 3:
            end, name = n, ""
        elif p[i + 2] != "{":
            end, name = i + 3, p[i + 2]
        else:
            close = p.find("}", i)
            if close < 0:
                raise _error("invalid character class range", p[i:])
            end, name = close + 1, p[i + 3:close]
        if name.startswith("^"):
            sign = -sign
            name = name[1:]
        text = _unicode_class_text(name, sign, in_class)
        if text is None:
            raise _error("invalid character class range", p[i:end])
        self.edits.append((i, end, text))
        return end, _class_size(text if not in_class else "[%s]" % text)

    def parse_class(self, i):
        """``parseClass``: a bracketed class; returns the index after it."""
        p, n = self.p, self.n
        j = i + 1
        if j < n and p[j] == "^":
            j += 1
        first = True
        size = 8
        while j >= n or p[j] != "]" or first:
            first = False
            if n - j > 2 and p[j] == "[" and p[j + 1] == ":":
                end = p.find(":]", j + 2)
                if end >= 0:
                    group = p[j + 2:end]
                    if group.startswith("^"):
                        group = group[1:]
                    if group not in _POSIX_NAMES:
                        raise _error("invalid character class range",
                                     p[j:end + 2])
                    j = end + 2
                    size += 8
                    continue
            if n - j >= 2 and p[j] == "\\":
                if p[j + 1] in "pP":
                    j, item_size = self.unicode_class(j, in_class=True)
                    size += item_size
                    continue
                if p[j + 1] in "dswDSW":
                    j += 2
                    size += 8
                    continue
            start = j
            lo, j = _class_char(p, j, i)
            if n - j >= 2 and p[j] == "-" and p[j + 1] != "]":
                hi, j = _class_char(p, j + 1, i)
                if ord(hi) < ord(lo):
                    raise _error("invalid character class range", p[start:j])
                size += 8
            else:
                size += 1
        self.frames[-1].push(size=size)
        return j + 1


def _parse_int(p, j):
    """Go's ``parseInt`` at ``j``: (value or -1 when huge, index after)."""
    n = len(p)
    if j >= n or not "0" <= p[j] <= "9":
        return None
    if j + 1 < n and p[j] == "0" and "0" <= p[j + 1] <= "9":
        return None
    end = j
    while end < n and "0" <= p[end] <= "9":
        end += 1
    value = int(p[j:end]) if end - j <= 9 else -1
    return value, end


def _parse_repeat(p, i):
    """``parseRepeat`` at the ``{`` at ``i``: (min, max, index after) for
    ``{n}``, ``{n,}``, ``{n,m}`` or None when ``{`` is a literal; min is -1
    for huge numbers."""
    n = len(p)
    parsed = _parse_int(p, i + 1)
    if parsed is None:
        return None
    lo, j = parsed
    if j >= n:
        return None
    if p[j] != ",":
        hi = lo
    else:
        j += 1
        if j >= n:
            return None
        if p[j] == "}":
            hi = -1
        else:
            parsed = _parse_int(p, j)
            if parsed is None:
                return None
            hi, j = parsed
            if hi < 0:
                lo = -1
    if j >= n or p[j] != "}":
        return None
    return lo, hi, j + 1


_C_ESCAPES = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
              "v": "\v"}
_HEX = "0123456789abcdefABCDEF"


def _parse_escape(p, i):
    """``parseEscape`` at the backslash at ``i``: (char, index after)."""
    n = len(p)
    j = i + 1
    if j >= n:
        raise _error("trailing backslash at end of expression", "")
    c = p[j]
    j += 1
    if c < "\x80" and not c.isalnum():
        return c, j
    if c in "1234567" and (j >= n or not "0" <= p[j] <= "7"):
        raise _error("invalid escape sequence", p[i:j])
    if c in "01234567":
        value = int(c)
        for _ in range(2):
            if j >= n or not "0" <= p[j] <= "7":
                break
            value = value * 8 + int(p[j])
            j += 1
        return chr(value), j
    if c == "x" and j < n:
        c = p[j]
        j += 1
        if c == "{":
            digits = 0
            value = 0
            while True:
                if j >= n:
                    raise _error("invalid escape sequence", p[i:j])
                c = p[j]
                j += 1
                if c == "}":
                    break
                if c not in _HEX:
                    raise _error("invalid escape sequence", p[i:j])
                value = value * 16 + int(c, 16)
                if value > MAX_RUNE:
                    raise _error("invalid escape sequence", p[i:j])
                digits += 1
            if digits == 0:
                raise _error("invalid escape sequence", p[i:j])
            return chr(value), j
        c2 = p[j] if j < n else ""
        j = min(j + 1, n)
        if c in _HEX and c2 and c2 in _HEX:
            return chr(int(c + c2, 16)), j
        raise _error("invalid escape sequence", p[i:j])
    if c in _C_ESCAPES:
        return _C_ESCAPES[c], j
    raise _error("invalid escape sequence", p[i:j])


def _class_char(p, j, class_start):
    if j >= len(p):
        raise _error("missing closing ]", p[class_start:])
    if p[j] == "\\":
        return _parse_escape(p, j)
    return p[j], j + 1


# -- compiling, with a small cache -----------------------------------------
# Compiles run on the reactor and in the compile worker thread.
_CACHE_LOCK = threading.Lock()
_CACHE = collections.OrderedDict()     # pattern -> (GoRegexp, cost)
_CACHE_ENTRIES = 256
_CACHE_COST = 1 << 20       # pattern characters + RE2 instructions kept
_cache_cost = 0
#: RE2 instructions of all live regexps.  A tiny pattern can be a big
#: program (``\pL{40}`` is 48,000 instructions, ~1 MB), and a 1 MB script
#: could hold tens of thousands of them.  Typical ones have 10-1,000.
MAX_LIVE_PROGRAM = 4_000_000
_live_program = 0


def _remember(pattern, compiled, cost):
    global _cache_cost
    if cost > _CACHE_COST // 16:
        return
    with _CACHE_LOCK:
        if pattern in _CACHE:
            return
        _CACHE[pattern] = (compiled, cost)
        _cache_cost += cost
        while len(_CACHE) > _CACHE_ENTRIES or _cache_cost > _CACHE_COST:
            _, (_, old_cost) = _CACHE.popitem(last=False)
            _cache_cost -= old_cost


def _claim(size, pattern):
    global _live_program
    with _CACHE_LOCK:
        if _live_program + size > MAX_LIVE_PROGRAM:
            raise RegexError(
                "error parsing regexp: expression too large: `%s` (the regular "
                "expressions in use already hold %d RE2 instructions, at most %d)"
                % (pattern, _live_program, MAX_LIVE_PROGRAM))
        _live_program += size


def _release(size):
    global _live_program
    with _CACHE_LOCK:
        _live_program -= size


def _re2_compile(text):
    """The RE2 program, or RE2's complaint (it has a memory budget Go's
    parser does not, and says "pattern too large")."""
    program = _Program(text.encode("utf-8"), _OPTIONS)
    if not program.ok():
        message = program.error()
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise re2.error(message)
    return program


def compile_go_regex(pattern):
    """Compile a Go regexp; raises :class:`RegexError` with Go's wording."""
    with _CACHE_LOCK:
        cached = _CACHE.get(pattern)
        if cached is not None:
            _CACHE.move_to_end(pattern)
            return cached[0]
    reader = _Reader(_valid_utf8_text(pattern)).read()
    try:
        compiled = _re2_compile(reader.rewritten())
    except re2.error as exc:
        message = str(exc.args[0]) if exc.args else ""
        if "too large" in message or "too big" in message:
            raise _error("expression too large", pattern) from None
        raise RegexError("error parsing regexp: %s" % message) from None
    size = compiled.ProgramSize()
    _claim(size, pattern)
    result = GoRegexp(pattern, compiled, tuple(reader.group_names))
    weakref.finalize(result, _release, size)
    _remember(pattern, result, len(pattern) + size)
    return result
