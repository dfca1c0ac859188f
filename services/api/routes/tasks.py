"""Officers: work due, soonest first, with what is overdue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.api.deps import HubDep, OfficerCaller, SaneDate
from services.api.routes.cases import TaskOut
from services.register.model import TaskState
from services.register.orm import TaskRow

router = APIRouter(prefix="/v1/tasks", tags=["officer"])


class TasksDue(BaseModel):
    as_of: dt.date
    due_by: dt.date
    overdue: int
    tasks: list[TaskOut]


@router.get("/due", response_model=TasksDue, summary="Open tasks due by a date")
def tasks_due(
    caller: OfficerCaller, hub: HubDep,
    by: SaneDate | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> TasksDue:
    """Open tasks due on or before ``by`` (default: a week from today), overdue ones first."""
    today = dt.date.today()
    due_by = by or today + dt.timedelta(days=7)
    with hub.sessions() as session:
        rows = list(session.scalars(sa.select(TaskRow).where(TaskRow.state == TaskState.OPEN.value,
                                                             TaskRow.due_on <= due_by)
                                    .order_by(TaskRow.due_on, TaskRow.id).limit(limit)))
    tasks = [TaskOut(task_id=r.id, case_id=r.case_id, kind=r.kind, opened_on=r.opened_on, due_on=r.due_on,
                     state=r.state, overdue=r.due_on < today, escalated_on=r.escalated_on) for r in rows]
    return TasksDue(as_of=today, due_by=due_by, overdue=sum(t.overdue for t in tasks), tasks=tasks)
