"""Dates and times as callers say them: ``tomorrow morning``, ``next Tuesday at half past three``,
``the fifth of March at 2 pm``, ``3:30``. Resolved against the call's own "now"; pure functions.

Hours said without am/pm follow office hours: 1 to 6 mean the afternoon, 7 to 11 the morning, unless a part
of the day (``in the evening``) says otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.dialog.spoken_numbers import SpokenNumber, find_numbers, words

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
)  # fmt: skip
PARTS_OF_DAY = {"morning": "morning", "afternoon": "afternoon", "evening": "evening", "tonight": "evening"}
_PM_PARTS = ("afternoon", "evening")
_CLOCK = re.compile(r"\b(\d{1,2})[:.](\d{2})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_COMPACT_MERIDIEM = re.compile(r"\b(\d{1,2})\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)


@dataclass(frozen=True)
class When:
    """What the caller asked for; any part may be missing (``tomorrow`` has no time)."""

    day: date | None = None
    at: time | None = None
    part_of_day: str | None = None  # morning / afternoon / evening, when no exact time was said

    def iso(self) -> str:
        if self.day and self.at:
            return datetime.combine(self.day, self.at).isoformat(timespec="minutes")
        if self.day:
            return self.day.isoformat()
        return self.at.isoformat(timespec="minutes") if self.at else ""

    def spoken(self) -> str:
        """How the agent reads it back: ``Tuesday, March 5 at 3:30 PM``."""
        parts: list[str] = []
        if self.day:
            parts.append(f"{WEEKDAYS[self.day.weekday()].title()}, {MONTHS[self.day.month - 1].title()} "
                         f"{self.day.day}")  # fmt: skip
        if self.at:
            hour = self.at.hour % 12 or 12
            minutes = f":{self.at.minute:02d}" if self.at.minute else ""
            parts.append(f"at {hour}{minutes} {'PM' if self.at.hour >= 12 else 'AM'}")
        elif self.part_of_day:
            parts.append(f"in the {self.part_of_day}")
        return " ".join(parts)


def parse_when(text: str, now: datetime) -> When | None:
    """The date and/or time in ``text`` relative to ``now``, or None if it names neither."""
    lowered = _COMPACT_MERIDIEM.sub(lambda m: f"{m[1]} {m[2].lower()}m", text.lower())
    tokens = words(_CLOCK.sub(lambda m: f" at {m[1]} {m[2]} ", lowered))
    day = _iso_day(lowered) or _relative_day(tokens, now.date()) or _calendar_day(tokens, now.date())
    part = next((PARTS_OF_DAY[t] for t in tokens if t in PARTS_OF_DAY), None)
    at = _time_of_day(tokens, part)
    if day is None and at is None and part is None:
        return None
    if "tonight" in tokens and day is None:
        day = now.date()
    return When(day, at, None if at else part)


def _iso_day(text: str) -> date | None:
    match = _ISO_DATE.search(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _relative_day(tokens: list[str], today: date) -> date | None:
    joined = " ".join(tokens)
    if "day after tomorrow" in joined:
        return today + timedelta(days=2)
    if "tomorrow" in tokens:
        return today + timedelta(days=1)
    if "today" in tokens:
        return today
    for i, token in enumerate(tokens):
        if token in WEEKDAYS:
            ahead = (WEEKDAYS.index(token) - today.weekday()) % 7 or 7
            if i > 0 and tokens[i - 1] == "next" and ahead < 7 and today.weekday() < 5 and ahead <= 2:
                ahead += 7  # "next Monday" said on a Saturday is the coming one; on a weekday, the one after
            return today + timedelta(days=ahead)
    return None


def _calendar_day(tokens: list[str], today: date) -> date | None:
    for i, token in enumerate(tokens):
        if token not in MONTHS:
            continue
        month = MONTHS.index(token) + 1
        day_number = _day_near(tokens, i)
        if day_number is None:
            continue
        year = today.year
        try:
            candidate = date(year, month, day_number)
            if candidate < today:
                candidate = date(year + 1, month, day_number)
        except ValueError:
            continue
        return candidate
    return None


def _day_near(tokens: list[str], month_at: int) -> int | None:
    """The day of month said next to the month: ``march fifth``, ``the fifth of march``, ``5 march``."""
    numbers = find_numbers(tokens)
    after = [n for n in numbers if n.start == month_at + 1]
    before = [n for n in numbers if n.end == month_at or (n.end == month_at - 1 and tokens[n.end] == "of")]
    for number in after + before:
        if 1 <= number.value <= 31:
            return number.value
    return None


def _time_of_day(tokens: list[str], part: str | None) -> time | None:
    if "noon" in tokens or "midday" in tokens:
        return time(12, 0)
    if "midnight" in tokens:
        return time(0, 0)
    numbers = [n for n in find_numbers(tokens) if not n.ordinal]
    relative = _relative_to_hour(tokens, numbers, part)
    if relative is not None:
        return relative
    for number in numbers:
        found = _clock_at(tokens, numbers, number)
        if found is not None:
            return _resolve(*found, part)
    return None


def _relative_to_hour(tokens: list[str], numbers: list[SpokenNumber], part: str | None) -> time | None:
    """``half past three``, ``quarter to four``, ``ten past nine``."""
    for i, token in enumerate(tokens[1:-1], start=1):
        if token not in ("past", "to"):
            continue
        hour = next((n for n in numbers if n.start == i + 1 and 1 <= n.value <= 12), None)
        if hour is None:
            continue
        previous = tokens[i - 1]
        count = next((n for n in numbers if n.end == i or (n.end == i - 1 and previous == "minutes")), None)
        if previous == "half":
            minutes = 30
        elif previous == "quarter":
            minutes = 15
        elif count is not None and 1 <= count.value < 60:
            minutes = count.value
        else:
            continue
        value = hour.value
        if token == "to":
            value, minutes = (value - 1) % 12 or 12, 60 - minutes
        return _resolve(value, minutes, _meridiem(tokens, hour.end), part)
    return None


def _clock_at(
    tokens: list[str], numbers: list[SpokenNumber], number: SpokenNumber
) -> tuple[int, int, str | None] | None:
    """Read ``number`` as an hour if the words around it say it is one: ``at 3 30``, ``three thirty pm``,
    ``at nine``, ``ten o'clock``."""
    before = tokens[number.start - 1] if number.start > 0 else ""
    after = tokens[number.end] if number.end < len(tokens) else ""
    if number.value > 24:
        return None
    following = next((n for n in numbers if n.start == number.end), None)
    minutes_follow = following is not None and 0 <= following.value < 60 and 1 <= number.value <= 12
    if following is not None and minutes_follow:
        meridiem = _meridiem(tokens, following.end)
        if meridiem or before in ("at", "around", "about", "for"):
            return number.value, following.value, meridiem
    meridiem = _meridiem(tokens, number.end)
    if meridiem or after == "o" or before in ("at", "around", "about", "after", "before", "by"):
        return number.value, 0, meridiem
    return None


def _meridiem(tokens: list[str], at: int) -> str | None:
    rest = tokens[at : at + 3]
    joined = "".join(t for t in rest if t != ".")
    if joined.startswith(("am", "pm")):
        return joined[:2]
    if rest[:2] in (["o", "clock"],):
        return _meridiem(tokens, at + 2)
    return None


def _resolve(hour: int, minute: int, meridiem: str | None, part: str | None) -> time | None:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    elif meridiem is None and hour < 12 and (part in _PM_PARTS or (part is None and 1 <= hour <= 6)):
        hour += 12
    return time(hour, minute)
