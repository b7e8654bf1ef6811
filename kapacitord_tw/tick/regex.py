"""Go (RE2) regular expressions, translated to Python's ``re``.

TICKscript regexes are Go regexps.  Rather than patch Python's parser, this
module parses the pattern the way Go's ``regexp/syntax`` does (same
grammar, same limits, same ``error parsing regexp: <code>: `<expr>```
texts) and writes an equivalent Python pattern in which every Go rule is
explicit:

* character classes (``[[:alpha:]]``, ``\\pL``, ``\\p{Greek}``,
  ``\\P{^Lu}``, ``\\d``…) are computed as code point ranges, case-folded
  like Go when ``(?i)`` is on, and emitted as plain ranges;
* ``^``/``$``/``.`` follow Go's defaults (``$`` is end of text, not "before
  a final newline") and the ``(?imsU)`` flags, including ``(?U)``'s swap
  of greedy and lazy repetition;
* ``\\b`` and the Perl classes are ASCII, as in Go;
* capture groups are unnamed on the Python side; :class:`GoRegexp` keeps
  Go's names (which may repeat or start with a digit) for ``$name``.

Unicode data comes from ``unicodedata`` (categories) and
:mod:`unicode_scripts` (scripts), Unicode 14.0; Go 1.25 uses 15.0.
"""

import contextvars
import re
import unicodedata

from kapacitord_tw.tick.unicode_scripts import SCRIPTS, script_ranges

MAX_RUNE = 0x10FFFF
MAX_REPEAT = 1000
MAX_HEIGHT = 1000
_MIN_FOLD, _MAX_FOLD = 0x41, 0x1E943


class RegexError(ValueError):
    pass


def _error(code, expr):
    return RegexError("error parsing regexp: %s: `%s`" % (code, expr))


#: Set while a constant expression is evaluated at define time.
CONSTANT_EVALUATION = contextvars.ContextVar("tick_constant_evaluation", default=False)


class GoRegexp:
    """A compiled Go regexp: the Python pattern plus Go's capture names."""

    __slots__ = ("pattern", "python", "group_names", "nested_repetition")

    def __init__(self, pattern, python, group_names, nested_repetition=False):
        self.pattern = pattern          # the Go source
        self.python = python            # compiled ``re.Pattern``
        self.group_names = group_names  # Go name (or "") per group 1..n
        #: An unbounded repetition of something that itself repeats or
        #: alternates, e.g. ``(a+)+`` or ``(a|aa)*``: Python's backtracking
        #: engine can take exponential time on it, Go's RE2 cannot.
        self.nested_repetition = nested_repetition

    def check_constant_safe(self):
        """Refuse to run a pattern that may backtrack exponentially while a
        task is being defined: the reactor would be held for seconds."""
        if self.nested_repetition and CONSTANT_EVALUATION.get():
            raise RegexError(
                "refusing to evaluate /%s/ in a constant expression: its nested "
                "repetition can take exponential time" % self.pattern)

    def search(self, text, pos=0):
        return self.python.search(text, pos)

    def match(self, text, pos=0):
        return self.python.match(text, pos)

    def fullmatch(self, text, pos=0):
        return self.python.fullmatch(text, pos)

    def finditer(self, text, pos=0):
        return self.python.finditer(text, pos)

    def named_group(self, match, name):
        """Go's ``$name`` expansion: the first participating group so named,
        or a numbered group; "" when there is none."""
        if name.isdigit():
            index = int(name)
            if index <= len(self.group_names):
                return match.group(index) or ""
            return ""
        for index, group_name in enumerate(self.group_names, 1):
            if group_name == name and match.group(index) is not None:
                return match.group(index)
        return ""


# -- code point sets -------------------------------------------------------
def _clean(ranges):
    ranges = sorted(ranges, key=lambda r: (r[0], -r[1]))
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


_ORBITS = None


def _orbits():
    """Simple case-folding orbits ({K, k, KELVIN SIGN}…) by code point."""
    global _ORBITS
    if _ORBITS is None:
        parent = {}

        def find(c):
            while parent.get(c, c) != c:
                c = parent[c]
            return c

        for cp in range(_MIN_FOLD, _MAX_FOLD + 1):
            ch = chr(cp)
            for other in (ch.lower(), ch.upper()):
                if len(other) == 1 and other != ch:
                    a, b = find(cp), find(ord(other))
                    if a != b:
                        parent[a] = b
        groups = {}
        for cp in list(parent):
            groups.setdefault(find(cp), set()).add(cp)
        orbits = {}
        for root, members in groups.items():
            members.add(root)
            for cp in members:
                orbits[cp] = members
        _ORBITS = orbits
    return _ORBITS


def _fold(ranges):
    """Add every case variant, as Go's ``appendFoldedRange`` does."""
    orbits = _orbits()
    out = list(ranges)
    for lo, hi in ranges:
        for cp in range(max(lo, _MIN_FOLD), min(hi, _MAX_FOLD) + 1):
            for other in orbits.get(cp, ()):
                out.append((other, other))
    return _clean(out)


_PERL = {
    "d": [(0x30, 0x39)],
    "s": [(0x9, 0xA), (0xC, 0xD), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}

_POSIX = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x0, 0x7F)],
    "blank": [(0x9, 0x9), (0x20, 0x20)],
    "cntrl": [(0x0, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x9, 0xD), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}

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


def _categories():
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


def _category_ranges(name):
    table = _categories()
    parts = _MAJOR.get(name, (name,))
    ranges = []
    for part in parts:
        ranges.extend(table.get(part, ()))
    return _clean(ranges)


def _canonical(name):
    """Go's ``canonicalName``: first letter upper, rest lower, no ``_ -``."""
    out = []
    for ch in name:
        if ch in "_- ":
            continue
        out.append(ch.upper() if not out and "a" <= ch <= "z" else
                   ch.lower() if out and "A" <= ch <= "Z" else ch)
    return "".join(out)


_KNOWN_CATEGORIES = set(_MAJOR) | {
    "Cc", "Cf", "Cn", "Co", "Cs", "Ll", "Lm", "Lo", "Lt", "Lu", "Mc", "Me",
    "Mn", "Nd", "Nl", "No", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "Sc",
    "Sk", "Sm", "So", "Zl", "Zp", "Zs"}
_CANONICAL_SCRIPTS = {_canonical(name): name for name in SCRIPTS}
_CANONICAL_ALIASES = {_canonical(k): v for k, v in _CATEGORY_ALIASES.items()}


def _unicode_table(name):
    """``unicodeTable``: (ranges, sign) or (None, 0) for unknown names."""
    name = _canonical(name)
    if name == "Any":
        return [(0, MAX_RUNE)], 1
    if name == "Assigned":
        return _category_ranges("Cn"), -1
    if name == "Ascii":
        return [(0, 0x7F)], 1
    if name == "Lc":
        return _category_ranges("LC"), 1
    if name in _KNOWN_CATEGORIES:
        return _category_ranges(name), 1
    if name in _CANONICAL_SCRIPTS:
        return script_ranges(_CANONICAL_SCRIPTS[name]), 1
    if name in _CANONICAL_ALIASES:
        return _category_ranges(_CANONICAL_ALIASES[name]), 1
    return None, 0


def _char_escape(cp):
    if cp < 0x100:
        return "\\x%02x" % cp
    if cp < 0x10000:
        return "\\u%04x" % cp
    return "\\U%08x" % cp


def _class_text(ranges):
    ranges = _clean(ranges)
    if not ranges:
        return "(?!)"
    if ranges == [(0, MAX_RUNE)]:
        return "(?s:.)"
    parts = []
    for lo, hi in ranges:
        parts.append(_char_escape(lo) if lo == hi else
                     "%s-%s" % (_char_escape(lo), _char_escape(hi)))
    return "[%s]" % "".join(parts)


# -- the parser / translator -----------------------------------------------
class _Flags:
    __slots__ = ("fold", "one_line", "dot_nl", "non_greedy")

    def __init__(self, fold=False, one_line=True, dot_nl=False,
                 non_greedy=False):
        self.fold = fold
        self.one_line = one_line
        self.dot_nl = dot_nl
        self.non_greedy = non_greedy

    def copy(self):
        return _Flags(self.fold, self.one_line, self.dot_nl, self.non_greedy)


class _Item:
    """One operand on the current alternative: Python text + the product of
    counted repetitions inside it (Go's ``repeatIsValid``)."""

    __slots__ = ("text", "weight", "repeats")

    def __init__(self, text, weight=1, repeats=False):
        self.text = text
        self.weight = weight
        #: Contains an unbounded repetition or an alternation.
        self.repeats = repeats


class _Frame:
    def __init__(self, opener, restore, capture):
        self.opener = opener      # Python text opening the group
        self.restore = restore    # flags to restore at ')'
        self.capture = capture
        self.alternatives = [[]]


class _Translator:
    def __init__(self, pattern):
        self.whole = pattern
        self.flags = _Flags()
        self.frames = [_Frame("", None, False)]
        self.group_names = []
        self.nested_repetition = False

    # stack helpers
    @property
    def items(self):
        return self.frames[-1].alternatives[-1]

    def push(self, text, weight=1):
        self.items.append(_Item(text, weight))

    def push_ranges(self, ranges):
        self.push(_class_text(ranges))

    def literal(self, ch):
        if self.flags.fold:
            self.push_ranges(_fold([(ord(ch), ord(ch))]))
        else:
            self.push(re.escape(ch))

    # main loop (Go's ``parse``)
    def translate(self):
        t = self.whole
        last_repeat = ""
        while t:
            repeat = ""
            c = t[0]
            if c == "(":
                if len(t) >= 2 and t[1] == "?":
                    t = self.perl_flags(t)
                else:
                    self.open_group("(", True, None)
                    t = t[1:]
            elif c == "|":
                self.frames[-1].alternatives.append([])
                t = t[1:]
            elif c == ")":
                self.close_group()
                t = t[1:]
            elif c == "^":
                self.push("\\A" if self.flags.one_line else "(?m:^)")
                t = t[1:]
            elif c == "$":
                self.push("\\Z" if self.flags.one_line else "(?m:$)")
                t = t[1:]
            elif c == ".":
                self.push("(?s:.)" if self.flags.dot_nl else ".")
                t = t[1:]
            elif c == "[":
                t = self.parse_class(t)
            elif c in "*+?":
                before = t
                t = self.repeat(c, None, None, before, t[1:], last_repeat)
                repeat = before
            elif c == "{":
                before = t
                parsed = _parse_repeat(t)
                if parsed is None:
                    self.literal("{")
                    t = t[1:]
                else:
                    lo, hi, after = parsed
                    if lo < 0 or lo > MAX_REPEAT or hi > MAX_REPEAT or \
                            (hi >= 0 and lo > hi):
                        raise _error("invalid repeat count",
                                     before[:len(before) - len(after)])
                    t = self.repeat("{", lo, hi, before, after, last_repeat)
                    repeat = before
            elif c == "\\":
                t = self.escape(t)
            else:
                self.literal(c)
                t = t[1:]
            last_repeat = repeat
        if len(self.frames) != 1:
            raise _error("missing closing )", self.whole)
        return self.alternation(self.frames[0])

    @staticmethod
    def alternation(frame):
        texts = ["".join(item.text for item in alt)
                 for alt in frame.alternatives]
        return "|".join(texts)

    @staticmethod
    def weight(frame):
        return max([1] + [item.weight for alt in frame.alternatives
                          for item in alt])

    def open_group(self, opener, capture, name):
        if capture:
            self.group_names.append(name or "")
        if len(self.frames) > MAX_HEIGHT:
            raise _error("expression nests too deeply", self.whole)
        self.frames.append(_Frame(opener, self.flags.copy(), capture))

    def close_group(self):
        if len(self.frames) < 2:
            raise _error("unexpected )", self.whole)
        frame = self.frames.pop()
        self.flags = frame.restore
        repeats = len(frame.alternatives) > 1 or any(
            item.repeats for alt in frame.alternatives for item in alt)
        self.items.append(_Item("%s%s)" % ("(" if frame.capture else "(?:",
                                           self.alternation(frame)),
                                self.weight(frame), repeats))

    def perl_flags(self, s):
        """``parsePerlFlags``: named captures, ``(?flags)``, ``(?flags:``."""
        starts_p = len(s) > 4 and s[2] == "P" and s[3] == "<"
        starts_name = len(s) > 3 and s[2] == "<"
        if starts_p or starts_name:
            begin = 4 if starts_p else 3
            end = s.find(">")
            if end < 0:
                raise _error("invalid named capture", s)
            name = s[begin:end]
            if not name or not all(ch == "_" or (ch.isascii() and
                                                 ch.isalnum())
                                   for ch in name):
                raise _error("invalid named capture", s[:end + 1])
            self.open_group("(", True, name)
            return s[end + 1:]
        flags = self.flags.copy()
        negative = False
        saw_flag = False
        i = 2
        while i < len(s):
            ch = s[i]
            i += 1
            if ch in "imsU":
                value = not negative
                if ch == "i":
                    flags.fold = value
                elif ch == "m":
                    flags.one_line = not value
                elif ch == "s":
                    flags.dot_nl = value
                else:
                    flags.non_greedy = value
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
                    self.open_group("(?:", False, None)
                self.flags = flags
                return s[i:]
            else:
                break
        raise _error("invalid or unsupported Perl syntax", s[:i])

    def repeat(self, op, lo, hi, before, after, last_repeat):
        non_greedy = self.flags.non_greedy
        if after.startswith("?"):
            after = after[1:]
            non_greedy = not non_greedy
        if last_repeat:
            raise _error("invalid nested repetition operator",
                         last_repeat[:len(last_repeat) - len(after)])
        if not self.items:
            raise _error("missing argument to repetition operator",
                         before[:len(before) - len(after)])
        item = self.items[-1]
        if op == "{":
            quant = "{%d}" % lo if hi == lo else (
                "{%d,}" % lo if hi < 0 else "{%d,%d}" % (lo, hi))
            # Go's repeatIsValid: the product of counts along any path
            # must stay within 1000; {0} ends a path, {0,} is neutral.
            count = hi if hi > 0 else lo
            if hi == 0:
                weight = 1
            else:
                weight = item.weight * count if count > 0 else item.weight
            if (lo >= 2 or hi >= 2) and weight > MAX_REPEAT:
                raise _error("invalid repeat count",
                             before[:len(before) - len(after)])
        else:
            quant = op
            weight = item.weight
        unbounded = op in "*+" or (op == "{" and hi < 0)
        if unbounded and item.repeats:
            self.nested_repetition = True
        if non_greedy:
            quant += "?"
        self.items[-1] = _Item("(?:%s)%s" % (item.text, quant), weight,
                               item.repeats or unbounded)
        return after

    # escapes outside classes
    def escape(self, t):
        if len(t) >= 2:
            c = t[1]
            if c == "A":
                self.push("\\A")
                return t[2:]
            if c == "b":
                self.push("\\b")
                return t[2:]
            if c == "B":
                # Python's \B never matches in an empty string; Go's does.
                self.push("(?:\\B|\\A\\Z)")
                return t[2:]
            if c == "C":
                raise _error("invalid escape sequence", t[:2])
            if c == "Q":
                lit, _, rest = t[2:].partition("\\E")
                for ch in lit:
                    self.literal(ch)
                return rest
            if c == "z":
                self.push("\\Z")
                return t[2:]
            if c in "pP":
                ranges, rest = self.unicode_class(t)
                self.push_ranges(ranges)
                return rest
            perl = self.perl_class(t)
            if perl is not None:
                self.push_ranges(perl)
                return t[2:]
        ch, rest = _parse_escape(t)
        self.literal(ch)
        return rest

    def perl_class(self, t):
        name = t[1:2]
        if name.lower() not in _PERL or len(t) < 2:
            return None
        ranges = _PERL[name.lower()]
        if self.flags.fold:
            ranges = _fold(ranges)
        return _negate(ranges) if name.isupper() else ranges

    def unicode_class(self, s):
        """``parseUnicodeClass`` for ``\\pL``, ``\\p{Greek}``, ``\\P{^Lu}``."""
        sign = -1 if s[1] == "P" else 1
        if len(s) < 3:
            seq, name, rest = s[:2], "", ""
        elif s[2] != "{":
            seq, name, rest = s[:3], s[2], s[3:]
        else:
            end = s.find("}")
            if end < 0:
                raise _error("invalid character class range", s)
            seq, name, rest = s[:end + 1], s[3:end], s[end + 1:]
        if name.startswith("^"):
            sign = -sign
            name = name[1:]
        table, table_sign = _unicode_table(name)
        if table is None:
            raise _error("invalid character class range", seq)
        if table_sign < 0:
            sign = -sign
        if self.flags.fold:
            table = _fold(table)
        return (table if sign > 0 else _negate(table)), rest

    def parse_class(self, s):
        """``parseClass``: a bracketed class, returning the rest."""
        t = s[1:]
        negated = t.startswith("^")
        if negated:
            t = t[1:]
        ranges = []
        first = True
        while not t or t[0] != "]" or first:
            first = False
            if len(t) > 2 and t[0] == "[" and t[1] == ":":
                end = t.find(":]", 2)
                if end >= 0:
                    name = t[:end + 2]
                    group = name[2:-2]
                    sign = 1
                    if group.startswith("^"):
                        sign, group = -1, group[1:]
                    table = _POSIX.get(group)
                    if table is None:
                        raise _error("invalid character class range", name)
                    if self.flags.fold:
                        table = _fold(table)
                    ranges.extend(table if sign > 0 else _negate(table))
                    t = t[end + 2:]
                    continue
            if len(t) >= 2 and t[0] == "\\" and t[1] in "pP":
                table, t = self.unicode_class(t)
                ranges.extend(table)
                continue
            if len(t) >= 2 and t[0] == "\\":
                perl = self.perl_class(t)
                if perl is not None:
                    ranges.extend(perl)
                    t = t[2:]
                    continue
            start = t
            lo, t = _class_char(t, s)
            hi = lo
            if len(t) >= 2 and t[0] == "-" and t[1] != "]":
                hi, t = _class_char(t[1:], s)
                if ord(hi) < ord(lo):
                    raise _error("invalid character class range",
                                 start[:len(start) - len(t)])
            if self.flags.fold:
                ranges.extend(_fold([(ord(lo), ord(hi))]))
            else:
                ranges.append((ord(lo), ord(hi)))
        t = t[1:]
        ranges = _clean(ranges)
        self.push_ranges(_negate(ranges) if negated else ranges)
        return t


def _parse_int(s):
    if not s or not "0" <= s[0] <= "9":
        return None
    if len(s) >= 2 and s[0] == "0" and "0" <= s[1] <= "9":
        return None
    end = 0
    while end < len(s) and "0" <= s[end] <= "9":
        end += 1
    digits = s[:end]
    value = int(digits) if len(digits) <= 9 else -1
    if value >= 10 ** 9:
        value = -1
    return value, s[end:]


def _parse_repeat(s):
    """``parseRepeat``: (min, max, rest) for ``{n}``, ``{n,}``, ``{n,m}``
    or None when ``{`` is a literal; min is -1 for huge numbers."""
    parsed = _parse_int(s[1:])
    if parsed is None:
        return None
    lo, s = parsed
    if not s:
        return None
    if s[0] != ",":
        hi = lo
    else:
        s = s[1:]
        if not s:
            return None
        if s[0] == "}":
            hi = -1
        else:
            parsed = _parse_int(s)
            if parsed is None:
                return None
            hi, s = parsed
            if hi < 0:
                lo = -1
    if not s or s[0] != "}":
        return None
    return lo, hi, s[1:]


_C_ESCAPES = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
              "v": "\v"}


def _parse_escape(s):
    """``parseEscape``: one escaped character -> (char, rest)."""
    t = s[1:]
    if not t:
        raise _error("trailing backslash at end of expression", "")
    c, t = t[0], t[1:]
    if c < "\x80" and not c.isalnum():
        return c, t
    if c in "1234567" and (not t or not "0" <= t[0] <= "7"):
        raise _error("invalid escape sequence", s[:len(s) - len(t)])
    if c in "01234567":
        value = int(c)
        for _ in range(2):
            if not t or not "0" <= t[0] <= "7":
                break
            value = value * 8 + int(t[0])
            t = t[1:]
        return chr(value), t
    if c == "x" and t:
        c, t = t[0], t[1:]
        if c == "{":
            digits = 0
            value = 0
            while True:
                if not t:
                    raise _error("invalid escape sequence",
                                 s[:len(s) - len(t)])
                c, t = t[0], t[1:]
                if c == "}":
                    break
                if c not in "0123456789abcdefABCDEF":
                    raise _error("invalid escape sequence",
                                 s[:len(s) - len(t)])
                value = value * 16 + int(c, 16)
                if value > MAX_RUNE:
                    raise _error("invalid escape sequence",
                                 s[:len(s) - len(t)])
                digits += 1
            if digits == 0:
                raise _error("invalid escape sequence", s[:len(s) - len(t)])
            return chr(value), t
        c2, t = (t[0], t[1:]) if t else ("", t)
        if c in "0123456789abcdefABCDEF" and c2 and \
                c2 in "0123456789abcdefABCDEF":
            return chr(int(c + c2, 16)), t
        raise _error("invalid escape sequence", s[:len(s) - len(t)])
    if c in _C_ESCAPES:
        return _C_ESCAPES[c], t
    raise _error("invalid escape sequence", s[:len(s) - len(t)])


def _class_char(s, whole_class):
    if not s:
        raise _error("missing closing ]", whole_class)
    if s[0] == "\\":
        return _parse_escape(s)
    return s[0], s[1:]


_CACHE = {}


def compile_go_regex(pattern):
    """Compile a Go regexp; raises :class:`RegexError` with Go's wording."""
    cached = _CACHE.get(pattern)
    if cached is not None:
        return cached
    translator = _Translator(pattern)
    text = translator.translate()
    try:
        python = re.compile(text, re.ASCII)
    except (re.error, RecursionError, OverflowError):
        raise _error("expression too large", pattern) from None
    compiled = GoRegexp(pattern, python, tuple(translator.group_names),
                        translator.nested_repetition)
    if len(_CACHE) < 512:
        _CACHE[pattern] = compiled
    return compiled


def translate(pattern):
    """The Python ``re`` text a Go pattern becomes (for tests/debugging)."""
    return _Translator(pattern).translate()
