"""Officers: the dashboard measures and the DfE termly CME collection (counts only)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from services.api.deps import HubDep, OfficerCaller, SaneDate
from services.register.dfe_extract import build_extract
from services.register.measures import Period, school_year_of
from services.register.views import dashboard

router = APIRouter(prefix="/v1/statistics", tags=["officer"])


class MeasuresOut(BaseModel):
    as_of: dt.date
    period: dict[str, dt.date]
    cme_now: int
    cme_any_point: int
    referred_in_period: int
    new_to_area: int
    new_to_country: int
    whereabouts_unknown: int
    overdue_tasks: int
    overdue_follow_ups: int
    by_status: dict[str, int]
    by_reason: dict[str, int]
    by_risk: dict[str, int]
    closures_by_reason: dict[str, int]
    pace: dict[str, Any]


class ExtractRowOut(BaseModel):
    measure: str
    breakdown: str
    value: int


class ExtractOut(BaseModel):
    la_code: str
    census_date: dt.date
    rows: list[ExtractRowOut]


@router.get("", response_model=MeasuresOut, summary="Dashboard measures")
def measures(
    caller: OfficerCaller, hub: HubDep,
    as_of: SaneDate | None = None,
    period_start: SaneDate | None = None,
    period_end: SaneDate | None = None,
) -> MeasuresOut:
    """CME now and over a period (default: the school year to date), by status, reason and risk."""
    day = as_of or dt.date.today()
    year = school_year_of(day)
    try:
        period = Period(period_start or year.start, period_end or day)
    except ValueError as exc:
        raise RequestValidationError([{"loc": ("query", "period_end"), "msg": str(exc), "type": "value_error",
                                       "input": str(period_end)}]) from exc
    with hub.sessions() as session:
        m = dashboard(session, day, period)
    data = dataclasses.asdict(m)
    data["period"] = {"start": period.start, "end": period.end}
    return MeasuresOut.model_validate(data)


@router.get("/dfe-extract", response_model=ExtractOut, summary="DfE CME collection",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def dfe_extract(
    caller: OfficerCaller, hub: HubDep,
    census_date: SaneDate,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """The termly collection for a census date, as JSON or as the CSV to upload."""
    with hub.sessions() as session:
        extract = build_extract(session, census_date, hub.settings.la_code)
    if format == "csv":
        out = io.StringIO()
        extract.write_csv(out)
        return Response(out.getvalue(), media_type="text/csv")
    return JSONResponse(ExtractOut(la_code=extract.la_code, census_date=extract.census_date,
                                   rows=[ExtractRowOut(**dataclasses.asdict(r)) for r in extract.rows])
                        .model_dump(mode="json"))
