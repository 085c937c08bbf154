"""When a scheduled run may send: the author's weekly slots, in the author's own time zone.

Pure logic over an injected "now": no clock, no ledger, no I/O. The caller says which slots
have already been served (from the ledger's run records) and gets back a decision.

The rules, written once here and explained in docs/schedule-and-review.md:

- A slot is a local date whose weekday is in `days`, at the local `time`, in `timezone`.
  Its identity is that date, time and zone as text ("2026-03-10 08:00 Europe/London"), so a
  run that comes late, twice, or from a cron engine that knows only UTC still finds the same
  slot; changing the schedule starts new slots.
- The first scheduled run at or after a slot sends. Runs before it, and runs after it once
  the slot is served, say when the next slot is and change nothing.
- A slot stays open for `SLOT_OPEN_FOR` after it starts (GitHub delays scheduled runs by
  minutes to hours and sometimes drops them), or until the next slot, if that is sooner.
  A slot missed entirely is not made up later: its posts wait for the next slot, and
  "Run workflow" sends at once.
- Daylight saving: the slot is wall-clock time. On the night the clocks go forward, a slot
  time the clocks skip (02:30 when they jump from 02:00 to 03:00) starts at the moment of the
  jump (03:00), the first moment the wall clock is past it; GitHub's zoned cron fires then
  too, so such a slot is not missed. On the night the clocks go back, a slot time that
  happens twice (01:30) starts at its first occurrence; a run at the second finds it served.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SLOT_OPEN_FOR = timedelta(hours=24)
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class Schedule:
    timezone: str
    """An IANA zone name, e.g. "Europe/London"; checked by `parse_timezone`."""
    days: tuple[int, ...]
    """Weekday numbers, Monday = 0, sorted, no repeats."""
    time: time
    """Local wall-clock time of each slot (minutes, no seconds)."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        names = ", ".join(WEEKDAYS[day].capitalize() for day in self.days)
        return f"{names} at {self.time:%H:%M} {self.timezone}"


@dataclass(frozen=True)
class Slot:
    day: date
    """The local date the slot belongs to (the weekday named in `days`)."""
    starts: datetime
    """The moment the slot starts, in UTC: a local time that happens twice would compare
    unequal to every other zone's spelling of the same moment (PEP 495)."""
    id: str
    """Stable text identity: local date, configured time and zone."""
    timezone: str

    @property
    def local_start(self) -> datetime:
        return self.starts.astimezone(ZoneInfo(self.timezone))

    def describe(self) -> str:
        """'Tuesday 10 March 2026 08:00 GMT (Europe/London)'."""
        local = self.local_start
        # Built by hand: strftime's %-d (no leading zero) is not portable.
        return f"{local:%A} {local.day} {local:%B %Y %H:%M} {local.tzname()} ({self.timezone})"


@dataclass(frozen=True)
class SlotDecision:
    due: bool
    """True: this run is the one that serves `slot`."""
    slot: Slot | None
    """The slot this run serves when due; otherwise the latest slot already started."""
    next_slot: Slot
    """The first slot that starts after now."""
    late_by: timedelta
    """How long after `slot` started this run came (zero when not due)."""
    reason: str
    """One sentence for the run's output: why it sends, or why not and when it will."""


# --- parsing (each raises ValueError with the reason, for config.py to name the key) -------


def parse_timezone(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError('must be an IANA time zone name such as "Europe/London"')
    name = value.strip()
    # ZoneInfo also accepts file paths relative to the tz database; a name is never one.
    if name.startswith(("/", ".")) or ".." in name or "\\" in name:
        raise ValueError(f'must be an IANA time zone name such as "Europe/London", not {name!r}')
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"names no known time zone ({name!r}); use an IANA name such as "
            '"Europe/London" or "America/New_York" (the list: '
            "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones)"
        ) from None
    return name


def parse_days(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError('must be a list of weekdays such as ["tuesday"]')
    days: set[int] = set()
    for item in value:
        if not isinstance(item, str) or item.strip().lower() not in WEEKDAYS:
            raise ValueError(
                f"must list weekdays by their English names (monday … sunday), not {item!r}"
            )
        days.add(WEEKDAYS.index(item.strip().lower()))
    return tuple(sorted(days))


def parse_time(value: object) -> time:
    # `time = 08:00` without quotes is TOML's own local time, which tomllib reads as a time.
    if isinstance(value, time) and value.tzinfo is None:
        if value.second or value.microsecond:
            raise ValueError(f'must be a 24-hour local time such as "08:00", not {value}')
        return value
    if not isinstance(value, str) or not _TIME.fullmatch(value.strip()):
        raise ValueError(f'must be a 24-hour local time such as "08:00", not {value!r}')
    hours, minutes = value.strip().split(":")
    return time(int(hours), int(minutes))


# --- slots --------------------------------------------------------------------------------


def slot_on(schedule: Schedule, day: date) -> Slot:
    """The slot of a local date, whatever its weekday (callers pick the days)."""
    zone = schedule.zone
    return Slot(
        day=day,
        starts=wall_clock_moment(datetime.combine(day, schedule.time), zone).astimezone(UTC),
        id=f"{day.isoformat()} {schedule.time:%H:%M} {schedule.timezone}",
        timezone=schedule.timezone,
    )


def wall_clock_moment(wall: datetime, zone: ZoneInfo) -> datetime:
    """The aware moment a naive local time names: its first occurrence when the clocks go
    back, the moment of the jump when the clocks go forward over it."""
    first = wall.replace(tzinfo=zone, fold=0)
    if _round_trips(first):
        return first
    second = wall.replace(tzinfo=zone, fold=1)
    if _round_trips(second):
        return second
    # In a gap: fold=1 reads the wall time with the offset after the jump, which lands before
    # the jump; fold=0 with the offset before it, which lands after. The jump lies between.
    low, high = sorted((second.astimezone(UTC), first.astimezone(UTC)))
    return _first_moment_with_offset(low, high, zone, first.utcoffset()).astimezone(zone)


def latest_slot(schedule: Schedule, now: datetime) -> Slot:
    """The last slot that started at or before `now`."""
    local = now.astimezone(schedule.zone).date()
    # A slot can start on the day after its date (a gap at midnight), so look one day ahead.
    for offset in range(-1, 9):
        day = local - timedelta(days=offset)
        if day.weekday() in schedule.days:
            slot = slot_on(schedule, day)
            if slot.starts <= now:
                return slot
    raise AssertionError("a weekly schedule always has a slot in the last eight days")


def next_slot(schedule: Schedule, now: datetime) -> Slot:
    """The first slot that starts after `now`."""
    local = now.astimezone(schedule.zone).date()
    for offset in range(-1, 9):
        day = local + timedelta(days=offset)
        if day.weekday() in schedule.days:
            slot = slot_on(schedule, day)
            if slot.starts > now:
                return slot
    raise AssertionError("a weekly schedule always has a slot in the next eight days")


def decide(
    schedule: Schedule, now: datetime, served: Iterable[str] | Callable[[str], bool]
) -> SlotDecision:
    """Whether a scheduled run at `now` sends; `served` holds (or tests) the slot ids done."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    is_served = served if callable(served) else set(served).__contains__
    current = latest_slot(schedule, now)
    upcoming = next_slot(schedule, now)
    closes = min(current.starts + SLOT_OPEN_FOR, upcoming.starts)
    local_now = now.astimezone(schedule.zone)
    clock = f"It is {local_now:%A %H:%M} in {schedule.timezone}"
    if now < closes and not is_served(current.id):
        late_by = now - current.starts
        reason = f"{clock}: the slot {current.describe()} has come"
        if late_by >= timedelta(minutes=1):
            reason += f" ({describe_duration(late_by)} ago)"
        return SlotDecision(True, current, upcoming, late_by, reason + "; sending.")
    if now < closes:
        reason = (
            f"{clock}: the issue of the slot {current.describe()} has already gone out; "
            f"the next slot is {upcoming.describe()}."
        )
    elif is_served(current.id):
        reason = (
            f"{clock}, before the next slot {upcoming.describe()}; nothing goes out until then."
        )
    else:
        reason = (
            f"{clock}: no scheduled run came during the slot {current.describe()}, so its posts "
            f"wait for the next slot {upcoming.describe()} (press Run workflow to send now)."
        )
    return SlotDecision(False, current, upcoming, timedelta(0), reason)


def describe_duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def cron_entries(schedule: Schedule, retry_after: timedelta) -> Sequence[tuple[str, str]]:
    """Cron lines for a zoned GitHub schedule: each slot, and a retry `retry_after` later.

    Each entry is (cron expression, comment). The times are wall-clock in the schedule's zone,
    as GitHub reads them next to a `timezone:` key.
    """
    entries: list[tuple[str, str]] = []
    for label, shift in (("the slot", timedelta(0)), ("a retry", retry_after)):
        by_time: dict[tuple[int, int], list[int]] = {}
        for day in schedule.days:
            moment = datetime.combine(date(2024, 1, 1) + timedelta(days=day), schedule.time)
            moment += shift
            by_time.setdefault((moment.hour, moment.minute), []).append(moment.weekday())
        for (hour, minute), weekdays in sorted(by_time.items()):
            # Cron counts Sunday as 0; Python's weekday() counts Monday as 0.
            cron_days = ",".join(str(day) for day in sorted((day + 1) % 7 for day in weekdays))
            names = ", ".join(WEEKDAYS[day].capitalize() for day in sorted(weekdays))
            entries.append(
                (f"{minute} {hour} * * {cron_days}", f"{label}: {names} {hour:02d}:{minute:02d}")
            )
    return entries


def _round_trips(moment: datetime) -> bool:
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _first_moment_with_offset(
    low: datetime, high: datetime, zone: ZoneInfo, before: timedelta | None
) -> datetime:
    """Bisect (to the second) for the first UTC moment whose offset differs from `before`."""
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)
