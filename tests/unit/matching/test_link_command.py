"""`cmehub link A B --out C` and `cmehub link train` on small CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from services.cli import app
from services.matching.config import load_config

REGISTER = """id,given_name,surname,date_of_birth,sex,address,postcode,nhs_number,upn
r1,Oliver,Brown,2014-02-15,M,1 High Street Leeds,LS1 4AB,9434765919,
r2,Amira,Hussain,20130704,F,4 Mill Lane Leeds,LS6 2QT,,H801200001001
r3,Layla,Hussain,04/07/2013,F,4 Mill Lane Leeds,LS6 2QT,,
r4,Jack,Smith,2012-11-30,M,9 Oak Drive York,YO1 7HH,,
"""
RECORDS = """postcode,id,given_name,surname,date_of_birth,nhs_number,unused
LS1 4AB,n1,Olly,Brown,15/02/2014,,x
,n2,Amira,Hussain,2013-07-04,,
LS6 2QT,n3,Yusuf,Hussain,2013-07-04,,
YO1 7HH,n4,Ruby,Okafor,2010-01-01,12345,
,n5,,,,,
"""


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    register = tmp_path / "register.csv"
    records = tmp_path / "records.csv"
    register.write_text(REGISTER, encoding="utf-8")
    records.write_text(RECORDS, encoding="utf-8")
    return register, records, tmp_path / "links.csv"


def test_link_writes_one_row_per_record(tmp_path: Path) -> None:
    register, records, out = _files(tmp_path)
    result = CliRunner().invoke(app, ["link", str(register), str(records), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert [r["record_id"] for r in rows] == ["n1", "n2", "n3", "n4", "n5"]
    assert list(rows[0]) == ["record_id", "register_id", "match_probability", "decision"]
    by_id = {r["record_id"]: r for r in rows}
    assert (by_id["n1"]["register_id"], by_id["n1"]["decision"]) == ("r1", "match")
    assert (by_id["n2"]["register_id"], by_id["n2"]["decision"]) == ("r2", "match")
    assert by_id["n3"]["decision"] != "match"  # the twins' brother is not on the register
    assert by_id["n5"] == {
        "record_id": "n5",
        "register_id": "",
        "match_probability": "0.000000",
        "decision": "no_match",
    }
    assert 0.0 <= float(by_id["n4"]["match_probability"]) <= 1.0


def test_link_reports_unreadable_input_without_a_traceback(tmp_path: Path) -> None:
    register, _, out = _files(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nOliver\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["link", str(register), str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "no 'id' column" in result.output


def test_train_writes_a_loadable_configuration(tmp_path: Path) -> None:
    register, records, _ = _files(tmp_path)
    trained = tmp_path / "trained.yaml"
    result = CliRunner().invoke(
        app, ["link", "train", str(register), "--records", str(records), "--out", str(trained), "--u-pairs", "500"]
    )
    assert result.exit_code == 0, result.output
    config = load_config(trained)
    assert config.trained["register_records"] == 4
    assert config.trained["u_random_pairs"] > 0
    # Data this small changes little, but u must have been re-measured.
    assert config.comparison("date_of_birth").levels[0].u != load_config().comparison("date_of_birth").levels[0].u
