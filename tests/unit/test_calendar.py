"""The release calendar: holidays as the ``holidays`` package gives them, freeze windows, working days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from pydantic import ValidationError

from release_planner.tools import calendar as cal
from release_planner.tools.base import ReleaseContext
from release_planner.tools.calendar import (
    FreezeWindow,
    ReleaseCalendar,
    WorkWeek,
    next_working_day,
    problems_on,
)
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.release_plan import ReleasePlanSpec

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def every_day(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def kinds(
    calendar: ReleaseCalendar | None, when: date | datetime, week: WorkWeek = cal.STANDARD_WEEK
) -> list[str]:
    return [p.kind for p in problems_on(calendar, when, week)]


# ------------------------------------------------------------------ holidays


@pytest.mark.parametrize(
    ("country", "subdivision"),
    [("US", None), ("US", "CA"), ("GB", "ENG"), ("GB", "SCT"), ("DE", "BY"), ("DE", "BE"), ("FR", None)],
)
def test_the_holidays_of_a_calendar_are_exactly_the_packages_for_that_region(
    country: str, subdivision: str | None
) -> None:
    calendar = ReleaseCalendar(country=country, subdivision=subdivision)
    expected = holidays.country_holidays(country, subdiv=subdivision, years=2026)

    found = {day for day in every_day(2026) if calendar.holiday(day) is not None}

    assert found == set(expected)


def test_us_holidays_include_the_observed_day_off_and_name_it() -> None:
    us = ReleaseCalendar(country="US")

    assert us.holiday(date(2026, 7, 3)) == "Independence Day (observed)"  # July 4, 2026 is a Saturday
    assert us.holiday(date(2026, 11, 26)) == "Thanksgiving Day"
    assert us.holiday(date(2026, 11, 25)) is None


def test_england_and_scotland_differ_on_the_second_of_january_and_easter_monday() -> None:
    england = ReleaseCalendar(country="GB", subdivision="ENG")
    scotland = ReleaseCalendar(country="GB", subdivision="SCT")

    assert england.holiday(date(2026, 1, 2)) is None
    assert scotland.holiday(date(2026, 1, 2)) is not None
    assert england.holiday(date(2026, 4, 6)) == "Easter Monday"
    assert scotland.holiday(date(2026, 4, 6)) is None


def test_bavaria_keeps_epiphany_and_corpus_christi_which_berlin_does_not() -> None:
    bavaria = ReleaseCalendar(country="DE", subdivision="BY")
    berlin = ReleaseCalendar(country="DE", subdivision="BE")

    for day in (date(2026, 1, 6), date(2026, 6, 4)):
        assert bavaria.holiday(day) is not None
        assert berlin.holiday(day) is None
    assert bavaria.holiday(date(2026, 1, 6)) == "Epiphany"


def test_holiday_names_do_not_follow_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    cal.holidays_in.cache_clear()
    for variable in ("LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.setenv(variable, "de_DE.UTF-8")
    try:
        assert ReleaseCalendar(country="DE", subdivision="BY").holiday(date(2026, 1, 6)) == "Epiphany"
    finally:
        cal.holidays_in.cache_clear()


def test_countries_are_normalized_to_the_alpha_2_code() -> None:
    assert ReleaseCalendar(country="gb").country == "GB"
    assert ReleaseCalendar(country="UK").country == "GB"
    assert ReleaseCalendar(country=" de ").country == "DE"


def test_an_unknown_country_is_refused_with_valid_examples() -> None:
    with pytest.raises(ValidationError, match=r"'XX' is not a country.*alpha-2.*US, GB, DE"):
        ReleaseCalendar(country="XX")


def test_a_subdivision_is_accepted_by_code_or_name_and_stored_as_the_code() -> None:
    assert ReleaseCalendar(country="GB", subdivision="Scotland").subdivision == "SCT"
    assert ReleaseCalendar(country="US", subdivision="ca").subdivision == "CA"
    assert ReleaseCalendar(country="DE", subdivision="BY").region() == "DE-BY"


def test_an_unknown_subdivision_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(
        ValidationError, match=r"'Bavaria' is not a subdivision of GB; use one of ENG, NIR, SCT"
    ):
        ReleaseCalendar(country="GB", subdivision="Bavaria")


def test_a_subdivision_without_a_country_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs its country"):
        ReleaseCalendar(subdivision="ENG")


def test_a_stored_calendar_reads_back_equal() -> None:
    calendar = ReleaseCalendar(
        country="uk",
        subdivision="England",
        freeze_windows=[FreezeWindow(start="2026-12-18", end="2027-01-04", reason="Year-end")],
    )

    assert ReleaseCalendar.model_validate(calendar.model_dump(mode="json")) == calendar


# ------------------------------------------------------------------ freeze windows


def test_a_day_freeze_covers_its_first_and_last_day_and_nothing_around_them() -> None:
    freeze = FreezeWindow(start="2026-12-18", end="2027-01-04", reason="Year-end freeze")

    assert [freeze.covers_day(d, cal.STANDARD_WEEK) for d in (date(2026, 12, 17), date(2026, 12, 18))] == [
        False,
        True,
    ]
    assert [freeze.covers_day(d, cal.STANDARD_WEEK) for d in (date(2027, 1, 4), date(2027, 1, 5))] == [
        True,
        False,
    ]
    assert freeze.covers_moment(datetime(2027, 1, 4, 23, 59, tzinfo=NEW_YORK))
    assert not freeze.covers_moment(datetime(2027, 1, 5, 0, 0, tzinfo=NEW_YORK))


def test_a_one_day_freeze_may_start_and_end_on_the_same_day() -> None:
    freeze = FreezeWindow(start="2026-11-27", end="2026-11-27", reason="Black Friday")

    assert freeze.covers_day(date(2026, 11, 27), cal.STANDARD_WEEK)
    assert freeze.span() == "2026-11-27"


def test_a_timed_freeze_starts_inclusive_and_lifts_exclusive() -> None:
    freeze = FreezeWindow(
        start="2026-03-19T14:00", end="2026-03-19T15:30", timezone="Europe/London", reason="Board demo"
    )

    assert freeze.covers_moment(datetime(2026, 3, 19, 14, 0, tzinfo=LONDON))
    assert freeze.covers_moment(datetime(2026, 3, 19, 15, 29, tzinfo=LONDON))
    assert not freeze.covers_moment(datetime(2026, 3, 19, 15, 30, tzinfo=LONDON))
    assert not freeze.covers_moment(datetime(2026, 3, 19, 13, 59, tzinfo=LONDON))


def test_a_timed_freeze_compares_instants_across_zones() -> None:
    # London is on GMT and New York on EDT on 19 March 2026: 14:00 in London is 10:00 in New York.
    freeze = FreezeWindow(
        start="2026-03-19T14:00", end="2026-03-19T15:30", timezone="Europe/London", reason="Board demo"
    )

    assert freeze.covers_moment(datetime(2026, 3, 19, 10, 0, tzinfo=NEW_YORK))
    assert not freeze.covers_moment(datetime(2026, 3, 19, 9, 59, tzinfo=NEW_YORK))
    assert not freeze.covers_moment(datetime(2026, 3, 19, 11, 30, tzinfo=NEW_YORK))


def test_a_freeze_may_give_its_moments_with_offsets_instead_of_a_zone() -> None:
    freeze = FreezeWindow(start="2026-11-26T18:00-05:00", end="2026-11-30T06:00Z", reason="Thanksgiving")

    assert freeze.covers_moment(datetime(2026, 11, 26, 23, 0, tzinfo=ZoneInfo("UTC")))
    assert not freeze.covers_moment(datetime(2026, 11, 26, 22, 59, tzinfo=ZoneInfo("UTC")))
    assert not freeze.covers_moment(datetime(2026, 11, 30, 6, 0, tzinfo=ZoneInfo("UTC")))


def test_a_timed_freeze_covers_a_day_only_if_it_overlaps_the_days_working_hours() -> None:
    lifts_at_nine = FreezeWindow(
        start="2026-12-18T17:00", end="2027-01-04T09:00", timezone="America/New_York", reason="Year-end"
    )
    lifts_at_ten = lifts_at_nine.model_copy(update={"end": "2027-01-04T10:00"})
    week = WorkWeek(zone=NEW_YORK)

    assert not lifts_at_nine.covers_day(date(2026, 12, 18), week)  # begins at closing time
    assert lifts_at_nine.covers_day(date(2026, 12, 21), week)
    assert not lifts_at_nine.covers_day(date(2027, 1, 4), week)  # lifts at opening time
    assert lifts_at_ten.covers_day(date(2027, 1, 4), week)


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"start": "2026-12-18T10:00", "end": "2026-12-19T10:00"}, "local time with no zone"),
        ({"start": "2026-12-18", "end": "2026-12-19T10:00", "timezone": "UTC"}, "both as dates"),
        ({"start": "2026-12-18", "end": "2026-12-17"}, "before the first"),
        ({"start": "2026-12-18T10:00Z", "end": "2026-12-18T10:00Z"}, "must lift after it begins"),
        ({"start": "2026-12-18T10:00+02:00", "end": "2026-12-19", "timezone": "Europe/London"}, "offset"),
        (
            {"start": "2026-03-29T01:30", "end": "2026-03-29T05:00", "timezone": "Europe/London"},
            "does not exist",
        ),
        ({"start": "18/12/2026", "end": "2026-12-19"}, "neither a date"),
        ({"start": "2026-12-18", "end": "2026-12-19", "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_a_malformed_freeze_window_is_refused(window: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FreezeWindow(reason="test", **window)


# ------------------------------------------------------------------ problems and the next working day


def test_a_sound_working_day_and_time_have_no_problems() -> None:
    calendar = ReleaseCalendar(
        country="US", freeze_windows=[FreezeWindow(start="2026-12-18", end="2027-01-04", reason="Year-end")]
    )

    assert problems_on(calendar, date(2026, 3, 17)) == []
    assert problems_on(calendar, datetime(2026, 3, 17, 10, 0, tzinfo=NEW_YORK)) == []
    assert problems_on(None, date(2026, 3, 17)) == []


def test_problems_name_the_weekend_the_holiday_and_the_freeze() -> None:
    calendar = ReleaseCalendar(
        country="US", freeze_windows=[FreezeWindow(start="2026-12-18", end="2027-01-04", reason="Year-end")]
    )

    assert kinds(calendar, date(2026, 12, 26)) == ["day_off", "freeze"]
    [holiday, freeze] = problems_on(calendar, date(2026, 12, 25))
    assert holiday.text == "Christmas Day, a public holiday in US"
    assert freeze.text == "inside the freeze 'Year-end' (2026-12-18 to 2027-01-04)"
    assert kinds(None, date(2026, 3, 21)) == ["day_off"]


def test_a_moment_is_judged_on_its_local_day_and_hours() -> None:
    calendar = ReleaseCalendar(country="US")
    # 23:30 on Wednesday 25 November in New York is already Thanksgiving in UTC, not locally.
    late = datetime(2026, 11, 25, 23, 30, tzinfo=NEW_YORK)

    assert kinds(calendar, late) == ["outside_hours"]
    assert kinds(calendar, late, WorkWeek(zone=ZoneInfo("UTC"))) == ["holiday", "outside_hours"]


def test_working_days_and_hours_follow_the_given_week() -> None:
    four_days = WorkWeek(days=frozenset(range(4)), opens=time(8), closes=time(12))

    assert kinds(None, date(2026, 3, 20), four_days) == ["day_off"]  # a Friday
    assert kinds(None, datetime(2026, 3, 19, 12, 0, tzinfo=NEW_YORK), four_days) == ["outside_hours"]
    assert kinds(None, datetime(2026, 3, 19, 8, 0, tzinfo=NEW_YORK), four_days) == []


def test_the_next_working_day_skips_weekends_holidays_and_freezes() -> None:
    england = ReleaseCalendar(country="GB", subdivision="ENG")
    scotland = ReleaseCalendar(country="GB", subdivision="SCT")
    frozen = ReleaseCalendar(
        country="US", freeze_windows=[FreezeWindow(start="2026-12-18", end="2027-01-04", reason="Year-end")]
    )

    # Good Friday, the weekend and Easter Monday in England; Scotland works on Easter Monday.
    assert next_working_day(england, date(2026, 4, 2)) == date(2026, 4, 7)
    assert next_working_day(scotland, date(2026, 4, 2)) == date(2026, 4, 6)
    assert next_working_day(frozen, date(2026, 12, 17)) == date(2027, 1, 5)
    assert next_working_day(None, date(2026, 3, 20)) == date(2026, 3, 23)


# ------------------------------------------------------------------ the plan's Markdown


def test_the_plan_shows_its_calendar_and_a_plan_without_one_shows_none() -> None:
    args = {
        **plan_example.ARGS,
        "calendar": {
            "country": "GB",
            "subdivision": "Scotland",
            "freeze_windows": [
                {"start": "2026-12-18", "end": "2027-01-04", "reason": "Year-end change freeze"},
                {"start": "2026-11-27T00:00", "end": "2026-11-30T06:00", "timezone": "America/New_York",
                 "reason": "Black Friday"},
            ],
        },
    }  # fmt: skip
    with_calendar = ReleasePlanSpec.model_validate(args)
    without = ReleasePlanSpec.model_validate(plan_example.ARGS)
    ctx = ReleaseContext("2.5.0")

    assert (
        "## Release Calendar\n\n**Public holidays:** GB-SCT\n**Freeze windows:**\n"
        "- 2026-12-18 to 2027-01-04: Year-end change freeze\n"
        "- from 2026-11-27 00:00 America/New_York until 2026-11-30 06:00 America/New_York: Black Friday\n\n"
    ) in with_calendar.render(ctx)
    assert "Release Calendar" not in without.render(ctx)
