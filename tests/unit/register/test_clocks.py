"""Statutory clocks on Leeds's real 2025/26 term dates and England's bank holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from services.register import clocks
from services.register.clocks import CalendarError, ClockPolicy, SchoolCalendar

D = dt.date
POLICY = ClockPolicy()


@pytest.fixture(scope="module")
def leeds() -> SchoolCalendar:
    return clocks.load_calendar("383")


def test_shipped_calendar_is_leeds_with_two_school_years(leeds: SchoolCalendar) -> None:
    assert leeds.la_code == "383"
    assert [y.label for y in leeds.years] == ["2025/26", "2026/27"]
    assert leeds.years[0].status == "published"


@pytest.mark.parametrize(
    ("day", "school_day"),
    [
        (D(2025, 9, 1), True),  # first day of the 2025/26 autumn term
        (D(2025, 10, 24), True),  # Friday before October half term
        (D(2025, 10, 27), False),  # half term
        (D(2025, 11, 3), True),  # back after half term
        (D(2025, 12, 25), False),  # Christmas
        (D(2026, 4, 3), False),  # Good Friday, and the Easter break
        (D(2026, 5, 4), False),  # May Day bank holiday inside the summer term
        (D(2026, 5, 5), True),
        (D(2026, 5, 25), False),  # Spring bank holiday, in half term
        (D(2026, 7, 21), True),  # last day of the year
        (D(2026, 7, 22), False),
        (D(2025, 11, 8), False),  # Saturday
        (D(2027, 3, 26), False),  # Good Friday 2027 inside the provisional spring term
        (D(2027, 3, 29), False),  # Easter Monday 2027
        (D(2027, 3, 30), True),
    ],
)
def test_school_days(leeds: SchoolCalendar, day: dt.date, school_day: bool) -> None:
    assert leeds.is_school_day(day) is school_day


def test_home_visit_for_a_referral_on_the_friday_before_half_term(leeds: SchoolCalendar) -> None:
    # Friday 24 Oct 2025, then half term 27-31 Oct: the 5 school days are 3-7 Nov.
    assert clocks.home_visit_due(leeds, D(2025, 10, 24), POLICY) == D(2025, 11, 7)


def test_home_visit_before_february_half_term_and_christmas(leeds: SchoolCalendar) -> None:
    assert clocks.home_visit_due(leeds, D(2026, 2, 13), POLICY) == D(2026, 2, 27)
    assert clocks.home_visit_due(leeds, D(2025, 12, 19), POLICY) == D(2026, 1, 9)
    assert clocks.home_visit_due(leeds, D(2026, 4, 2), POLICY) == D(2026, 4, 24)


def test_home_visit_across_the_may_day_bank_holiday(leeds: SchoolCalendar) -> None:
    # Thu 30 Apr 2026: Fri 1 May (1), Mon 4 May is a bank holiday, Tue 5 - Fri 8 May (2-5).
    assert clocks.home_visit_due(leeds, D(2026, 4, 30), POLICY) == D(2026, 5, 8)


def test_referral_made_in_the_holidays_counts_from_the_next_term(leeds: SchoolCalendar) -> None:
    assert clocks.home_visit_due(leeds, D(2025, 10, 29), POLICY) == D(2025, 11, 7)


def test_joint_enquiry_window_spans_half_term(leeds: SchoolCalendar) -> None:
    # First day absent Mon 13 Oct 2025: day 10 is Fri 24 Oct; day 20 falls after half term.
    window = clocks.joint_enquiry_window(leeds, D(2025, 10, 13), POLICY)
    assert window == clocks.JointEnquiryWindow(opens_on=D(2025, 10, 24), closes_on=D(2025, 11, 14))


def test_first_day_absent_inferred_from_a_day_ten_referral(leeds: SchoolCalendar) -> None:
    assert clocks.first_day_absent_from_referral(leeds, D(2025, 10, 24)) == D(2025, 10, 13)
    # Day 10 on Tue 5 May 2026: counting back skips the May Day bank holiday.
    assert clocks.first_day_absent_from_referral(leeds, D(2026, 5, 5)) == D(2026, 4, 21)


def test_new_pupil_return_and_ctf_deadlines(leeds: SchoolCalendar) -> None:
    assert clocks.new_pupil_return_due(leeds, D(2025, 10, 22), POLICY) == D(2025, 11, 5)
    # 15 school days from Fri 12 Dec 2025: 15-19 Dec (5), 5-9 Jan (10), 12-16 Jan (15).
    assert clocks.ctf_transfer_due(leeds, D(2025, 12, 12), POLICY) == D(2026, 1, 16)


def test_s437_notice_counts_calendar_days_from_the_day_served() -> None:
    assert clocks.notice_period_end(D(2025, 11, 3), 15) == D(2025, 11, 17)
    with pytest.raises(ValueError):
        clocks.notice_period_end(D(2025, 11, 3), 0)


def test_follow_up_interval_is_configurable(leeds: SchoolCalendar) -> None:
    assert clocks.follow_up_due(leeds, D(2025, 11, 3), ClockPolicy(follow_up_interval_school_days=5)) == D(
        2025, 11, 10
    )


def test_school_days_between(leeds: SchoolCalendar) -> None:
    assert leeds.school_days_between(D(2025, 10, 24), D(2025, 11, 7)) == 5
    assert leeds.school_days_between(D(2025, 11, 7), D(2025, 10, 24)) == 0
    assert leeds.term_name(D(2025, 11, 3)) == "autumn 2"
    assert leeds.term_name(D(2025, 10, 28)) is None


def test_outside_known_years_falls_back_to_weekdays_or_refuses(leeds: SchoolCalendar) -> None:
    assert not leeds.is_known(D(2028, 1, 10))
    assert leeds.is_school_day(D(2028, 1, 10))  # a Monday, no bank holiday
    assert not leeds.is_school_day(D(2028, 1, 3))  # New Year's Day (substitute) bank holiday
    strict = clocks.calendar_from_mapping(
        {
            "la_code": "999",
            "outside_known_years": "error",
            "years": {"2025/26": {"terms": [{"first_day": "2025-09-01", "last_day": "2025-12-19"}]}},
        }
    )
    with pytest.raises(CalendarError, match="no term dates for LA 999"):
        strict.is_school_day(D(2028, 1, 10))


def test_bad_calendars_say_what_to_fix(tmp_path: object) -> None:
    with pytest.raises(CalendarError, match="last_day 2025-08-01 is before first_day"):
        clocks.calendar_from_mapping(
            {"la_code": "1", "years": {"x": {"terms": [{"first_day": "2025-09-01", "last_day": "2025-08-01"}]}}}
        )
    with pytest.raises(CalendarError, match="is not a date"):
        bad_date = {"terms": [{"first_day": "soon", "last_day": 1}]}
        clocks.calendar_from_mapping({"la_code": "1", "years": {"x": bad_date}})
    with pytest.raises(CalendarError, match="no school calendar for LA 000"):
        clocks.load_calendar("000")
