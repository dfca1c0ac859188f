"""Year groups from dates of birth, postcode distances, national offer days, the no-show referral."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from schemas.examples import example_event
from services.places.geo import CentroidFileError, district, load_centroids
from services.places.years import age_on, phase_of, year_group_for
from services.register.model import Child, DfeReason, ReferralSource
from services.register.referrals import effects_of
from services.transitions.offer_days import national_offer_day


@pytest.mark.parametrize(("dob", "on", "wanted"), [
    (dt.date(2020, 8, 31), dt.date(2025, 9, 1), "Y1"),
    (dt.date(2020, 9, 1), dt.date(2025, 9, 1), "R"),
    (dt.date(2021, 9, 1), dt.date(2025, 9, 1), None),  # not yet of Reception age
    (dt.date(2014, 3, 1), dt.date(2025, 9, 10), "Y7"),
    (dt.date(2014, 3, 1), dt.date(2025, 8, 31), "Y6"),
    (dt.date(2017, 5, 5), dt.date(2025, 11, 10), "Y4"),
    (dt.date(2008, 1, 1), dt.date(2025, 11, 10), "Y13"),
    (dt.date(2007, 1, 1), dt.date(2025, 11, 10), None),
])
def test_year_group_for(dob: dt.date, on: dt.date, wanted: str | None) -> None:
    assert year_group_for(dob, on) == wanted


def test_age_and_phase() -> None:
    assert age_on(dt.date(2012, 3, 3), dt.date(2025, 3, 2)) == 12
    assert age_on(dt.date(2012, 3, 3), dt.date(2025, 3, 3)) == 13
    assert (phase_of("R"), phase_of("Y6"), phase_of("Y7")) == ("primary", "primary", "secondary")


def test_distances_from_the_shipped_district_centroids() -> None:
    centroids = load_centroids()
    assert district("LS6 1AA") == "LS6" and district("ls10 2ab") == "LS10" and district("LS6") == "LS6"
    assert centroids.distance_km("LS6 1AA", "LS6 9ZZ") == 0.0
    near = centroids.distance_km("LS6 1AA", "LS7 1AA")
    far = centroids.distance_km("LS6 1AA", "WF1 1AA")
    assert near is not None and far is not None and 1 < near < 5 < 10 < far < 25
    assert centroids.distance_km("LS6 1AA", "ZZ99 1AA") is None


def test_a_configured_centroid_file_holds_full_postcodes(tmp_path: Path) -> None:
    path = tmp_path / "centroids.csv"
    path.write_text("postcode,lat,lon\nLS6 1AA,53.82,-1.57\nLS6,53.00,-1.00\n")
    centroids = load_centroids(path)
    assert centroids.locate("ls61aa") == (53.82, -1.57) and centroids.locate("LS6 2BB") == (53.0, -1.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("postcode,lat,lon\nLS6,north,-1\n")
    with pytest.raises(CentroidFileError, match="line 2"):
        load_centroids(bad)
    with pytest.raises(CentroidFileError, match="cannot read"):
        load_centroids(tmp_path / "missing.csv")


def test_national_offer_days() -> None:
    assert national_offer_day("secondary", 2025) == dt.date(2025, 3, 3)  # 1 March 2025 was a Saturday
    assert national_offer_day("reception", 2025) == dt.date(2025, 4, 16)
    assert national_offer_day("secondary", 2026) == dt.date(2026, 3, 2)  # a Sunday
    with pytest.raises(ValueError, match="reception"):
        national_offer_day("nursery", 2025)


def test_a_no_show_opens_a_referral_unless_the_child_is_on_that_roll() -> None:
    event = example_event("admissions.no_show")
    fx = effects_of(event, None, Child(id="c1", la_code="383"), "383")
    assert fx.referral is not None
    assert fx.referral.reason is DfeReason.OFFERED_PLACE_NOT_STARTED and fx.referral.source is ReferralSource.HUB
    assert "3834001" in fx.referral.why and "5 school days" in fx.referral.why
    on_roll = effects_of(event, None, Child(id="c1", la_code="383", current_school="3834001"), "383")
    assert on_roll.referral is None
    missing_return = effects_of({**event, "no_show_kind": "admission_return_missing"}, None, None, "383")
    assert missing_return.referral is not None and missing_return.referral.reason is DfeReason.WHEREABOUTS_UNKNOWN
