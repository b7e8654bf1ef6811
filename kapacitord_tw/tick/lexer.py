"""TICKscript lexer.

Mirrors the state machine of Kapacitor's lexer, including its quirks
(``-`` is always lexed as a unary minus at token start, a ``/`` after a
value is division but at token start is a regex, ``lambda`` is only a
keyword when directly followed by ``:``), because those quirks decide
which scripts are valid and where errors are reported.
"""

import enum
import unicodedata

import attr


class T(enum.IntEnum):
    """Token types, ordered so operator ranges can be tested numerically."""

    ERROR = 0
    EOF = 1
    VAR = 2
    DBRP = 3
    ASGN = 4
    DOT = 5
    PIPE = 6
    AT = 7
    IDENT = 8
    REFERENCE = 9
    LAMBDA = 10
    NUMBER = 11
    STRING = 12
    DURATION = 13
    LPAREN = 14
    RPAREN = 15
    LSBRACKET = 16
    RSBRACKET = 17
    COMMA = 18
    NOT = 19
    TRUE = 20
    FALSE = 21
    REGEX = 22
    COMMENT = 23
    STAR = 24
    # operators
    PLUS = 30
    MINUS = 31
    MULT = 32
    DIV = 33
    MOD = 34
    AND = 40
    OR = 41
    EQUAL = 50
    NOT_EQUAL = 51
    LESS = 52
    GREATER = 53
    LESS_EQUAL = 54
    GREATER_EQUAL = 55
    REGEX_EQUAL = 56
    REGEX_NOT_EQUAL = 57


OPERATOR_TEXT = {
    T.NOT: "!",
    T.PLUS: "+",
    T.MINUS: "-",
    T.MULT: "*",
    T.DIV: "/",
    T.MOD: "%",
    T.EQUAL: "==",
    T.NOT_EQUAL: "!=",
    T.LESS: "<",
    T.GREATER: ">",
    T.LESS_EQUAL: "<=",
    T.GREATER_EQUAL: ">=",
    T.REGEX_EQUAL: "=~",
    T.REGEX_NOT_EQUAL: "!~",
    T.AND: "AND",
    T.OR: "OR",
}
TEXT_TO_OPERATOR = {text: typ for typ, text in OPERATOR_TEXT.items()}

_NAMES = {
    T.ERROR: "ERR",
    T.EOF: "EOF",
    T.VAR: "var",
    T.DBRP: "dbrp",
    T.IDENT: "identifier",
    T.REFERENCE: "reference",
    T.DURATION: "duration",
    T.LAMBDA: "lambda",
    T.NUMBER: "number",
    T.STRING: "string",
    T.REGEX: "regex",
    T.COMMENT: "//",
    T.STAR: "*",
    T.DOT: ".",
    T.PIPE: "|",
    T.AT: "@",
    T.ASGN: "=",
    T.LPAREN: "(",
    T.RPAREN: ")",
    T.LSBRACKET: "[",
    T.RSBRACKET: "]",
    T.COMMA: ",",
    T.NOT: "!",
    T.TRUE: "TRUE",
    T.FALSE: "FALSE",
}

KEYWORDS = {
    "AND": T.AND,
    "OR": T.OR,
    "TRUE": T.TRUE,
    "FALSE": T.FALSE,
    "var": T.VAR,
    "dbrp": T.DBRP,
    "lambda": T.LAMBDA,
}

DURATION_UNITS = "uµsmhdw"


def token_name(typ):
    """The token's display name, as used in parser error messages."""
    if typ in _NAMES:
        return _NAMES[typ]
    if is_expr_operator(typ):
        return OPERATOR_TEXT[typ]
    return str(int(typ))


def is_expr_operator(typ):
    return T.PLUS <= typ <= T.REGEX_NOT_EQUAL


def is_math_operator(typ):
    return T.PLUS <= typ <= T.MOD


def is_comp_operator(typ):
    return T.EQUAL <= typ <= T.REGEX_NOT_EQUAL


def is_logical_operator(typ):
    return typ in (T.AND, T.OR)


@attr.s(frozen=True, slots=True)
class Token:
    typ = attr.ib()
    pos = attr.ib()  # character offset into the script
    val = attr.ib()


#: What the parser sees once the lexer has stopped (Go's zero token).
ZERO_TOKEN = Token(T.ERROR, 0, "")

_EOF = ""


def go_quote_rune(ch):
    """Format a character the way Go's ``%q`` formats a rune."""
    if ch == _EOF:
        return "'\\uffffffff'" if False else "%!q(int32=-1)"
    special = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", "\\": "\\\\", "'": "\\'"}
    if ch in special:
        return "'%s'" % special[ch]
    if ch.isprintable():
        return "'%s'" % ch
    code = ord(ch)
    if code < 0x80:
        return "'\\x%02x'" % code
    if code <= 0xFFFF:
        return "'\\u%04x'" % code
    return "'\\U%08x'" % code


def _is_space(ch):
    # unicode.IsSpace
    return ch != _EOF and (ch in "\t\n\v\f\r \x85\xa0" or
                           (ord(ch) > 0xFF and ch.isspace()))


def _is_letter(ch):
    return ch != _EOF and unicodedata.category(ch).startswith("L")


def _is_digit(ch):
    return ch != _EOF and unicodedata.category(ch) == "Nd"


def _is_ident(ch):
    return _is_digit(ch) or _is_letter(ch) or ch == "_"


class _Lexer:
    def __init__(self, text):
        self.text = text
        self.start = 0
        self.pos = 0
        self.width = 0
        self.tokens = []
        self.done = False

    # -- primitives -------------------------------------------------------
    def next(self):
        if self.pos >= len(self.text):
            self.width = 0
            return _EOF
        ch = self.text[self.pos]
        self.width = 1
        self.pos += 1
        return ch

    def backup(self):
        self.pos -= self.width

    def peek(self):
        ch = self.next()
        self.backup()
        return ch

    def current(self):
        return self.text[self.start:self.pos]

    def ignore(self):
        self.start = self.pos

    def ignore_space(self):
        while _is_space(self.next()):
            self.ignore()
        self.backup()

    def emit(self, typ):
        self.tokens.append(Token(typ, self.start, self.current()))
        self.start = self.pos

    def errorf(self, message):
        self.tokens.append(Token(T.ERROR, self.start, message))
        return None

    def run(self):
        state = self.lex_token
        while state is not None:
            state = state()
        return self.tokens

    # -- states -----------------------------------------------------------
    def lex_token(self):
        while True:
            r = self.next()
            if r in ("-", "!"):
                self.backup()
                return self.lex_unary_operator
            if _is_digit(r) or r == ".":
                self.backup()
                return self.lex_number_or_duration_or_dot
            if _is_letter(r):
                return self.lex_ident_or_keyword
            if r == '"':
                return self.lex_reference
            if r == "'":
                self.backup()
                return self.lex_single_or_triple_string
            if _is_space(r):
                self.ignore()
                continue
            simple = {"(": T.LPAREN, "[": T.LSBRACKET, "]": T.RSBRACKET,
                      "|": T.PIPE, "@": T.AT, ",": T.COMMA, "*": T.STAR}
            if r in simple:
                self.emit(simple[r])
                return self.lex_token
            if r == ")":
                self.emit(T.RPAREN)
                return self.try_lex_binary_operator
            if r == "/":
                self.backup()
                if self.text[self.pos + 1:self.pos + 2] == "/":
                    return self.lex_comment
                return self.lex_regex
            if r == _EOF:
                self.emit(T.EOF)
                return None
            self.errorf("unknown state, last char: %s" % go_quote_rune(r))
            return None

    def lex_unary_operator(self):
        c = self.next()
        if c in ("-", "!"):
            self.emit(TEXT_TO_OPERATOR[self.current()])
            return self.lex_token
        return self.errorf("unexpected unary operator char %s"
                           % go_quote_rune(c))

    def try_lex_binary_operator(self):
        self.ignore_space()
        r = self.next()
        if r in ("+", "-", "*", "%"):
            self.emit(TEXT_TO_OPERATOR[self.current()])
            return self.lex_token
        if r == "/":
            if self.peek() == "/":
                self.backup()
                return self.lex_comment
            self.emit(T.DIV)
            return self.lex_token
        if r == "!":
            if self.peek() in ("=", "~"):
                self.next()
            op = TEXT_TO_OPERATOR[self.current()]
            self.emit(op)
            if op == T.REGEX_NOT_EQUAL:
                self.ignore_space()
                if self.peek() == "/":
                    return self.lex_regex
            return self.lex_token
        if r in (">", "<"):
            if self.peek() == "=":
                self.next()
            self.emit(TEXT_TO_OPERATOR[self.current()])
            return self.lex_token
        if r == "=":
            if self.peek() in ("~", "="):
                self.next()
                op = TEXT_TO_OPERATOR[self.current()]
                self.emit(op)
                if op == T.REGEX_EQUAL:
                    self.ignore_space()
                    if self.peek() == "/":
                        return self.lex_regex
            else:
                self.emit(T.ASGN)
                self.ignore_space()
                if self.peek() == "/":
                    return self.lex_regex
            return self.lex_token
        self.backup()
        return self.lex_token

    def lex_ident_or_keyword(self):
        while _is_ident(self.next()):
            pass
        self.backup()
        typ = KEYWORDS.get(self.current())
        if typ is None:
            self.emit(T.IDENT)
        elif typ == T.LAMBDA and self.next() != ":":
            # 'lambda' is a valid identifier unless followed by ':'.
            self.backup()
            self.emit(T.IDENT)
        else:
            self.emit(typ)
        return self.try_lex_binary_operator

    def lex_number_or_duration_or_dot(self):
        found_decimal = False
        first = True
        while True:
            r = self.next()
            if r == ".":
                if first and not _is_digit(self.peek()):
                    self.emit(T.DOT)
                    return self.lex_token
                if found_decimal:
                    return self.errorf("multiple decimals in number")
                found_decimal = True
            elif _is_digit(r):
                pass
            elif not found_decimal and r != _EOF and r in DURATION_UNITS:
                if r == "m" and self.peek() == "s":
                    self.next()
                self.emit(T.DURATION)
                return self.try_lex_binary_operator
            else:
                self.backup()
                self.emit(T.NUMBER)
                return self.try_lex_binary_operator
            first = False

    def lex_reference(self):
        while True:
            r = self.next()
            if r == "\\":
                if self.peek() == '"':
                    self.next()
            elif r == '"':
                self.emit(T.REFERENCE)
                return self.try_lex_binary_operator
            elif r == _EOF:
                return self.errorf("unterminated field reference")

    def lex_single_or_triple_string(self):
        count = 0
        while True:
            r = self.next()
            if r != "'":
                return self.errorf("unterminated string")
            count += 1
            if count == 1 and self.peek() == "'":
                # empty '' string, or the start of '''
                count += 1
                self.next()
                if self.peek() == "'":
                    count += 1
                    self.next()
                else:
                    self.emit(T.STRING)
                    return self.try_lex_binary_operator
            if (count == 1 and self.peek() != "'") or count == 3:
                total = count
                while True:
                    r = self.next()
                    if r == "\\" and count == 1:
                        if self.peek() == "'":
                            self.next()
                    elif r == "'":
                        count -= 1
                        if count == 0:
                            self.emit(T.STRING)
                            return self.try_lex_binary_operator
                    elif r == _EOF:
                        return self.errorf("unterminated string")
                    else:
                        count = total

    def lex_regex(self):
        n = self.next()
        if n != "/":
            return self.errorf('unexpected "%s" expected "/"' % n)
        while True:
            r = self.next()
            if r == "\\":
                if self.peek() == "/":
                    self.next()
            elif r == "/":
                self.emit(T.REGEX)
                return self.lex_token
            elif r == _EOF:
                return self.errorf("unterminated regex")

    def lex_comment(self):
        if self.peek() != "/":
            return self.errorf("invalid character '/'")
        self.next()
        while True:
            r = self.next()
            if r == "\n":
                # absorb indentation; a following '//' continues the block
                n = self.next()
                while n != "\n" and _is_space(n):
                    n = self.next()
                if n == "/":
                    continue
                self.backup()
                self.emit(T.COMMENT)
                return self.lex_token
            if r == _EOF:
                self.emit(T.COMMENT)
                return self.lex_token


def lex(text):
    """Return the list of tokens; the last one is EOF or ERROR."""
    return _Lexer(text).run()
