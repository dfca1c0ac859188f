"""The console's pages under /console/: sign-in, dashboard, caseload, case, review queue, enquiries, operations.

Routes stay thin: who may open a page is the ``viewer`` dependency (roles in access.PAGES); what a
page shows comes from queries.py and the register's views; changes go through the register's and
the matcher's handlers, and every read of a case and every decision is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from schemas.codec import UndecodableMessage, default_codec
from schemas.topics import HEADER_ATTEMPTS, HEADER_ERROR, HEADER_ORIGINAL_TOPIC
from services.api.audit import AuditEntry
from services.api.console import charts, queries
from services.api.console.access import COOKIE, ConsoleSession, csrf_matches, may, sees_personal_data
from services.api.console.masking import mask_identifier, mask_name, mask_text
from services.api.console.notes import label_of, summary_of
from services.api.console.state import HERE, ConsoleState
from services.api.console.users import ConsoleUser, Role
from services.api.notifications import FAMILY_OF_SOURCE, BrokerUnavailable
from services.matching.pipeline import ReviewAlreadyDecided, ReviewNotFound
from services.register.dfe_extract import REASON_LABELS
from services.register.handlers import UnknownCase, act_on_case
from services.register.lifecycle import IllegalTransition, Trigger, TriggerKind
from services.register.measures import Period, school_year_of
from services.register.model import OPEN_STATUSES, CaseStatus, ClosureReason, RiskFlag, TaskState
from services.register.repository import RegisterRepository
from services.register.unit_of_work import UnitOfWorkFactory
from services.register.views import NotFoundInRegister, child_timeline, dashboard

router = APIRouter(prefix="/console", include_in_schema=False)
STATIC = HERE / "static"
PURPOSE = "CME case work (console)"
# Officer actions offered on a case page (the lifecycle refuses those that do not fit the case's state).
ACTIONS = (TriggerKind.START_ENQUIRIES, TriggerKind.LOCATE_LOCAL, TriggerKind.LOCATE_OTHER_LA,
           TriggerKind.LOCATE_ABROAD, TriggerKind.START_PROVISION, TriggerKind.NOT_FOUND, TriggerKind.ESCALATE,
           TriggerKind.LOST_PUPIL_CTF, TriggerKind.RECHECK, TriggerKind.CLOSE)
# Pages hold personal data: never cached, never framed, scripts and styles only from the console itself.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
NOTICES = {"moved": "The case was moved on.", "accepted": "The notification was recorded against the child.",
           "rejected": "The notification was recorded as a new child.", "replayed": "The message was sent again.",
           "signed-out": "You have signed out."}


class ConsoleRedirect(Exception):
    """Send the browser elsewhere (to sign in)."""

    def __init__(self, location: str) -> None:
        self.location = location


class ConsoleForbidden(Exception):
    """The signed-in user's role may not open this page."""


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    state.ensure_tables()
    return state


StateDep = Annotated[ConsoleState, Depends(state_of)]


def browser_session(request: Request, state: StateDep) -> ConsoleSession:
    """The session the cookie carries, or a new anonymous one (set on the response by ``render``)."""
    found = state.codec.loads(request.cookies.get(COOKIE))
    if found is None:
        found = state.codec.anonymous()
        request.state.new_session = found
    return found


SessionDep = Annotated[ConsoleSession, Depends(browser_session)]


@dataclass(frozen=True)
class Viewer:
    """The signed-in user on this request."""

    user: ConsoleUser
    session: ConsoleSession
    state: ConsoleState

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def actor(self) -> str:
        return f"console:{self.user.username}"

    @property
    def unmasked(self) -> bool:
        return sees_personal_data(self.user.role)

    def may(self, page: str) -> bool:
        return may(self.user.role, page)

    def audit(self, action: str, subject_type: str, subject_id: str, detail: str = "") -> None:
        hub = self.state.hub
        hub.audit.append(AuditEntry(self.actor, hub.settings.la_code, action, subject_type, subject_id, PURPOSE,
                                    detail))


def viewer_for(page: str) -> Any:
    def check(request: Request, state: StateDep, session: SessionDep) -> Viewer:
        if not session.signed_in:
            raise ConsoleRedirect(f"/console/login?next={quote(str(request.url.path))}")
        user = state.users.get(session.username or "")
        if user is None or user.disabled:
            raise ConsoleRedirect("/console/login")
        if not may(user.role, page):
            raise ConsoleForbidden()
        return Viewer(user, session, state)

    return check


def _csrf(viewer: Viewer, token: str) -> None:
    if not csrf_matches(viewer.session, token):
        raise HTTPException(400, detail="the form expired or did not come from this console: reload and try again")


def render(request: Request, state: ConsoleState, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page with the layout's context; sets the session cookie when this request started one."""
    session: ConsoleSession | None = (getattr(request.state, "new_session", None) or context.get("session")
                                      or state.codec.loads(request.cookies.get(COOKIE)))
    notice = NOTICES.get(request.query_params.get("notice", ""))
    response = state.templates.TemplateResponse(request, template, {
        "la_name": state.hub.settings.la_name, "la_code": state.hub.settings.la_code, "notice": notice,
        "csrf": session.csrf if session else "", **context}, status_code=status)
    new = getattr(request.state, "new_session", None)
    if new is not None:
        set_cookie(response, state, new)
    response.headers.update(SECURITY_HEADERS)
    return response


def set_cookie(response: Response, state: ConsoleState, session: ConsoleSession) -> None:
    response.set_cookie(COOKIE, state.codec.dumps(session), max_age=state.codec.ttl_s, httponly=True,
                        samesite="strict", secure=state.hub.settings.console_cookie_secure, path="/console")


def page(request: Request, viewer: Viewer, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, viewer.state, template, status, viewer=viewer, session=viewer.session, **context)


# -- static files, sign-in ---------------------------------------------------------------------------


@router.get("/static/{name:path}")
def static(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    if STATIC.resolve() not in path.parents or not path.is_file():
        raise HTTPException(404, detail="no such file")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/console/dashboard", status_code=303)


def _safe_next(target: str | None) -> str:
    # Only back into the console: never an open redirect to another site.
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/dashboard"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, state: StateDep, session: SessionDep, next: str = "") -> HTMLResponse:
    return render(request, state, "login.html", session=session, next=_safe_next(next), error=None,
                  sso=bool(state.hub.settings.console_oidc_issuer))


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, state: StateDep, session: SessionDep, username: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=1000)] = "", csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "") -> Response:
    def again(error: str, status: int) -> HTMLResponse:
        return render(request, state, "login.html", status, session=session, next=_safe_next(next), error=error,
                      sso=False, username=username)

    if not csrf_matches(session, csrf_token):
        return again("The sign-in form expired. Try again.", 400)
    name = username.strip().lower()
    if not name or not password:
        return again("Enter your username and password.", 400)
    if state.throttle.blocked(name):
        return again("Too many failed attempts. Wait 15 minutes or ask an administrator.", 429)
    user = state.users.authenticate(name, password)
    if user is None:
        state.throttle.failed(name)
        return again("The username or password is not right.", 401)
    state.throttle.succeeded(name)
    state.hub.audit.append(AuditEntry(f"console:{user.username}", state.hub.settings.la_code, "console.sign_in",
                                      "console_user", user.username, "sign-in", user.role.value))
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(response, state, state.codec.signed_in(user.username, user.role))
    return response


@router.get("/sso", response_class=HTMLResponse)
def single_sign_on(request: Request, state: StateDep, session: SessionDep) -> HTMLResponse:
    return render(request, state, "sso.html", session=session, issuer=state.hub.settings.console_oidc_issuer)


@router.post("/logout")
def logout(request: Request, state: StateDep, session: SessionDep, csrf_token: Annotated[str, Form()] = "",
           ) -> RedirectResponse:
    response = RedirectResponse("/console/login?notice=signed-out", status_code=303)
    if csrf_matches(session, csrf_token):
        response.delete_cookie(COOKIE, path="/console")
    return response


# -- dashboard ---------------------------------------------------------------------------------------


def _label(value: str) -> str:
    return REASON_LABELS.get(value, value.replace("_", " ").capitalize())


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("dashboard"))]) -> HTMLResponse:
    today = dt.date.today()
    month = Period(today.replace(day=1), today)
    year = school_year_of(today)
    state = viewer.state
    with state.hub.sessions() as session:
        scope = state.hub.settings.la_code if state.shared_register(session) else None
        this_month = dashboard(session, today, month, scope)
        series = state.cme_series(session, today)
        pace = queries.pace_bands(session, year.start, min(year.end, today))
    points = [(d.strftime("%b %y"), n) for d, n in series]
    return page(request, viewer, "dashboard.html", m=this_month, series=points, pace=pace, year=year,
                cme_chart=charts.line_chart("cme", "Children missing education at each month end", points),
                pace_chart=charts.column_chart("pace", "Days from referral to provision, this school year", pace),
                reasons=sorted(((_label(k), v) for k, v in this_month.by_reason.items()), key=lambda kv: -kv[1]),
                risks=sorted(((_label(k), v) for k, v in this_month.by_risk.items()), key=lambda kv: -kv[1]))


# -- caseload and case ---------------------------------------------------------------------------------


def _name(viewer: Viewer, given: str | None, surname: str | None) -> str:
    if viewer.unmasked:
        return " ".join(p for p in (given, surname) if p) or "(no name)"
    return " ".join(p for p in (mask_name(given), mask_name(surname)) if p) or "(no name)"


def _dob(viewer: Viewer, dob: dt.date | None) -> str:
    if dob is None:
        return "not known"
    return dob.strftime("%-d %b %Y") if viewer.unmasked else f"{dob.year} (day and month hidden)"


@router.get("/cases", response_class=HTMLResponse)
def caseload_page(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("caseload"))],
                  status: Annotated[str, Query(max_length=30)] = "open",
                  risk: Annotated[str, Query(max_length=40)] = "", school: Annotated[str, Query(max_length=7)] = "",
                  overdue: Annotated[str, Query(max_length=3)] = "",
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> HTMLResponse:
    valid = {"open", "all", *(s.value for s in CaseStatus)}
    f = queries.CaseloadFilter(status if status in valid else "open", risk, school.strip(), overdue == "yes", offset)
    state = viewer.state
    with state.hub.sessions() as session:
        scope = state.hub.settings.la_code if state.shared_register(session) else None
        load = queries.caseload(session, f, dt.date.today(), scope)
        schools = queries.schools(session, state.hub.settings.la_code)
    rows = [{"row": r, "name": _name(viewer, r.given_name, r.surname), "dob": _dob(viewer, r.date_of_birth)}
            for r in load.rows]
    return page(request, viewer, "caseload.html", f=f, load=load, rows=rows, schools=schools,
                statuses=[s.value for s in CaseStatus], risks=[r.value for r in RiskFlag], label=_label,
                page_size=queries.PAGE_SIZE, count_limit=queries.COUNT_LIMIT)


def _current_address(viewer: Viewer, child: Any) -> str:
    if child.restricted:
        return "Withheld: restricted record"
    if not viewer.unmasked:
        return "Hidden in this view"
    current = [a for a in child.addresses if a.valid_to is None]
    if not current:
        return "Not known"
    a = current[-1]
    return ", ".join(p for p in (*a.lines, a.town, a.postcode) if p)


def _identifiers(viewer: Viewer, child: Any) -> list[tuple[str, str]]:
    out = []
    for ident in sorted(child.identifiers, key=lambda i: i.scheme.value):
        value = ident.value if viewer.unmasked else mask_identifier(ident.value)
        out.append((ident.scheme.value.replace("_", " ").upper(), value))
    return out


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("case"))],
              case_id: Annotated[str, Path(max_length=64)], error: str | None = None, status: int = 200,
              ) -> HTMLResponse:
    with viewer.state.hub.sessions() as session:
        try:
            timeline = child_timeline(session, case_id)
        except NotFoundInRegister:
            raise HTTPException(404, detail="no case with that id") from None
    case = next((c for c in timeline.cases if c.id == case_id), timeline.cases[-1] if timeline.cases else None)
    viewer.audit("case.read", "case", case_id, "console case page")
    child = timeline.child
    ident = child.identity
    today = dt.date.today()
    notes = [{"on": n.occurred_at, "received": n.received_at, "label": label_of(n.event_type),
              "partner": n.source_partner, "kind": n.source_kind, "summary": summary_of(n.event_type, n.payload)}
             for n in timeline.notifications]
    tasks = sorted(case.tasks, key=lambda t: (t.state is not TaskState.OPEN, t.due_on)) if case else []
    history = [(c, t) for c in timeline.cases for t in c.history]
    history.sort(key=lambda ct: ct[1].on)
    return page(request, viewer, "case.html", status, case=case, child=child, today=today,
                name=_name(viewer, ident.given_name if ident else None, ident.surname if ident else None),
                dob=_dob(viewer, child.date_of_birth), sex=ident.sex if ident else "U",
                address=_current_address(viewer, child), identifiers=_identifiers(viewer, child), notes=notes,
                tasks=tasks, history=history, enquiries=timeline.enquiries, actions=ACTIONS,
                closures=[c.value for c in ClosureReason], error=error, label=_label,
                open_statuses={s.value for s in OPEN_STATUSES})


@router.post("/cases/{case_id}/actions", response_class=HTMLResponse)
def case_action(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("case.act"))],
                case_id: Annotated[str, Path(max_length=64)], action: Annotated[str, Form(max_length=40)],
                reason: Annotated[str, Form(max_length=1000)] = "", csrf_token: Annotated[str, Form()] = "",
                closure_reason: Annotated[str, Form(max_length=40)] = "",
                located_la: Annotated[str, Form(max_length=3)] = "") -> Response:
    _csrf(viewer, csrf_token)
    try:
        kind = TriggerKind(action)
    except ValueError:
        return case_page(request, viewer, case_id, error="Choose an action.", status=400)
    if not reason.strip():
        return case_page(request, viewer, case_id, error="Say why (the reason is kept with the case).", status=400)
    try:
        closure = ClosureReason(closure_reason) if kind is TriggerKind.CLOSE else None
    except ValueError:
        return case_page(request, viewer, case_id, error="Choose why the case closes.", status=400)
    if kind is TriggerKind.LOCATE_OTHER_LA and not (located_la.isdigit() and len(located_la) == 3):
        return case_page(request, viewer, case_id, error="Give the 3-digit code of the authority where the child "
                                                         "was found.", status=400)
    trigger = Trigger(kind, dt.date.today(), f"officer:{viewer.user.username}", reason.strip(),
                      closure_reason=closure, located_la=located_la or None)
    try:
        move = act_on_case(UnitOfWorkFactory(viewer.state.hub.engine)(), case_id, trigger,
                           actor=f"officer:{viewer.user.username}")
    except IllegalTransition as exc:
        return case_page(request, viewer, case_id, error=str(exc), status=409)
    except UnknownCase:
        raise HTTPException(404, detail="no case with that id") from None
    viewer.audit("case.moved", "case", case_id, f"{move.from_status or '-'}->{move.to_status}")
    return RedirectResponse(f"/console/cases/{case_id}?notice=moved", status_code=303)


# -- review queue --------------------------------------------------------------------------------------


@router.get("/review", response_class=HTMLResponse)
def review_list(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("review"))]) -> HTMLResponse:
    la = viewer.state.hub.settings.la_code
    with viewer.state.hub.sessions() as session:
        items, total = queries.open_reviews(session, la)
        decided = queries.decided_reviews(session, la)
    rows = []
    for item in items:
        child = item.event.get("child") or {}
        rows.append({"item": item, "label": label_of(item.event_type),
                     "name": _name(viewer, child.get("given_name"), child.get("surname"))})
    return page(request, viewer, "review_list.html", rows=rows, total=total, decided=decided)


def _agreement(left: str, right: str) -> str:
    if not left or not right:
        return "missing"
    return "agrees" if left.casefold().replace(" ", "") == right.casefold().replace(" ", "") else "differs"


def _comparison_rows(viewer: Viewer, event_child: dict[str, Any], child: Any) -> list[dict[str, str]]:
    ident = child.identity if child is not None else None
    ids = {i.scheme.value: i.value for i in child.identifiers} if child is not None else {}
    restricted = bool((event_child.get("flags") or {}).get("restricted")) or bool(child and child.restricted)
    event_address = (event_child.get("addresses") or [{}])[0] if event_child.get("addresses") else {}
    current = [a for a in child.addresses if a.valid_to is None] if child is not None else []
    fields: list[tuple[str, str, str, str]] = [
        ("Given name", "name", str(event_child.get("given_name") or ""), (ident.given_name or "") if ident else ""),
        ("Middle names", "name", str(event_child.get("middle_names") or ""),
         (ident.middle_names or "") if ident else ""),
        ("Surname", "name", str(event_child.get("surname") or ""), (ident.surname or "") if ident else ""),
        ("Date of birth", "dob", str(event_child.get("date_of_birth") or ""),
         str(ident.date_of_birth or "") if ident else ""),
        ("Sex", "plain", str(event_child.get("sex") or ""), ident.sex if ident else ""),
        ("UPN", "id", str(event_child.get("upn") or ""), ids.get("upn", "")),
        ("NHS number", "id", str(event_child.get("nhs_number") or ""), ids.get("nhs_number", "")),
        ("Postcode", "address", str(event_address.get("postcode") or ""),
         (current[-1].postcode or "") if current else ""),
        ("Address", "address", ", ".join(event_address.get("lines") or []),
         ", ".join(current[-1].lines) if current else ""),
    ]
    rows = []
    for label, kind, left, right in fields:
        agreement = _agreement(left, right)
        if kind == "address" and restricted:
            left = right = "Withheld: restricted record"
        elif not viewer.unmasked and kind == "name":
            left, right = mask_name(left), mask_name(right)
        elif not viewer.unmasked and kind in ("id", "address"):
            left, right = mask_identifier(left) if left else "", mask_identifier(right) if right else ""
        elif not viewer.unmasked and kind == "dob":
            left, right = left[:4], right[:4]
        rows.append({"label": label, "notification": left or "—", "register": right or "—", "agreement": agreement})
    return rows


@router.get("/review/{event_id}", response_class=HTMLResponse)
def review_item(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("review"))],
                event_id: Annotated[str, Path(max_length=64)], error: str | None = None, status: int = 200,
                ) -> HTMLResponse:
    from services.matching.store import ReviewItemRow

    with viewer.state.hub.sessions() as session:
        item = session.get(ReviewItemRow, event_id)
        if item is None:
            raise HTTPException(404, detail="no notification with that id is held for review")
        decision = queries.decision_for(session, event_id)
        child = RegisterRepository(session).get_child(item.candidate_id) if item.candidate_id else None
    viewer.audit("review.read", "notification", event_id, "console review page")
    event = item.event
    rows = _comparison_rows(viewer, event.get("child") or {}, child)
    weights = decision.comparisons if decision is not None else []
    source = event.get("source") or {}
    return page(request, viewer, "review_item.html", status, item=item, rows=rows, weights=weights,
                decision=decision, label=label_of(item.event_type), summary=summary_of(item.event_type, event),
                partner=source.get("partner_id"), error=error)


@router.post("/review/{event_id}", response_class=HTMLResponse)
def review_decide(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("review.decide"))],
                  event_id: Annotated[str, Path(max_length=64)], decision: Annotated[str, Form(max_length=10)],
                  reason: Annotated[str, Form(max_length=1000)] = "", csrf_token: Annotated[str, Form()] = "",
                  ) -> Response:
    from services.matching.store import ReviewItemRow

    _csrf(viewer, csrf_token)
    if decision not in ("accept", "reject"):
        return review_item(request, viewer, event_id, error="Choose accept or reject.", status=400)
    if not reason.strip():
        return review_item(request, viewer, event_id, error="Say why (the reason is kept with the decision).",
                           status=400)
    with viewer.state.hub.sessions() as session:
        item = session.get(ReviewItemRow, event_id)
        candidate = item.candidate_id if item is not None else None
    if decision == "accept" and candidate is None:
        return review_item(request, viewer, event_id, error="There is no proposed child to accept.", status=400)
    child_id = candidate if decision == "accept" else None
    try:
        outcome = viewer.state.reviews.apply_reviewed(event_id, child_id, officer=f"officer:{viewer.user.username}",
                                                      reason=reason.strip())
    except ReviewNotFound:
        raise HTTPException(404, detail="no notification with that id is held for review") from None
    except ReviewAlreadyDecided as exc:
        return review_item(request, viewer, event_id, error=str(exc), status=409)
    viewer.audit(f"review.{decision}ed", "notification", event_id, f"child {outcome.child_id or '-'}")
    return RedirectResponse(f"/console/review?notice={decision}ed", status_code=303)


# -- enquiries -------------------------------------------------------------------------------------------


def _took(start: dt.datetime | None, end: dt.datetime | None) -> str:
    if start is None or end is None:
        return "not answered"
    seconds = (end - start).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 3600:
        return f"{seconds:.0f} s"
    return f"{seconds / 3600:.1f} h"


@router.get("/enquiries", response_class=HTMLResponse)
def enquiries_page(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("enquiries"))]) -> HTMLResponse:
    with viewer.state.hub.sessions() as session:
        incoming = queries.api_enquiries(session, "incoming")
        outgoing = queries.api_enquiries(session, "outgoing")
        recorded = queries.register_enquiries(session)
    return page(request, viewer, "enquiries.html", incoming=incoming, outgoing=outgoing, recorded=recorded,
                took=_took)


# -- operations -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    partition: int
    offset: int
    at: dt.datetime
    what: str
    source: str
    reasons: list[str]
    detail: str


def _quarantine_rows(messages: list[Any]) -> list[Held]:
    out = []
    for m in messages:
        at = dt.datetime.fromtimestamp(m.timestamp_ms / 1000, dt.UTC)
        try:
            record = default_codec().decode(m.value)
        except UndecodableMessage as exc:
            out.append(Held(m.partition, m.offset, at, "unreadable", "unknown", [mask_text(exc.reason)], ""))
            continue
        source = record.get("source") or {}
        out.append(Held(m.partition, m.offset, at, str(record.get("position") or ""),
                        f"{source.get('kind', '?')}: {source.get('partner_id', '?')}",
                        [mask_text(r) for r in record.get("reasons") or []],
                        f"{len(record.get('original') or b'')} bytes kept"))
    return out


def _dead_letter_rows(messages: list[Any]) -> list[Held]:
    out = []
    for m in messages:
        at = dt.datetime.fromtimestamp(m.timestamp_ms / 1000, dt.UTC)
        try:
            name, _ = default_codec().decode_named(m.value)
        except UndecodableMessage:
            name = "unreadable"
        h = m.headers
        out.append(Held(m.partition, m.offset, at, name, h.get(HEADER_ORIGINAL_TOPIC, "unknown"),
                        [mask_text(h.get(HEADER_ERROR, "no error recorded"))],
                        f"{h.get(HEADER_ATTEMPTS, '?')} attempts"))
    return out


@router.get("/operations", response_class=HTMLResponse)
def operations_page(request: Request, viewer: Annotated[Viewer, Depends(viewer_for("operations"))]) -> HTMLResponse:
    state = viewer.state
    sample = state.monitor.latest()
    ops = state.hub.ops
    problem = sample.error
    quarantined: list[Held] = []
    dead: list[Held] = []
    if problem is None:
        # Two independent broker reads: side by side, the page waits for the slower, not for both.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cmehub-console-ops") as pool:
            held = pool.submit(ops.newest, ops.quarantine_topic, 50)
            failed = pool.submit(ops.newest, ops.deadletter_topic, 50)
            try:
                quarantined = _quarantine_rows(held.result())
                dead = _dead_letter_rows(failed.result())
            except BrokerUnavailable as exc:
                problem = str(exc)
    partners = state.partners()
    viewer.audit("operations.read", "message", ops.quarantine_topic, f"{len(quarantined)} quarantined, "
                 f"{len(dead)} dead letters")
    return page(request, viewer, "operations.html", sample=sample, problem=problem, quarantined=quarantined,
                dead=dead, partners=partners, quiet_hours=state.hub.settings.console_quiet_partner_hours,
                can_replay=viewer.may("operations.replay"), now=dt.datetime.now(dt.UTC))


@router.post("/operations/deadletters/{partition}/{offset}/replay")
async def replay_dead_letter(viewer: Annotated[Viewer, Depends(viewer_for("operations.replay"))],
                             partition: Annotated[int, Path(ge=0, le=10_000)],
                             offset: Annotated[int, Path(ge=0, le=2**62)],
                             csrf_token: Annotated[str, Form()] = "") -> RedirectResponse:
    _csrf(viewer, csrf_token)
    hub = viewer.state.hub
    try:
        message = await run_in_threadpool(hub.ops.fetch, hub.ops.deadletter_topic, partition, offset)
        if message is None:
            raise HTTPException(404, detail="no dead letter at that partition and offset")
        topic = message.headers.get(HEADER_ORIGINAL_TOPIC)
        if not topic:
            raise HTTPException(409, detail="the dead letter does not say which topic it came from")
        await run_in_threadpool(hub.notifications.resend, topic, message.key, message.value)
    except BrokerUnavailable as exc:
        raise HTTPException(503, detail=f"the broker cannot be reached: {exc}") from exc
    viewer.audit("deadletter.replayed", "message", f"{partition}:{offset}", f"to {topic}")
    return RedirectResponse("/console/operations?notice=replayed", status_code=303)


@router.post("/operations/quarantine/{partition}/{offset}/replay")
async def replay_quarantined(viewer: Annotated[Viewer, Depends(viewer_for("operations.replay"))],
                             partition: Annotated[int, Path(ge=0, le=10_000)],
                             offset: Annotated[int, Path(ge=0, le=2**62)],
                             csrf_token: Annotated[str, Form()] = "") -> RedirectResponse:
    _csrf(viewer, csrf_token)
    hub = viewer.state.hub
    try:
        message = await run_in_threadpool(hub.ops.fetch, hub.ops.quarantine_topic, partition, offset)
        if message is None:
            raise HTTPException(404, detail="no quarantined record at that partition and offset")
        try:
            record = default_codec().decode(message.value)
        except UndecodableMessage as exc:
            raise HTTPException(409, detail=f"the quarantine record cannot be read: {exc.reason}") from exc
        source = str((record.get("source") or {}).get("kind"))
        if source not in FAMILY_OF_SOURCE:
            raise HTTPException(409, detail=f"records from {source} sources are not replayed through a connector")
        outcome = await run_in_threadpool(hub.notifications.push, source, record["original"],
                                          str(record.get("file_name") or f"replay-{partition}-{offset}"))
    except BrokerUnavailable as exc:
        raise HTTPException(503, detail=f"the broker cannot be reached: {exc}") from exc
    viewer.audit("quarantine.replayed", "message", f"{partition}:{offset}",
                 f"{len(outcome.event_ids)} events, {len(outcome.quarantined)} quarantined again")
    return RedirectResponse("/console/operations?notice=replayed", status_code=303)
