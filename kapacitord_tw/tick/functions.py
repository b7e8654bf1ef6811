"""The built-in functions of TICKscript expressions (``abs``, ``if``...).

Each function has Kapacitor's signature table (argument types -> result
type), which the engine checks before calling, and a body with Go's
semantics: strings are measured and indexed in UTF-8 bytes, maths never
raises (NaN/Inf instead), conversions use ``strconv``'s rules and error
texts.  ``sigma``, ``count``, ``spread`` and ``rand`` keep state, so every
expression gets fresh instances from :func:`new_functions`.
"""

import datetime
import math

from kapacitord_tw.gocompat import underscore_ok
from kapacitord_tw.tick import bessel
from kapacitord_tw.tick.durations import (
    Duration, InvalidDuration, format_duration, parse_duration)
from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.tick.mwc import MWC
from kapacitord_tw.tick.gonum import (
    GoRuntimeError, float_to_int64, format_float_f, format_v, wrap_int64)
from kapacitord_tw.tick.values import (
    Missing, T_BOOL, T_DURATION, T_FLOAT, T_INT, T_MISSING,
    T_REGEX, T_STRING, T_TIME, go_type_of)

MAX_ARGS = 4


class FuncError(Exception):
    """A function body rejected its arguments (``error calling "f": …``)."""


class Func:
    """A callable with a Kapacitor signature table."""

    def __init__(self, name, signature, body):
        self.name = name
        self.signature = signature  # {(arg types...): result type}, ordered
        self.body = body

    def call(self, args):
        return self.body(*args)

    def domains_text(self):
        """``FuncDomains(f)`` as Kapacitor prints it: ``[(float), (int)]``."""
        return "[%s]" % ", ".join("(%s)" % ",".join(d)
                                  for d in self.signature)


def _sig(*pairs):
    return dict(pairs)


# -- maths ------------------------------------------------------------------
def _safe(fn, on_domain=math.nan):
    """Wrap a ``math`` function so it returns IEEE results like Go's."""
    def call(*args):
        try:
            return float(fn(*args))
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError):
            return on_domain(*args) if callable(on_domain) else on_domain
    return call


def _log_domain(x):
    return -math.inf if x == 0 else math.nan


def _atanh_domain(x):
    return math.copysign(math.inf, x) if abs(x) == 1 else math.nan


def _gamma_domain(x):
    if x == 0:
        return math.copysign(math.inf, x)
    if x == -math.inf or (x < 0 and x == int(x)):
        return math.nan
    return math.nan


def _gamma(x):
    if math.isnan(x):
        return math.nan
    if x == math.inf:
        return math.inf
    return _safe(math.gamma, _gamma_domain)(x)


def _exp_overflow(fn):
    def call(x):
        try:
            return fn(x)
        except OverflowError:
            return math.inf
    return call


def _sinh(x):
    # Go computes exp(|x|)/2 above 21, which overflows a little before the
    # true sinh/cosh do; keep its infinities.
    if abs(x) > 21:
        try:
            return math.copysign(math.exp(abs(x)) * 0.5, x)
        except OverflowError:
            return math.copysign(math.inf, x)
    return math.sinh(x)


def _cosh(x):
    if abs(x) > 21:
        try:
            return math.exp(abs(x)) * 0.5
        except OverflowError:
            return math.inf
    return math.cosh(x)


def _keep_sign(fn):
    """Rounding functions: Go keeps -0 and passes Inf/NaN through."""
    def call(x):
        if math.isinf(x) or math.isnan(x):
            return x
        result = float(fn(x))
        return math.copysign(result, x) if result == 0 else result
    return call


def _logb(x):
    if x == 0:
        return -math.inf
    if math.isinf(x):
        return math.inf
    if math.isnan(x):
        return x
    return float(math.frexp(x)[1] - 1)


def _pow(x, y):
    try:
        return math.pow(x, y)
    except OverflowError:
        if x < 0 and y == int(y) and int(y) % 2:
            return -math.inf
        return math.inf
    except (ValueError, ZeroDivisionError):
        if x == 0 and y < 0:
            if y == int(y) and int(y) % 2:
                return math.copysign(math.inf, x)
            return math.inf
        return math.nan


def _mod(x, y):
    if y == 0 or math.isinf(x) or math.isnan(x) or math.isnan(y):
        return math.nan
    return math.fmod(x, y)


def _max(x, y):
    if math.isinf(x) and x > 0 or math.isinf(y) and y > 0:
        return math.inf
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and y == 0:
        return y if math.copysign(1.0, x) < 0 else x
    return x if x > y else y


def _min(x, y):
    if math.isinf(x) and x < 0 or math.isinf(y) and y < 0:
        return -math.inf
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and y == 0:
        return x if math.copysign(1.0, x) < 0 else y
    return x if x < y else y


def _pow10(n):
    if n < -323:
        return 0.0
    if n > 308:
        return math.inf
    return float("1e%d" % n)


def _exp2(x):
    try:
        return math.pow(2.0, x)
    except OverflowError:
        return math.inf


_F = (T_FLOAT,)
_FF = (T_FLOAT, T_FLOAT)

_MATH1 = {
    "abs": math.fabs, "acos": _safe(math.acos), "acosh": _safe(math.acosh),
    "asin": _safe(math.asin), "asinh": math.asinh, "atan": math.atan,
    "atanh": _safe(math.atanh, _atanh_domain), "cbrt": math.cbrt,
    "ceil": _keep_sign(math.ceil),
    "cos": _safe(math.cos), "cosh": _cosh,
    "erf": math.erf, "erfc": math.erfc, "exp": _exp_overflow(math.exp),
    "exp2": _exp2, "expm1": _exp_overflow(math.expm1),
    "floor": _keep_sign(math.floor), "gamma": _gamma,
    "j0": bessel.j0, "j1": bessel.j1,
    "log": _safe(math.log, _log_domain),
    "log10": _safe(math.log10, _log_domain),
    "log1p": _safe(math.log1p, lambda x: -math.inf if x == -1
                   else math.nan),
    "log2": _safe(math.log2, _log_domain), "logb": _logb,
    "sin": _safe(math.sin), "sinh": _sinh, "sqrt": _safe(math.sqrt),
    "tan": _safe(math.tan), "tanh": math.tanh,
    "trunc": _keep_sign(math.trunc), "y0": bessel.y0, "y1": bessel.y1,
}

_MATH2 = {
    "atan2": math.atan2, "hypot": math.hypot, "max": _max, "min": _min,
    "mod": _mod, "pow": _pow,
}


def _float_arg(value, name):
    # Reached without a signature check through ``!abs(x)``: Go's text.
    if value.__class__ is not float:
        raise FuncError("cannot pass %s to %s, must be float64"
                        % (go_type_of(value), name))
    return value


def _math1(name, fn):
    return Func(name, _sig((_F, T_FLOAT)),
                lambda x: float(fn(_float_arg(x, name))))


def _math2(name, fn):
    return Func(name, _sig((_FF, T_FLOAT)), lambda x, y: float(
        fn(_float_arg(x, name), _float_arg(y, name))))


def _int_float(name, fn):
    return Func(name, _sig(((T_INT, T_FLOAT), T_FLOAT)),
                lambda n, x: float(fn(n, x)))


# -- strings ------------------------------------------------------------------
def _b(text):
    return text.encode("utf-8", "surrogatepass")


def _index_any(s, chars):
    for i, ch in enumerate(s):
        if ch in chars:
            return len(_b(s[:i]))
    return -1


def _last_index_any(s, chars):
    for i in range(len(s) - 1, -1, -1):
        if s[i] in chars:
            return len(_b(s[:i]))
    return -1


def _go_is_space(ch):
    # unicode.IsSpace: the ASCII/Latin-1 spaces plus White_Space; Python's
    # isspace() also counts the \x1c-\x1f separators, Go does not.
    return ch.isspace() and not "\x1c" <= ch <= "\x1f"


def _trim_space(s):
    start, end = 0, len(s)
    while start < end and _go_is_space(s[start]):
        start += 1
    while end > start and _go_is_space(s[end - 1]):
        end -= 1
    return s[start:end]


# Where Python's full case mapping yields several characters, Go's simple
# mapping (UnicodeData) still maps to one; these are all such cases that
# are not identity mappings (Unicode 14).
_SIMPLE_LOWER = {0x130: 0x69}
_SIMPLE_UPPER = {cp: cp + 8 for base in (0x1F80, 0x1F90, 0x1FA0)
                 for cp in range(base, base + 8)}
_SIMPLE_UPPER.update({0x1FB3: 0x1FBC, 0x1FC3: 0x1FCC, 0x1FF3: 0x1FFC})


def _simple_case(method, exceptions):
    # Go maps rune by rune with the simple mapping; Python's full mapping
    # can turn one character into several ("ß".upper() == "SS").
    def call(s):
        out = []
        for ch in s:
            mapped = getattr(ch, method)()
            if len(mapped) != 1:
                mapped = chr(exceptions.get(ord(ch), ord(ch)))
            out.append(mapped)
        return "".join(out)
    return call


def _substring(s, start, stop):
    raw = _b(s)
    if start < 0:
        raise FuncError("found negative index for strSubstring: %d" % start)
    if stop < 0:
        raise FuncError("found negative index for strSubstring: %d" % stop)
    if stop >= len(raw):
        raise FuncError("stop index too large for string in strSubstring: %d"
                        % stop)
    if start > stop:
        raise GoRuntimeError("slice bounds out of range [%d:%d]"
                             % (start, stop))
    return raw[start:stop].decode("utf-8", "replace")


def _replace(s, old, new, n):
    if n < 0:
        return s.replace(old, new)
    return s.replace(old, new, n)


_S = (T_STRING,)
_SS = (T_STRING, T_STRING)

_STR2BOOL = {
    "strContains": lambda s, sub: sub in s,
    "strContainsAny": lambda s, chars: any(c in s for c in chars),
    "strHasPrefix": lambda s, p: s.startswith(p),
    "strHasSuffix": lambda s, p: s.endswith(p),
}
_STR2INT = {
    "strCount": lambda s, sub: s.count(sub),
    "strIndex": lambda s, sub: _b(s).find(_b(sub)),
    "strIndexAny": _index_any,
    "strLastIndex": lambda s, sub: _b(s).rfind(_b(sub)),
    "strLastIndexAny": _last_index_any,
}
_STR2STR = {
    "strTrim": lambda s, cut: s.strip(cut),
    "strTrimLeft": lambda s, cut: s.lstrip(cut),
    "strTrimPrefix": lambda s, p: s.removeprefix(p),
    "strTrimRight": lambda s, cut: s.rstrip(cut),
    "strTrimSuffix": lambda s, p: s.removesuffix(p),
}
_STR1STR = {
    "strToLower": _simple_case("lower", _SIMPLE_LOWER),
    "strToUpper": _simple_case("upper", _SIMPLE_UPPER),
    "strTrimSpace": _trim_space,
}


# -- regexReplace ------------------------------------------------------------
def _regex_replace(pattern, src, repl):
    """``ReplaceAllString`` with Go's ``$1``/``${name}``/``$$`` (RE2)."""
    return pattern.compiled.replace_all(src, repl)


# -- conversions -------------------------------------------------------------
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _syntax(fn, text):
    return FuncError("strconv.%s: parsing %s: invalid syntax"
                     % (fn, _quote(text)))


def _quote(text):
    return go_quote(text)


def _to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise _syntax("ParseBool", value)
    if isinstance(value, (int, float)):
        if value == 0:
            return False
        if value == 1:
            return True
        raise FuncError("cannot convert %s to boolean" % format_v(value))
    raise FuncError("cannot convert %s to boolean" % go_type_of(value))


def _parse_int(text):
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        raise _syntax("ParseInt", text)
    value = int(text)
    if not -(1 << 63) <= value < (1 << 63):
        raise FuncError("strconv.ParseInt: parsing %s: value out of range"
                        % _quote(text))
    return value


def _to_int(value):
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return float_to_int64(value)
    if isinstance(value, str):
        return _parse_int(value)
    if isinstance(value, Duration):
        return value.nanoseconds
    raise FuncError("cannot convert %s to integer" % go_type_of(value))


_SPECIAL_FLOATS = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
                   "infinity": math.inf, "+infinity": math.inf,
                   "-infinity": -math.inf, "nan": math.nan}


def _parse_float(text):
    """``strconv.ParseFloat(text, 64)`` with its error texts."""
    special = _SPECIAL_FLOATS.get(text.lower())
    if special is not None:
        return special
    body = text[1:] if text[:1] in "+-" else text
    if (not body or not body.isascii() or body != body.strip()
            or body[0] not in "0123456789."
            or ("_" in body and not underscore_ok(text))):
        raise _syntax("ParseFloat", text)
    plain = text.replace("_", "")
    try:
        if body[:2].lower() == "0x":
            if "p" not in body.lower():
                raise ValueError("hex float needs an exponent")
            value = float.fromhex(plain)
        else:
            value = float(plain)
    except ValueError:
        raise _syntax("ParseFloat", text) from None
    except OverflowError:
        value = math.inf
    if math.isinf(value):
        raise FuncError("strconv.ParseFloat: parsing %s: value out of range"
                        % _quote(text))
    return value


def _to_float(value):
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return _parse_float(value)
    raise FuncError("cannot convert %s to float" % go_type_of(value))


def _to_string(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_f(value)
    if isinstance(value, Duration):
        return format_duration(value.nanoseconds)
    if isinstance(value, str):
        return value
    raise FuncError("cannot convert %s to string" % go_type_of(value))


def _to_duration(*args):
    if len(args) not in (1, 2):
        raise FuncError("duration expects one or two arguments "
                        "duration(value, unit) where unit is optional "
                        "depending on the type of value.")
    value = args[0]

    def unit():
        if len(args) != 2:
            raise FuncError("duration expects unit argument for int and "
                            "float values")
        if not isinstance(args[1], Duration):
            raise FuncError("invalid duration unit type: %s"
                            % go_type_of(args[1]))
        return args[1].nanoseconds

    if isinstance(value, Duration):
        return value
    if isinstance(value, bool):
        raise FuncError("cannot convert bool to duration")
    if isinstance(value, int):
        return Duration(wrap_int64(value * unit()))
    if isinstance(value, float):
        return Duration(float_to_int64(value * float(unit())))
    if isinstance(value, str):
        try:
            return Duration(parse_duration(value))
        except InvalidDuration:
            raise FuncError("invalid duration string %s"
                            % _quote(value)) from None
    raise FuncError("cannot convert %s to duration" % go_type_of(value))


# -- time, humanize, conditionals -------------------------------------------
def _time_part(name, get):
    def call(value):
        if not isinstance(value, datetime.datetime):
            raise FuncError("cannot convert %s to time.Time"
                            % go_type_of(value))
        return get(value)
    return Func(name, _sig(((T_TIME,), T_INT)), call)


def _unix_nano(t):
    exact = getattr(t, "unix_nano", None)  # a point's time keeps its ns
    if exact is not None:
        return exact
    delta = t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 10**9 \
        + delta.microseconds * 1000


def _now():
    return datetime.datetime.now().astimezone()


def human_bytes(value):
    """go-humanize ``Bytes``: SI units, one decimal below 10."""
    if isinstance(value, float):
        size = float_to_int64(value) & 0xFFFFFFFFFFFFFFFF
    else:
        size = value & 0xFFFFFFFFFFFFFFFF
    if size < 10:
        return "%d B" % size
    exponent = math.floor(math.log(size) / math.log(1000))
    suffix = ("B", "kB", "MB", "GB", "TB", "PB", "EB")[exponent]
    val = math.floor(size / 1000 ** exponent * 10 + 0.5) / 10
    return ("%.1f %s" if val < 10 else "%.0f %s") % (val, suffix)


def _if(condition, when_true, when_false):
    if not isinstance(condition, bool):
        raise FuncError("first argument to if must be a condition with type "
                        "of bool - got %s" % go_type_of(condition))
    if go_type_of(when_true) != go_type_of(when_false):
        raise FuncError("Different return types are not supported - second "
                        "argument is %s and third argument is %s"
                        % (go_type_of(when_true), go_type_of(when_false)))
    return when_true if condition else when_false


def _conversions():
    scalar = (T_BOOL, T_STRING, T_INT, T_FLOAT)
    return {
        "bool": Func("bool", _sig(*(((t,), T_BOOL) for t in scalar)),
                     _to_bool),
        "int": Func("int", _sig(*(((t,), T_INT) for t in scalar)), _to_int),
        "float": Func("float", _sig(*(((t,), T_FLOAT) for t in scalar)),
                      _to_float),
        "string": Func("string", _sig(*(((t,), T_STRING)
                                        for t in scalar + (T_DURATION,))),
                       _to_string),
        # Kapacitor's table has no (string) entry: a one-argument string
        # conversion fails the signature check, as it does there.
        "duration": Func("duration", _sig(
            ((T_DURATION,), T_DURATION),
            ((T_INT, T_DURATION), T_DURATION),
            ((T_FLOAT, T_DURATION), T_DURATION),
            ((T_STRING, T_DURATION), T_DURATION)), _to_duration),
    }


def _build_stateless():
    funcs = _conversions()
    for name, fn in _MATH1.items():
        funcs[name] = _math1(name, fn)
    for name, fn in _MATH2.items():
        funcs[name] = _math2(name, fn)
    funcs["jn"] = _int_float("jn", bessel.jn)
    funcs["yn"] = _int_float("yn", bessel.yn)
    funcs["pow10"] = Func("pow10", _sig(((T_INT,), T_FLOAT)), _pow10)
    for name, fn in _STR2BOOL.items():
        funcs[name] = Func(name, _sig((_SS, T_BOOL)), fn)
    for name, fn in _STR2INT.items():
        funcs[name] = Func(name, _sig((_SS, T_INT)), fn)
    for name, fn in _STR2STR.items():
        funcs[name] = Func(name, _sig((_SS, T_STRING)), fn)
    for name, fn in _STR1STR.items():
        funcs[name] = Func(name, _sig((_S, T_STRING)), fn)
    funcs["strLength"] = Func("strLength", _sig((_S, T_INT)),
                              lambda s: len(_b(s)))
    funcs["strReplace"] = Func(
        "strReplace",
        _sig(((T_STRING, T_STRING, T_STRING, T_INT), T_STRING)), _replace)
    funcs["strSubstring"] = Func(
        "strSubstring", _sig(((T_STRING, T_INT, T_INT), T_STRING)),
        _substring)
    funcs["regexReplace"] = Func(
        "regexReplace", _sig(((T_REGEX, T_STRING, T_STRING), T_STRING)),
        _regex_replace)
    funcs["isPresent"] = Func(
        "isPresent",
        _sig(*(((t,), T_BOOL)
               for t in (T_MISSING, T_BOOL, T_STRING, T_INT, T_FLOAT))),
        lambda value: not isinstance(value, Missing))
    parts = {
        "unixNano": _unix_nano, "minute": lambda t: t.minute,
        "hour": lambda t: t.hour,
        "weekday": lambda t: (t.weekday() + 1) % 7,
        "day": lambda t: t.day, "month": lambda t: t.month,
        "year": lambda t: t.year,
    }
    for name, get in parts.items():
        funcs[name] = _time_part(name, get)
    funcs["now"] = Func("now", _sig(((), T_TIME)), _now)
    funcs["humanBytes"] = Func(
        "humanBytes", _sig(((T_FLOAT,), T_STRING), ((T_INT,), T_STRING)),
        human_bytes)
    funcs["if"] = Func("if", _sig(*(
        ((T_BOOL, t, t), t) for t in (T_FLOAT, T_INT, T_STRING, T_BOOL,
                                      T_REGEX, T_TIME, T_DURATION))), _if)
    return funcs


STATELESS = _build_stateless()


# -- stateful functions ------------------------------------------------------
def _sigma():
    state = {"n": 0.0, "mean": 0.0, "m2": 0.0}

    def call(x):
        state["n"] += 1
        n = state["n"]
        delta = x - state["mean"]
        state["mean"] += delta / n
        state["m2"] += delta * (x - state["mean"])
        variance = state["m2"] / (n - 1) if n > 1 else math.nan
        if n < 2 or variance == 0:
            return 0.0
        return abs(x - state["mean"]) / math.sqrt(variance)
    return Func("sigma", _sig((_F, T_FLOAT)), call)


def _count():
    state = [0]

    def call():
        state[0] = wrap_int64(state[0] + 1)
        return state[0]
    return Func("count", _sig(((), T_INT)), call)


def _spread():
    state = [math.inf, -math.inf]

    def call(x):
        if x < state[0]:
            state[0] = x
        if x > state[1]:
            state[1] = x
        return state[1] - state[0]
    return Func("spread", _sig((_F, T_FLOAT)), call)


#: Makes the generator of each ``rand()``; tests pin it (``MWC.seeded(0)``)
#: the way Kapacitor's own tests replace ``stateful.NewRand``.
new_rand_source = MWC.random


def _rand():
    rng = new_rand_source()

    def call(*args):
        if len(args) > 1:
            raise FuncError("rand expects zero or one argument")
        if args:
            value = rng.uint64n(args[0])
        else:
            value = rng.uint64()
        return value & ((1 << 63) - 1)
    return Func("rand", _sig(((), T_INT), ((T_INT,), T_INT)), call)


_STATEFUL = {"sigma": _sigma, "count": _count, "spread": _spread,
             "rand": _rand}
#: The functions whose table entry keeps state between calls.
STATEFUL_NAMES = frozenset(_STATEFUL)


def new_functions():
    """The function table one expression evaluates with (fresh state)."""
    funcs = dict(STATELESS)
    for name, make in _STATEFUL.items():
        funcs[name] = make()
    return funcs


BUILTIN_SIGNATURES = new_functions()
"""For type checks only (Kapacitor's ``builtinFuncs``)."""


def is_builtin(name):
    return name in BUILTIN_SIGNATURES
