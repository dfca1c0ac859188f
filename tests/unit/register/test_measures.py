"""Pure arithmetic of the measures, the DfE extract and retention."""

from __future__ import annotations

import datetime as dt

import pytest

from services.register import retention
from services.register.dfe_extract import national_curriculum_year
from services.register.measures import Period, band_for, pace_from_histogram, previous_school_year, school_year_of

D = dt.date


def test_pace_from_histogram() -> None:
    pace = pace_from_histogram({3: 1, 10: 2, 40: 1})
    assert (pace.cases, pace.median_days, pace.mean_days, pace.within_20_days) == (4, 10, 15.8, 3)
    assert pace_from_histogram({}).median_days is None
    assert pace_from_histogram({5: 1, 7: 1}).median_days == 6


def test_time_missing_bands_and_school_years() -> None:
    assert [band_for(d) for d in (0, 27, 28, 364, 365)] == [
        "less than 4 weeks", "less than 4 weeks", "4 weeks to less than 3 months", "6 months to less than 1 year",
        "1 year or more"]
    with pytest.raises(ValueError):
        band_for(-1)
    assert school_year_of(D(2025, 10, 2)) == Period(D(2025, 9, 1), D(2026, 8, 31))
    assert previous_school_year(D(2026, 1, 5)) == Period(D(2024, 9, 1), D(2025, 8, 31))
    with pytest.raises(ValueError, match="ends"):
        Period(D(2025, 2, 1), D(2025, 1, 1))


def test_year_groups() -> None:
    assert national_curriculum_year(D(2014, 5, 17), D(2025, 10, 2)) == "Y7"
    assert national_curriculum_year(D(2014, 9, 1), D(2025, 10, 2)) == "Y6"
    assert national_curriculum_year(D(2020, 9, 1), D(2025, 10, 2)) == "R"
    assert national_curriculum_year(D(2020, 8, 31), D(2025, 10, 2)) == "Y1"
    assert national_curriculum_year(D(2008, 1, 1), D(2025, 10, 2)) == "outside Y0-Y11"



def test_keep_until_by_data_class() -> None:
    policy = retention.RetentionPolicy()
    assert retention.child_keep_until(D(2014, 5, 17), None, False, False, policy) == D(2045, 5, 17)
    assert retention.child_keep_until(D(2014, 5, 17), None, True, False, policy) == D(2059, 5, 17)
    assert retention.child_keep_until(D(2014, 5, 17), None, True, True, policy) == D(2089, 5, 17)
    assert retention.child_keep_until(None, D(2025, 1, 1), False, False, policy) == D(2050, 1, 1)


def test_risk_bits_stay_as_migration_0002_stored_them() -> None:
    import importlib.util
    from pathlib import Path

    from services.register.model import RISK_BITS, RiskFlag, risk_mask

    path = next((Path(retention.__file__).parent / "migrations" / "versions").glob("0002_*.py"))
    spec = importlib.util.spec_from_file_location("register_migration_0002", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert {flag.value: bit for flag, bit in RISK_BITS.items()} == migration.RISK_BITS
    assert risk_mask({RiskFlag.LOOKED_AFTER, RiskFlag.NEW_ARRIVAL}) == 65
