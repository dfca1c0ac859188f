"""Which notifications open a case and which move it (DOMAIN.md §6), on real event shapes."""

from __future__ import annotations

import datetime as dt

import pytest

from services.register.lifecycle import TriggerKind as K
from services.register.model import CaseStatus as S
from services.register.model import Child, ClosureReason, DfeReason, ReferralSource, RiskFlag
from services.register.referrals import effects_of, is_compulsory_school_age
from tests.unit.register import builders as b

D = dt.date
DAY = D(2025, 11, 3)


def kinds(fx: object) -> list[K]:
    return [t.kind for t in fx.triggers]  # type: ignore[attr-defined]


@pytest.mark.parametrize("ground", ["9(1)(a)", "9(1)(g)", "9(1)(m)", "9(1)(n)"])
def test_deletion_without_destination_opens_a_case(ground: str) -> None:
    fx = effects_of(b.deletion(DAY, "d1", ground=ground), None, None, "383")
    assert fx.referral is not None
    assert (fx.referral.source, fx.referral.reason, fx.referral.last_school) == (
        ReferralSource.SCHOOL, DfeReason.WHEREABOUTS_UNKNOWN, b.SCHOOL)
    assert fx.leaves_school == b.SCHOOL and kinds(fx) == []


@pytest.mark.parametrize("ground", ["9(1)(h)", "9(1)(i)"])
def test_deletion_after_failed_joint_enquiries_opens_as_not_found(ground: str) -> None:
    fx = effects_of(b.deletion(DAY, "d1", ground=ground), None, None, "383")
    assert fx.referral is not None and kinds(fx) == [K.NOT_FOUND]
    assert kinds(effects_of(b.deletion(DAY, "d1", ground=ground), S.LOST_PUPIL, None, "383")) == []


@pytest.mark.parametrize("ground", ["9(1)(b)", "9(1)(c)", "9(1)(d)", "9(1)(e)", "9(1)(f)", "9(1)(j)"])
def test_deletion_on_other_grounds_opens_nothing(ground: str) -> None:
    fx = effects_of(b.deletion(DAY, "d1", ground=ground), None, None, "383")
    assert fx.referral is None and fx.triggers == []


def test_deletion_to_a_known_school_moves_an_open_case() -> None:
    here = effects_of(b.deletion(DAY, "d1", ground="9(1)(a)", new_school_laestab="3834001"), S.ENQUIRIES, None, "383")
    assert kinds(here) == [K.START_PROVISION] and here.referral is None
    away = effects_of(b.deletion(DAY, "d1", ground="9(1)(a)", new_school_laestab="8204001"), S.ENQUIRIES, None, "383")
    assert kinds(away) == [K.LOCATE_OTHER_LA] and away.triggers[0].located_la == "820"
    assert effects_of(b.deletion(DAY, "d1", new_school_laestab="8204001"), None, None, "383").referral is None


def test_move_to_another_authority_without_a_school_opens_to_hand_over() -> None:
    fx = effects_of(b.deletion(DAY, "d1", ground="9(1)(g)", destination_la="820"), None, None, "383")
    assert fx.referral is not None and kinds(fx) == [K.LOCATE_OTHER_LA]


def test_death_and_end_of_compulsory_age_close_an_open_case() -> None:
    died = effects_of(b.deletion(DAY, "d1", ground="9(1)(k)"), S.NOT_FOUND, None, "383")
    assert kinds(died) == [K.CLOSE] and died.triggers[0].closure_reason is ClosureReason.DIED
    assert effects_of(b.deletion(DAY, "d1", ground="9(1)(k)"), None, None, "383").triggers == []


def test_permanent_exclusion_and_safeguarding_concern() -> None:
    fx = effects_of(b.deletion(DAY, "d1", ground="9(1)(o)", safeguarding_concern=True), None, None, "383")
    assert fx.referral is not None and fx.referral.reason is DfeReason.PERMANENTLY_EXCLUDED
    assert kinds(fx) == [K.ESCALATE]


def test_absence_referral_opens_with_the_joint_enquiry_clock() -> None:
    fx = effects_of(b.absence(D(2025, 10, 24), "a1", D(2025, 10, 13), enquiries_made=["phoned parents"]),
                    None, None, "383")
    assert fx.referral is not None and fx.referral.first_day_absent == D(2025, 10, 13)
    assert kinds(fx) == [K.START_ENQUIRIES] and fx.current_school == b.SCHOOL


def test_lost_pupil_ctf_opens_or_moves_to_lost_pupil() -> None:
    fresh = effects_of(b.lost_ctf(DAY, "c001"), None, None, "383")
    assert fresh.referral is not None and kinds(fresh) == [K.NOT_FOUND, K.LOST_PUPIL_CTF]
    assert fresh.destination_code == "XXXXXXX"
    assert kinds(effects_of(b.lost_ctf(DAY, "c001"), S.NOT_FOUND, None, "383")) == [K.LOST_PUPIL_CTF]
    assert kinds(effects_of(b.lost_ctf(DAY, "c001"), S.LOST_PUPIL, None, "383")) == []


def test_admission_and_police_found_move_an_open_case() -> None:
    assert kinds(effects_of(b.admission(DAY, "ad1"), S.LOST_PUPIL, None, "383")) == [K.START_PROVISION]
    assert effects_of(b.admission(DAY, "ad1"), None, None, "383").current_school == "3832002"
    assert kinds(effects_of(b.police_found(DAY, "p1"), S.NOT_FOUND, None, "383")) == [K.LOCATE_LOCAL]
    on_roll = Child(id="c", la_code="383", current_school="3832002")
    assert kinds(effects_of(b.police_found(DAY, "p1"), S.NOT_FOUND, on_roll, "383")) == [K.START_PROVISION]


def test_police_missing_episode_opens_a_case_with_risk() -> None:
    fx = effects_of(b.missing_episode(DAY, "m1", risk="high"), None, None, "383")
    assert fx.referral is not None and fx.referral.source is ReferralSource.POLICE
    assert fx.referral is not None and RiskFlag.EXPLOITATION_RISK in fx.referral.risk_flags
    assert fx.date_last_seen == D(2025, 11, 2)


def test_border_arrival_of_a_school_age_child_from_abroad() -> None:
    fx = effects_of(b.arrival(DAY, "x1"), None, None, "383")
    assert fx.referral is not None and fx.referral.new_to_country and RiskFlag.NEW_ARRIVAL in fx.referral.risk_flags
    assert effects_of(b.arrival(DAY, "x1", resident="GBR"), None, None, "383").referral is None
    toddler = b.child(dob=D(2023, 1, 1))
    assert effects_of(b.arrival(DAY, "x1", kid=toddler), None, None, "383").referral is None


def test_departure_only_matters_for_a_child_on_roll() -> None:
    dep = b.arrival(DAY, "x2")
    dep.update(event_type="border.departure", direction="departure")
    assert effects_of(dep, None, None, "383").referral is None
    on_roll = Child(id="c", la_code="383", current_school="3832002")
    fx = effects_of(dep, None, on_roll, "383")
    assert fx.referral is not None and fx.referral.last_school == "3832002"


def test_enquiry_answer_from_another_authority_locates_the_child() -> None:
    fx = effects_of(b.enquiry_response(DAY, "e1", "ENQ-1", outcome="on_roll"), S.ENQUIRIES, None, "383")
    assert kinds(fx) == [K.LOCATE_OTHER_LA] and fx.enquiry is not None and fx.enquiry.answers
    unknown = b.enquiry_response(DAY, "e1", "ENQ-1", outcome="not_known")
    assert kinds(effects_of(unknown, S.ENQUIRIES, None, "383")) == []
    out = effects_of(b.enquiry_out(DAY, "e0", "ENQ-1"), S.REFERRED, None, "383")
    assert kinds(out) == [K.START_ENQUIRIES] and out.enquiry is not None
    assert out.enquiry.id == fx.enquiry.id  # both ends of the exchange name the same enquiry


def test_unknown_event_types_do_nothing() -> None:
    assert effects_of({"event_type": "match.decision", "event_id": "x"}, None, None, "383").triggers == []


@pytest.mark.parametrize(
    ("dob", "on", "expected"),
    [
        (D(2015, 6, 1), D(2020, 8, 31), True),  # the prescribed day after the 5th birthday
        (D(2015, 6, 1), D(2020, 8, 30), False),
        (D(2010, 10, 1), D(2027, 6, 25), True),  # last Friday of June in the year-11 summer
        (D(2010, 10, 1), D(2027, 6, 26), False),
        (D(2012, 2, 29), D(2017, 3, 31), True),
    ],
)
def test_compulsory_school_age(dob: dt.date, on: dt.date, expected: bool) -> None:
    assert is_compulsory_school_age(dob, on) is expected
