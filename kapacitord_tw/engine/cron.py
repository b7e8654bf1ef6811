"""Cron schedules for ``query().cron('…')``, read the way Kapacitor reads them.

Kapacitor parses ``.cron()`` with gorhill/cronexpr, so the same syntax is
accepted here: 5 fields (minute hour day-of-month month day-of-week), 6
(… plus year) or 7 (second first, then year); fields past the 7th are
ignored; ``@yearly``/``@annually``/``@monthly``/``@weekly``/``@daily``/
``@hourly``; ``*``/``?``, lists, ranges, ``*/n``, ``a/n``, ``a-b/n``,
month and weekday names; ``L``, ``LW``, ``15W`` in day-of-month; ``5L``
and ``5#3`` in day-of-week.  When both day fields are restricted a day
matching either fires (crontab's rule).  Times are wall-clock times in the
local zone, as Kapacitor's ``time.Now()`` is.

:meth:`CronExpression.next` is bounded: years only run 1970-2099, so the
search visits at most 130 x 12 months whatever the expression.
"""

from __future__ import annotations

import bisect
import calendar
import re
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Set, Tuple

import attrs


class CronError(ValueError):
    """A malformed expression (cronexpr's own words)."""


_MACROS = (
    ("@yearly", "0 0 0 1 1 * *"),
    ("@annually", "0 0 0 1 1 * *"),
    ("@monthly", "0 0 0 1 * * *"),
    ("@weekly", "0 0 0 * * 0 *"),
    ("@daily", "0 0 0 * * * *"),
    ("@hourly", "0 0 * * * * *"),
)

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS_LONG = ["january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_DAYS_LONG = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


@attrs.frozen
class _Field:
    name: str
    low: int
    high: int
    pattern: str
    names: Dict[str, int] = attrs.field(factory=dict)

    def value(self, text: str) -> int:
        if text in self.names:
            return self.names[text]
        return int(text)


_SECOND = _Field("second", 0, 59, r"0?[0-9]|[1-5][0-9]")
_MINUTE = _Field("minute", 0, 59, r"0?[0-9]|[1-5][0-9]")
_HOUR = _Field("hour", 0, 23, r"0?[0-9]|1[0-9]|2[0-3]")
_DOM = _Field("day-of-month", 1, 31, r"0?[1-9]|[12][0-9]|3[01]")
_MONTH = _Field("month", 1, 12, r"0?[1-9]|1[012]|" + "|".join(_MONTHS + _MONTHS_LONG),
                {**{m: i + 1 for i, m in enumerate(_MONTHS)},
                 **{m: i + 1 for i, m in enumerate(_MONTHS_LONG)}})
_DOW = _Field("day-of-week", 0, 6, r"0?[0-7]|" + "|".join(_DAYS + _DAYS_LONG),
              {**{d: i for i, d in enumerate(_DAYS)}, **{d: i for i, d in enumerate(_DAYS_LONG)},
               "7": 0, "07": 0})
_YEAR = _Field("year", 1970, 2099, r"19[789][0-9]|20[0-9]{2}")


def _directive(text: str, field: _Field) -> Optional[Tuple[int, int, int, bool]]:
    """(first, last, step, is_wildcard) of one comma-separated entry, or None
    when it is not a plain value/range/step (the day fields' specials)."""
    v = field.pattern
    if re.fullmatch(r"\*|\?", text):
        return field.low, field.high, 1, True
    if re.fullmatch(f"(?:{v})", text):
        n = field.value(text)
        return n, n, 1, False
    m = re.fullmatch(f"({v})-({v})", text)
    if m:
        return field.value(m.group(1)), field.value(m.group(2)), 1, False
    m = (re.fullmatch(r"\*/(\d+)", text) or re.fullmatch(f"({v})/(\\d+)", text)
         or re.fullmatch(f"({v})-({v})/(\\d+)", text))
    if m:
        groups = m.groups()
        step = int(groups[-1]) if len(groups[-1]) <= 2 else 0
        if step < 1 or step > field.high:
            raise CronError(f"invalid interval {text}")
        first = field.value(groups[0]) if len(groups) > 1 else field.low
        last = field.value(groups[1]) if len(groups) > 2 else field.high
        return first, last, step, False
    return None


def _entries(text: str, field: _Field):
    entries = [e for e in text.split(",") if e]
    if not entries:
        raise CronError(f"{field.name} field: missing directive")
    return [(e, e.lower()) for e in entries]


def _plain_field(text: str, field: _Field) -> List[int]:
    values: Set[int] = set()
    for raw, entry in _entries(text, field):
        d = _directive(entry, field)
        if d is None:
            raise CronError(f"syntax error in {field.name} field: '{raw}'")
        first, last, step, wildcard = d
        if wildcard:
            return list(range(field.low, field.high + 1))
        values.update(range(first, last + 1, step))
    return sorted(values)


@attrs.frozen
class CronExpression:
    """A parsed expression; :meth:`next` gives the first fire time after a moment."""

    text: str
    seconds: Tuple[int, ...]
    minutes: Tuple[int, ...]
    hours: Tuple[int, ...]
    months: Tuple[int, ...]
    years: Tuple[int, ...]
    dom_restricted: bool = False
    days_of_month: frozenset = frozenset()
    workdays_of_month: frozenset = frozenset()
    last_day_of_month: bool = False
    last_workday_of_month: bool = False
    dow_restricted: bool = False
    days_of_week: frozenset = frozenset()
    nth_days_of_week: frozenset = frozenset()  # (n - 1) * 7 + weekday
    last_days_of_week: frozenset = frozenset()

    # ------------------------------------------------------------ days

    def days_in(self, year: int, month: int) -> List[int]:
        """The days of ``month`` on which the expression fires (sorted)."""
        last = calendar.monthrange(year, month)[1]
        if not self.dom_restricted and not self.dow_restricted:
            return list(range(1, last + 1))
        days: Set[int] = set()
        if self.dom_restricted:
            if self.last_day_of_month:
                days.add(last)
            if self.last_workday_of_month:
                days.add(_workday(year, month, last, last))
            days.update(d for d in self.days_of_month if d <= last)
            days.update(_workday(year, month, d, last) for d in self.workdays_of_month if d <= last)
        if self.dow_restricted:
            first_weekday = _weekday(year, month, 1)  # 0 = Sunday
            for dow in self.days_of_week:
                start = 1 + (dow - first_weekday) % 7
                days.update(range(start, last + 1, 7))
            for code in self.nth_days_of_week:
                week, dow = divmod(code, 7)
                day = 1 + 7 * week + (dow - first_weekday) % 7
                if day <= last:
                    days.add(day)
            origin = last - 6
            origin_weekday = _weekday(year, month, origin)
            for dow in self.last_days_of_week:
                days.add(origin + (dow - origin_weekday) % 7)
        return sorted(days)

    # ------------------------------------------------------------ next

    def next_wall(self, after: datetime) -> Optional[datetime]:
        """The first matching wall-clock time strictly after ``after`` (naive), or None."""
        if not (self.seconds and self.minutes and self.hours and self.months and self.years):
            return None
        # Every candidate is a whole second: start at the next one.
        t = after.replace(microsecond=0) + timedelta(seconds=1)
        today = (t.year, t.month, t.day)
        for year in self.years[bisect.bisect_left(self.years, t.year):]:
            for month in self.months:
                if (year, month) < today[:2]:
                    continue
                for day in self.days_in(year, month):
                    if (year, month, day) < today:
                        continue
                    hit = self._time_of_day((year, month, day) == today,
                                            t.hour, t.minute, t.second)
                    if hit is not None:
                        return datetime(year, month, day, *hit)
        return None

    def _time_of_day(self, bounded: bool, h: int, mi: int, s: int) -> Optional[Tuple[int, int, int]]:
        """First (hour, minute, second) of the day at or after h:mi:s when ``bounded``."""
        if not bounded:
            return self.hours[0], self.minutes[0], self.seconds[0]
        for hour in self.hours[bisect.bisect_left(self.hours, h):]:
            if hour > h:
                return hour, self.minutes[0], self.seconds[0]
            for minute in self.minutes[bisect.bisect_left(self.minutes, mi):]:
                if minute > mi:
                    return hour, minute, self.seconds[0]
                i = bisect.bisect_left(self.seconds, s)
                if i < len(self.seconds):
                    return hour, minute, self.seconds[i]
        return None

    def next(self, after: float) -> Optional[float]:
        """Seconds since the epoch of the first fire time after ``after`` (local zone)."""
        wall = datetime.fromtimestamp(int(after // 1))
        if after % 1:
            wall = wall.replace(microsecond=1)
        found = self.next_wall(wall)
        return None if found is None else found.timestamp()


def _weekday(year: int, month: int, day: int) -> int:
    """0 = Sunday, as Go's ``time.Weekday``."""
    return (calendar.weekday(year, month, day) + 1) % 7


def _workday(year: int, month: int, day: int, last: int) -> int:
    """The weekday nearest ``day`` without leaving the month."""
    dow = _weekday(year, month, day)
    if dow == 6:  # Saturday
        return day - 1 if day > 1 else day + 2
    if dow == 0:  # Sunday
        return day + 1 if day < last else day - 2
    return day


def _dom_field(text: str, out: dict) -> None:
    days: Set[int] = set()
    work: Set[int] = set()
    out.update(dom_restricted=True, last_day_of_month=False, last_workday_of_month=False)
    for raw, entry in _entries(text, _DOM):
        d = _directive(entry, _DOM)
        if d is None:
            if entry == "l":
                out["last_day_of_month"] = True
            elif entry == "lw":
                out["last_workday_of_month"] = True
            else:
                m = re.fullmatch(f"({_DOM.pattern})w", entry)
                if not m:
                    raise CronError(f"syntax error in day-of-month field: '{raw}'")
                work.add(_DOM.value(m.group(1)))
            continue
        first, last, step, wildcard = d
        days.update(range(first, last + 1, step))
        if wildcard:
            out["dom_restricted"] = False
    out.update(days_of_month=frozenset(days), workdays_of_month=frozenset(work))


def _dow_field(text: str, out: dict) -> None:
    days: Set[int] = set()
    nth: Set[int] = set()
    lasts: Set[int] = set()
    out["dow_restricted"] = True
    for raw, entry in _entries(text, _DOW):
        d = _directive(entry, _DOW)
        if d is None:
            m = re.fullmatch(f"({_DOW.pattern})l", entry)
            if m:
                lasts.add(_DOW.value(m.group(1)))
                continue
            m = re.fullmatch(f"({_DOW.pattern})#([1-5])", entry)
            if not m:
                raise CronError(f"syntax error in day-of-week field: '{raw}'")
            nth.add((int(m.group(2)) - 1) * 7 + _DOW.value(m.group(1)) % 7)
            continue
        first, last, step, wildcard = d
        days.update(range(first, last + 1, step))
        if wildcard:
            out["dow_restricted"] = False
    out.update(days_of_week=frozenset(x % 7 for x in days), nth_days_of_week=frozenset(nth),
               last_days_of_week=frozenset(lasts))


def parse(text: str) -> CronExpression:
    """Parse ``text`` as cronexpr does; :class:`CronError` says what is wrong."""
    line = text
    for macro, expansion in _MACROS:
        line = line.replace(macro, expansion)
    fields = line.split()
    if len(fields) < 5:
        raise CronError("missing field(s)")
    fields = fields[:7]
    out: dict = {}
    if len(fields) == 7:
        seconds = _plain_field(fields.pop(0), _SECOND)
    else:
        seconds = [0]
    minutes = _plain_field(fields[0], _MINUTE)
    hours = _plain_field(fields[1], _HOUR)
    _dom_field(fields[2], out)
    months = _plain_field(fields[3], _MONTH)
    _dow_field(fields[4], out)
    years = _plain_field(fields[5], _YEAR) if len(fields) > 5 else list(range(1970, 2100))
    return CronExpression(
        text=text,
        seconds=tuple(x for x in seconds if 0 <= x <= 59),
        minutes=tuple(x for x in minutes if 0 <= x <= 59),
        hours=tuple(x for x in hours if 0 <= x <= 23),
        months=tuple(x for x in months if 1 <= x <= 12),
        years=tuple(x for x in years if 1970 <= x <= 2099),
        **out,
    )
