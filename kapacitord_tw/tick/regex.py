"""Go (RE2) regular expressions on top of Python's ``re``.

TICKscript regexes are Go regexps.  Most syntax is shared; this module
translates the RE2 spellings Python lacks (``\\z``, ``\\Q...\\E``, POSIX
classes such as ``[[:alpha:]]``, the common ``\\pL``/``\\p{Lu}`` classes),
rejects what RE2 rejects but Python would accept (look-arounds,
back-references) and reports errors in Go's ``error parsing regexp: ...``
form.
"""

import re
import warnings

_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7F",
    "blank": "\\t ", "cntrl": "\\x00-\\x1F\\x7F", "digit": "0-9",
    "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}

# Unicode classes expressible with Python's ``re`` (approximations for the
# letter classes: Python has no case-specific letter class).
_UNICODE = {
    "L": "[^\\W\\d_]", "N": "\\d", "Nd": "\\d",
    "Lu": "[^\\W\\d_]", "Ll": "[^\\W\\d_]",
}

_PERL_UNSUPPORTED = ("(?=", "(?!", "(?<=", "(?<!")


class RegexError(ValueError):
    pass


def _error(code, expr):
    return RegexError("error parsing regexp: %s: `%s`" % (code, expr))


def _translate(pattern):
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "z":
                out.append("\\Z")
            elif nxt == "Q":
                end = pattern.find("\\E", i + 2)
                end = len(pattern) if end == -1 else end
                out.append(re.escape(pattern[i + 2:end]))
                i = end + 2
                continue
            elif nxt == "0" or (nxt in "1234567"
                                and pattern[i + 2:i + 3] in tuple("01234567")):
                # RE2 octal escape (up to three digits); "\\1" alone is a
                # back-reference, which RE2 rejects.
                digits = re.match(r"[0-7]{1,3}", pattern[i + 1:]).group()
                code = int(digits, 8)
                out.append("\\x%02x" % code if code < 256 else
                           "\\u%04x" % code)
                i += 1 + len(digits)
                continue
            elif nxt in "123456789":
                raise _error("invalid escape sequence", pattern[i:i + 2])
            elif nxt == "p" or nxt == "P":
                if pattern.startswith("{", i + 2):
                    end = pattern.find("}", i + 3)
                    name = pattern[i + 3:end] if end != -1 else None
                    span = end + 1 if end != -1 else len(pattern)
                else:
                    name = pattern[i + 2:i + 3]
                    span = i + 3
                if name not in _UNICODE:
                    raise _error("invalid character class range",
                                 pattern[i:span])
                cls = _UNICODE[name]
                if nxt == "P":
                    cls = "(?:(?!%s)(?s:.))" % cls
                out.append(cls)
                i = span
                continue
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "(":
            for prefix in _PERL_UNSUPPORTED:
                if pattern.startswith(prefix, i):
                    raise _error("invalid or unsupported Perl syntax", prefix)
        if ch == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            if end != -1:
                cls = _POSIX.get(pattern[i + 2:end])
                if cls is not None:
                    out.append(cls)
                    i = end + 2
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def compile_go_regex(pattern):
    """Compile a Go regexp; raises :class:`RegexError` with Go's wording."""
    translated = _translate(pattern)
    try:
        with warnings.catch_warnings():
            # Python warns about constructs RE2 reads literally ("[[").
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(translated)
    except re.error as exc:
        raise _error(_go_reason(exc), pattern) from None


def _go_reason(exc):
    msg = exc.msg
    if msg.startswith("missing ), unterminated subpattern"):
        return "missing closing )"
    if msg.startswith("unbalanced parenthesis"):
        return "unexpected )"
    if msg.startswith("unterminated character set"):
        return "missing closing ]"
    if msg.startswith(("nothing to repeat", "multiple repeat")):
        return "missing argument to repetition operator"
    if msg.startswith("bad escape"):
        return "invalid escape sequence"
    return msg
