"""The weekly slot against a controlled clock: zones of every offset, DST weeks, late, early
and repeated runs. Every `now` is an explicit UTC moment, so no test depends on the machine."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter.config import parse_config
from newsletter.schedule import (
    SLOT_OPEN_FOR,
    Schedule,
    cron_entries,
    decide,
    latest_slot,
    next_slot,
    parse_days,
    parse_time,
    parse_timezone,
    slot_on,
    wall_clock_moment,
)

TUESDAY = 1


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def weekly(zone: str, at: str = "08:00", days: tuple[int, ...] = (TUESDAY,)) -> Schedule:
    return Schedule(timezone=zone, days=days, time=parse_time(at))


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Europe/London", "America/St_Johns", "UTC", "Asia/Kathmandu"])
def test_iana_names_are_accepted(name: str) -> None:
    assert parse_timezone(f" {name} ") == name


@pytest.mark.parametrize(
    "value",
    ["Mars/Olympus_Mons", "Europe/Londn", "", "  ", "../../etc/passwd", "/etc/localtime", 3],
)
def test_anything_but_a_known_zone_is_refused_with_the_way_to_fix_it(value: object) -> None:
    with pytest.raises(ValueError, match=r"IANA|time zone") as caught:
        parse_timezone(value)
    assert "Europe/London" in str(caught.value)


def test_days_are_english_weekday_names_in_any_case_and_order() -> None:
    assert parse_days(["Friday", "tuesday", "TUESDAY"]) == (1, 4)


@pytest.mark.parametrize("value", [[], "tuesday", ["tues"], ["tuesday", 2], ["dienstag"]])
def test_bad_days_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="weekday"):
        parse_days(value)


@pytest.mark.parametrize(("text", "expected"), [("08:00", time(8)), ("8:05", time(8, 5))])
def test_times_are_24_hour_local_times(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("value", ["24:00", "08:60", "8am", "08:00:00", "", 800])
def test_bad_times_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="24-hour"):
        parse_time(value)


def test_a_toml_time_of_day_is_read_as_the_author_meant_it() -> None:
    # `time = 08:00` without quotes is TOML's own local-time type, which tomllib gives as a
    # datetime.time: the same slot, not an error that shows a Python repr.
    written = parse_config(
        {
            "feed": {"url": "https://blog.example.org/feed.xml"},
            "newsletter": {"from": "Blog <news@blog.example.org>"},
            "schedule": {"timezone": "Europe/London", "days": ["tuesday"], "time": time(8, 0)},
        }
    )
    assert written.schedule is not None and written.schedule.time == time(8, 0)
    with pytest.raises(ValueError, match=r'24-hour local time such as "08:00", not 08:00:30'):
        parse_time(time(8, 0, 30))


# --- every class of UTC offset ------------------------------------------------------------------

# (zone, a Tuesday, the UTC moment of 08:00 local that day): whole, half and quarter hours, both
# sides of UTC, the extremes (-12, +14), and zones whose local Tuesday morning is Monday in UTC.
ZONES = [
    ("Etc/GMT+12", date(2026, 1, 13), utc(2026, 1, 13, 20, 0)),  # UTC-12
    ("Pacific/Marquesas", date(2026, 1, 13), utc(2026, 1, 13, 17, 30)),  # UTC-9:30
    ("America/Los_Angeles", date(2026, 1, 13), utc(2026, 1, 13, 16, 0)),  # UTC-8
    ("America/St_Johns", date(2026, 1, 13), utc(2026, 1, 13, 11, 30)),  # UTC-3:30
    ("UTC", date(2026, 1, 13), utc(2026, 1, 13, 8, 0)),
    ("Europe/London", date(2026, 7, 14), utc(2026, 7, 14, 7, 0)),  # BST, UTC+1
    ("Asia/Kolkata", date(2026, 1, 13), utc(2026, 1, 13, 2, 30)),  # UTC+5:30
    ("Asia/Kathmandu", date(2026, 1, 13), utc(2026, 1, 13, 2, 15)),  # UTC+5:45
    ("Australia/Eucla", date(2026, 1, 13), utc(2026, 1, 12, 23, 15)),  # UTC+8:45
    ("Australia/Adelaide", date(2026, 1, 13), utc(2026, 1, 12, 21, 30)),  # summer UTC+10:30
    ("Pacific/Chatham", date(2026, 1, 13), utc(2026, 1, 12, 18, 15)),  # summer UTC+13:45
    ("Pacific/Kiritimati", date(2026, 1, 13), utc(2026, 1, 12, 18, 0)),  # UTC+14
]


@pytest.mark.parametrize(("zone", "day", "slot_utc"), ZONES, ids=[z[0] for z in ZONES])
def test_the_slot_is_eight_oclock_on_the_local_tuesday(
    zone: str, day: date, slot_utc: datetime
) -> None:
    schedule = weekly(zone)
    slot = slot_on(schedule, day)
    assert slot.starts == slot_utc
    local = slot.starts.astimezone(ZoneInfo(zone))
    assert (local.weekday(), local.hour, local.minute) == (TUESDAY, 8, 0)
    assert slot.id == f"{day.isoformat()} 08:00 {zone}"


@pytest.mark.parametrize(("zone", "day", "slot_utc"), ZONES, ids=[z[0] for z in ZONES])
def test_early_on_time_late_and_repeated_runs_in_every_zone(
    zone: str, day: date, slot_utc: datetime
) -> None:
    schedule = weekly(zone)
    slot_id = f"{day.isoformat()} 08:00 {zone}"
    last_week = f"{(day - timedelta(days=7)).isoformat()} 08:00 {zone}"

    early = decide(schedule, slot_utc - timedelta(minutes=1), {last_week})
    assert not early.due
    assert early.next_slot.id == slot_id
    assert "next slot" in early.reason

    on_time = decide(schedule, slot_utc, {last_week})
    assert on_time.due and on_time.slot is not None
    assert on_time.slot.id == slot_id
    assert on_time.late_by == timedelta(0)

    late = decide(schedule, slot_utc + timedelta(hours=5, minutes=42), {last_week})
    assert late.due and late.slot is not None and late.slot.id == slot_id
    assert late.late_by == timedelta(hours=5, minutes=42)
    assert "5 h 42 min ago" in late.reason

    again = decide(schedule, slot_utc + timedelta(minutes=20), {last_week, slot_id})
    assert not again.due
    assert again.next_slot.id == f"{(day + timedelta(days=7)).isoformat()} 08:00 {zone}"
    assert "already gone out" in again.reason


# --- daylight saving ----------------------------------------------------------------------------


def test_a_slot_keeps_its_local_hour_across_the_spring_change() -> None:
    schedule = weekly("Europe/London", "08:00", days=(6,))  # Sundays; BST starts 2026-03-29
    before = slot_on(schedule, date(2026, 3, 22))
    change_day = slot_on(schedule, date(2026, 3, 29))
    after = slot_on(schedule, date(2026, 4, 5))
    assert before.starts == utc(2026, 3, 22, 8, 0)
    assert change_day.starts == utc(2026, 3, 29, 7, 0)
    assert after.starts == utc(2026, 4, 5, 7, 0)
    # A run at the winter UTC time, an hour after the summer slot, is late, not early.
    run = decide(schedule, utc(2026, 3, 29, 8, 0), {before.id})
    assert run.due and run.late_by == timedelta(hours=1)


def test_a_run_at_the_summer_utc_time_in_winter_is_an_hour_early() -> None:
    schedule = weekly("Europe/London", "08:00", days=(6,))  # GMT again from 2026-10-25
    earlier = slot_on(schedule, date(2026, 10, 18))
    run = decide(schedule, utc(2026, 10, 25, 7, 0), {earlier.id})
    assert not run.due
    assert run.next_slot.starts == utc(2026, 10, 25, 8, 0)
    assert "Sunday 25 October 2026 08:00 GMT (Europe/London)" in run.reason


def test_a_slot_the_clocks_skip_starts_at_the_jump() -> None:
    # London jumps from 01:00 GMT to 02:00 BST on 2026-03-29; 01:30 never happens that night.
    schedule = weekly("Europe/London", "01:30", days=(6,))
    slot = slot_on(schedule, date(2026, 3, 29))
    assert slot.starts == utc(2026, 3, 29, 1, 0)
    assert slot.starts.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M %Z") == "02:00 BST"
    previous = slot_on(schedule, date(2026, 3, 22)).id
    # GitHub's zoned cron moves a skipped time to the next valid one: that run must send.
    assert decide(schedule, utc(2026, 3, 29, 1, 0), {previous}).due
    assert not decide(schedule, utc(2026, 3, 29, 0, 59), {previous}).due


def test_a_half_hour_jump_is_handled_too() -> None:
    # Lord Howe Island moves its clocks forward by 30 minutes, 02:00 -> 02:30, on 2026-10-04.
    zone = ZoneInfo("Australia/Lord_Howe")
    moment = wall_clock_moment(datetime(2026, 10, 4, 2, 15), zone)
    assert moment.astimezone(zone).replace(tzinfo=None) == datetime(2026, 10, 4, 2, 30)


def test_a_slot_that_happens_twice_starts_at_the_first_and_is_served_once() -> None:
    # London goes back from 02:00 BST to 01:00 GMT on 2026-10-25; 01:30 happens twice.
    schedule = weekly("Europe/London", "01:30", days=(6,))
    slot = slot_on(schedule, date(2026, 10, 25))
    assert slot.starts == utc(2026, 10, 25, 0, 30), "01:30 BST, the first 01:30"
    previous = slot_on(schedule, date(2026, 10, 18)).id
    first = decide(schedule, utc(2026, 10, 25, 0, 31), {previous})
    assert first.due and first.slot == slot
    second = decide(schedule, utc(2026, 10, 25, 1, 31), {previous, slot.id})  # 01:31 GMT
    assert not second.due
    assert "already gone out" in second.reason


def test_new_york_keeps_eight_oclock_through_its_own_change_week() -> None:
    # The US changes on 2026-03-08, three weeks before Europe: EST (UTC-5) to EDT (UTC-4).
    schedule = weekly("America/New_York", "08:00", days=(0,))  # Mondays
    assert slot_on(schedule, date(2026, 3, 2)).starts == utc(2026, 3, 2, 13, 0)
    assert slot_on(schedule, date(2026, 3, 9)).starts == utc(2026, 3, 9, 12, 0)


# --- late, missed and several days ------------------------------------------------------------


def test_a_slot_stays_open_for_a_day_then_its_posts_wait() -> None:
    schedule = weekly("Europe/Berlin")
    slot = slot_on(schedule, date(2026, 2, 10))  # 08:00 CET = 07:00 UTC
    last_week = slot_on(schedule, date(2026, 2, 3)).id
    nearly = decide(schedule, slot.starts + SLOT_OPEN_FOR - timedelta(minutes=1), {last_week})
    assert nearly.due and nearly.slot == slot
    missed = decide(schedule, slot.starts + SLOT_OPEN_FOR, {last_week})
    assert not missed.due
    assert "no scheduled run came" in missed.reason
    assert missed.next_slot == slot_on(schedule, date(2026, 2, 17))


def test_a_schedule_set_up_midweek_does_not_send_an_old_slot() -> None:
    schedule = weekly("Europe/Berlin")
    decision = decide(schedule, utc(2026, 2, 10, 6, 30), set())  # Tuesday 07:30 CET
    assert not decision.due
    assert decision.next_slot.starts == utc(2026, 2, 10, 7, 0)


def test_the_next_days_slot_closes_the_previous_one() -> None:
    schedule = weekly("UTC", "20:00", days=(0, 1))  # Monday and Tuesday evenings
    monday = slot_on(schedule, date(2026, 2, 9))
    tuesday = slot_on(schedule, date(2026, 2, 10))
    late_monday = decide(schedule, utc(2026, 2, 10, 19, 0), set())
    assert late_monday.due and late_monday.slot == monday
    at_tuesday = decide(schedule, utc(2026, 2, 10, 20, 0), set())
    assert at_tuesday.due and at_tuesday.slot == tuesday
    assert next_slot(schedule, utc(2026, 2, 10, 20, 0)) == slot_on(schedule, date(2026, 2, 16))
    assert latest_slot(schedule, utc(2026, 2, 10, 19, 59)) == monday


def test_served_may_be_a_function_over_slot_ids() -> None:
    schedule = weekly("UTC")
    asked: list[str] = []

    def served(slot_id: str) -> bool:
        asked.append(slot_id)
        return True

    assert not decide(schedule, utc(2026, 2, 10, 9, 0), served).due
    assert asked == ["2026-02-10 08:00 UTC"]


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(weekly("UTC"), datetime(2026, 2, 10, 9, 0), set())


# --- cron lines for a zoned GitHub schedule -----------------------------------------------------


def test_cron_lines_name_the_local_slot_and_a_retry_in_cron_weekdays() -> None:
    schedule = weekly("Europe/London", "08:00", days=(1, 6))  # Tuesday and Sunday
    entries = cron_entries(schedule, timedelta(hours=4, minutes=17))
    assert [cron for cron, _ in entries] == ["0 8 * * 0,2", "17 12 * * 0,2"]


def test_a_retry_past_midnight_moves_to_the_next_weekday() -> None:
    schedule = weekly("UTC", "22:30", days=(5,))  # Saturday
    entries = cron_entries(schedule, timedelta(hours=3))
    assert [cron for cron, _ in entries] == ["30 22 * * 6", "30 1 * * 0"]
