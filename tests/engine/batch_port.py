"""
Regenerate ``batch_cases.json`` from upstream ``integrations/batcher_test.go``.

    python -m tests.engine.batch_port /path/to/batcher_test.go

Every ``testBatcherWithOutput`` call of a ``TestBatch_*`` function becomes a
case: its script (``ts.URL`` concatenated into it becomes ``@TS_URL@``), the
recording name (``testdata/<name>.N.brpl``), the duration, ``ignoreOrder``,
what its ``httptest`` receiver checks (``posts``, ``receiverDelay``,
``deadline``) and the expected ``models.Result``, whose Go
composite literal is read by a small parser (``time.Date``/``mustParseTime``
become the RFC 3339 strings Kapacitor writes; every number a float, as
``encoding/json`` decodes it).  Table-driven functions (``testCases``) and
Flux are skipped: they are listed in ``skipped`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

from tests.engine.batch_conformance import TS_URL_TOKEN

OUT = Path(__file__).parent / "batch_cases.json"

_TOKEN = re.compile(r'\s*(?:(//[^\n]*)|("(?:[^"\\]|\\.)*")|(`[^`]*`)|([A-Za-z_][\w.]*)|'
                    r'(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(\[\]|[{}()\[\],:*/+-]))')


def tokens(text):
    pos = 0
    out = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise ValueError(f"cannot read Go at {text[pos:pos + 40]!r}")
        pos = m.end()
        comment, dq, bq, ident, num, punct = m.groups()
        if comment:
            continue
        if dq:
            out.append(("str", json.loads(dq)))
        elif bq:
            out.append(("str", bq[1:-1]))
        elif ident:
            out.append(("id", ident))
        elif num:
            out.append(("num", num))
        else:
            out.append(("p", punct))
    return out


def rfc3339(t: dt.datetime) -> str:
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += ("." + f"{t.microsecond:06d}").rstrip("0")
    return s + "Z"


class Parser:
    def __init__(self, toks):
        self.t = toks
        self.i = 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else (None, None)

    def take(self, kind=None, value=None):
        tok = self.t[self.i]
        if (kind and tok[0] != kind) or (value and tok[1] != value):
            raise ValueError(f"expected {kind} {value} got {tok} at {self.t[self.i:self.i + 6]}")
        self.i += 1
        return tok

    def skip_type(self):
        """A Go type: []T, map[K]V, interface{}, pkg.Name."""
        kind, v = self.peek()
        if v == "[]":
            self.take()
            self.skip_type()
        elif v == "map":
            self.take()
            self.take("p", "[")
            self.skip_type()
            self.take("p", "]")
            self.skip_type()
        elif v == "interface":
            self.take()
            self.take("p", "{")
            self.take("p", "}")
        elif v == "*":
            self.take()
            self.skip_type()
        else:
            self.take("id")

    def composite(self):
        self.take("p", "{")
        items = []
        keyed = False
        while self.peek()[1] != "}":
            kind, v = self.peek()
            if self.peek(1)[1] == ":" and kind in ("id", "str"):
                self.i += 2
                keyed = True
                items.append((v, self.value()))
            else:
                items.append((None, self.value()))
            if self.peek()[1] == ",":
                self.take()
        self.take("p", "}")
        if keyed:
            return {_json_key(k): v for k, v in items}
        return [v for _, v in items]

    def value(self):
        kind, v = self.peek()
        if v == "{":
            return self.composite()
        if v in ("[]", "map") or (kind == "id" and self.peek(1)[1] == "{"):
            self.skip_type()
            return self.composite()
        if kind == "str":
            self.take()
            return v
        if kind == "num" or v == "-":
            return self.arith()
        if kind == "id":
            if v == "nil":
                self.take()
                return None
            if v in ("true", "false"):
                self.take()
                return v == "true"
            if v == "time.Date":
                self.take()
                args = self.args()
                y, mo, d, h, mi, s, ns = (int(a) for a in args[:7])
                t = dt.datetime(y, mo, d, h, mi, s) + dt.timedelta(microseconds=ns // 1000)
                return rfc3339(t)
            if v == "mustParseTime":
                self.take()
                (text,) = self.args()
                return rfc3339(dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
                               .astimezone(dt.timezone.utc).replace(tzinfo=None))
            if v in ("float64", "int64", "int"):
                self.take()
                (x,) = self.args()
                return float(x)
        raise ValueError(f"unknown value {self.t[self.i:self.i + 6]}")

    def arith(self):
        text = ""
        depth = 0
        while True:
            kind, v = self.peek()
            if v == ")" and depth == 0:
                break
            depth += {"(": 1, ")": -1}.get(v, 0)
            if kind == "num" or v in ("-", "+", "*", "/", "(", ")"):
                text += v
                self.take()
            elif v in _GO_UNITS:
                text += str(_GO_UNITS[v])
                self.take()
            else:
                break
        return float(eval(text, {"__builtins__": {}}))  # digits and operators only

    def args(self):
        self.take("p", "(")
        out = []
        while self.peek()[1] != ")":
            kind, v = self.peek()
            plain_id = kind == "id" and v not in _GO_UNITS and not v.startswith(("time.Date", "must"))
            out.append(self.take()[1] if plain_id else self.value())
            if self.peek()[1] == ",":
                self.take()
        self.take("p", ")")
        return out


_GO_UNITS = {"time.Nanosecond": 1, "time.Microsecond": 10**3, "time.Millisecond": 10**6,
             "time.Second": 10**9, "time.Minute": 60 * 10**9, "time.Hour": 3600 * 10**9}

_KEYS = {"Series": "series", "Name": "name", "Tags": "tags", "Columns": "columns",
         "Values": "values", "Err": "error", "Messages": "messages"}


def _json_key(k):
    return _KEYS.get(k, k)


def _go_duration(expr: str) -> float:
    """``30*time.Second``, ``100 * time.Millisecond``, ``time.Second``: in seconds."""
    m = re.fullmatch(r"(?:(\d+)\s*\*\s*)?time\.(Second|Millisecond|Minute)", expr.strip())
    unit = {"Second": 1.0, "Millisecond": 0.001, "Minute": 60.0}[m.group(2)]
    return int(m.group(1) or 1) * unit


def _braced(text: str, start: int) -> str:
    """The ``{...}`` literal starting at ``start`` (results hold no braces in strings)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    raise ValueError("unbalanced literal")


#: ``var script = `...``` or ``script := `...```, maybe ``+ ts.URL +`` between raw strings.
_SCRIPT = re.compile(r"(?:var script =|script :=) `[^`]*`(?:\s*\+\s*ts\.URL\s*\+\s*`[^`]*`)*")
_RESULT = re.compile(r"\ber :?= models\.Result")
_POST_CASE = re.compile(r"\bcase (\d+):\s*er(?:\.Result)? = models\.Result")
_POST_URL = re.compile(r'\ber\.url = "([^"]*)"')
_SLEEP = re.compile(r"time\.Sleep\(([^)]*)\)")
_DEADLINE = re.compile(r"case <-time\.After\(([^)]*)\):\s*t\.Fatal")


def _script_text(literal: str) -> str:
    """The script's raw strings joined, ``ts.URL`` replaced by :data:`TS_URL_TOKEN`."""
    pieces = re.findall(r"`([^`]*)`", literal)
    return TS_URL_TOKEN.join(pieces)


def _receiver(handler: str, after: str) -> dict:
    """What the Go test's ``httptest`` handler checks, for cases that have one.

    ``posts``: each request's expected body (and URL path, when checked), in
    request order; ``receiverDelay``: how long the handler sleeps before it
    answers; ``deadline``: the wall-clock bound the test puts on the run.
    """
    if "httptest.NewServer" not in handler:
        return {}
    out: dict = {}
    posts = []
    marks = list(_POST_CASE.finditer(handler))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(handler)
        literal_start = handler.index("{", m.end() - 1)
        post = {"result": Parser(tokens(_braced(handler, literal_start))).composite()}
        url = _POST_URL.search(handler, literal_start, end)
        if url:
            post["url"] = url.group(1)
        if int(m.group(1)) != len(posts) + 1:
            raise ValueError("receiver cases out of order")
        posts.append(post)
    if posts:
        out["posts"] = posts
    sleep = _SLEEP.search(handler)
    if sleep:
        out["receiverDelay"] = _go_duration(sleep.group(1))
    deadline = _DEADLINE.search(after)
    if deadline:
        out["deadline"] = _go_duration(deadline.group(1))
    return out


def cases_from(source: str):
    funcs = re.split(r"\nfunc ", source)
    cases, skipped = [], {}
    for body in funcs:
        m = re.match(r"(TestBatch_\w+)\(t \*testing\.T\)", body)
        if not m:
            continue
        func = m.group(1)
        call = re.search(r'testBatcherWithOutput\(t, "(\w+)", (\w+(?:\.\w+)?), ([^,]+), (\w+(?:\.\w+)?), (true|false)\)', body)
        if not call:
            skipped[func] = "not a testBatcherWithOutput case"
            continue
        name, script_var, duration, er_var, ignore = call.groups()
        if "." in script_var or "." in er_var:
            skipped[func] = "table-driven (testCases)"
            continue
        sm = _SCRIPT.search(body)
        if not sm:
            skipped[func] = "script or result not found"
            continue
        # The expected result follows the script (a receiver's own ``er`` comes before it).
        em = _RESULT.search(body, sm.end())
        if not em:
            skipped[func] = "script or result not found"
            continue
        p = Parser(tokens(_braced(body, em.end())))
        result = p.composite()
        case = {
            "id": func,
            "name": name,
            "duration": _go_duration(duration),
            "ignoreOrder": ignore == "true",
            "httpOut": name,
            "script": _script_text(sm.group(0)),
            "result": result,
        }
        case.update(_receiver(body[:sm.start()], body[sm.end():]))
        cases.append(case)
    return cases, skipped


def main(argv=None):
    argv = argv if argv is not None else sys.argv[1:]
    source = Path(argv[0]).read_text()
    cases, skipped = cases_from(source)
    OUT.write_text(json.dumps({
        "source": "influxdata/kapacitor integrations/batcher_test.go (testBatcherWithOutput cases)",
        "skipped": skipped,
        "cases": cases,
    }, indent=1) + "\n")
    print(f"{len(cases)} cases, {len(skipped)} skipped: {sorted(skipped)}")


if __name__ == "__main__":
    main()
