"""NHS Multicast Notification Service (MNS) signals: notify, then fetch the Patient from PDS FHIR.

A signal carries no demographics, only which record changed. It comes as a CloudEvents 1.0 JSON
object or as a FHIR R4 Subscriptions-Backport ``history`` Bundle. The connector checks it, then
fetches ``GET {pds_base}/Patient/{nhs_number}`` from the PDS endpoint the hub is configured with.
The signal's ``dataref`` URL is never followed: input must not choose where the hub connects.
A signal that cannot be fetched is quarantined, so it can be replayed once PDS answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from connectors.common.identifiers import nhs_number_problems
from connectors.common.parsing import ParseContext, list_at, obj_at, parse_datetime, text_of, whole_file
from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined
from connectors.health.fhir import KIND, NHS_NUMBER_SYSTEM, load_json, patient_update_event, read_patient

FORMAT = "mns"
PARTNER = "nhs-mns"
EVENT_TYPES = frozenset(
    {
        "pds-change-of-gp-1", "pds-change-of-gp-2", "pds-death-notification-1", "pds-death-notification-2",
        "nhs-number-change-1", "nhs-number-change-2", "pds-record-change-1", "pds-record-change-2",
        "patientflags-change-1", "gpreg-change-gp-req-1",
    }
)  # fmt: skip


class PdsFetchError(Exception):
    """PDS did not return the Patient a signal names."""


PatientFetcher = Callable[[str], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class MnsSignal:
    """The parts of a signal the hub acts on."""

    id: str | None
    type: str | None
    time: str | None
    subject: str | None
    version_id: str | None


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (429, 500, 502, 503, 504)


class PdsClient:
    """Fetches Patients from a PDS FHIR R4 endpoint, with bounded retries on transient failures."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, attempts: int = 3, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._get = retry(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.2, max=2),
            reraise=True,
        )(self._get_once)

    def _get_once(self, nhs_number: str) -> httpx.Response:
        response = self._client.get(
            f"{self.base_url}/Patient/{nhs_number}", headers={"X-Request-ID": str(uuid.uuid4())}
        )
        response.raise_for_status()
        return response

    def __call__(self, nhs_number: str) -> dict[str, Any]:
        """The Patient resource for ``nhs_number``; raises PdsFetchError with the reason."""
        try:
            response = self._get(nhs_number)
        except httpx.HTTPStatusError as exc:
            raise PdsFetchError(f"PDS at {self.base_url} answered HTTP {exc.response.status_code}") from exc
        except httpx.HTTPError as exc:
            raise PdsFetchError(f"PDS at {self.base_url} cannot be reached ({type(exc).__name__})") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise PdsFetchError(f"PDS at {self.base_url} returned a body that is not JSON") from exc
        if not isinstance(body, dict) or body.get("resourceType") != "Patient":
            raise PdsFetchError(f"PDS at {self.base_url} returned no Patient resource")
        return body

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def is_cloudevent(doc: Any) -> bool:
    """True for a CloudEvents-shaped JSON object."""
    return isinstance(doc, dict) and "specversion" in doc and "type" in doc


def is_mns_bundle(doc: Any) -> bool:
    """True for a Subscriptions-Backport notification Bundle (first entry a SubscriptionStatus Parameters)."""
    entries = list_at(doc, "entry")
    return (
        isinstance(doc, dict)
        and doc.get("resourceType") == "Bundle"
        and doc.get("type") == "history"
        and bool(entries)
        and obj_at(entries[0], "resource").get("resourceType") == "Parameters"
    )


def read_signal(doc: dict[str, Any]) -> MnsSignal:
    """The signal's id, type, time, subject and version from either delivery form."""
    if is_cloudevent(doc):
        return MnsSignal(
            id=text_of(doc.get("id")),
            type=text_of(doc.get("type")),
            time=text_of(doc.get("time")),
            subject=text_of(doc.get("subject")),
            version_id=text_of(doc.get("versionid")),
        )
    params = {str(p.get("name")): p for p in list_at(obj_at(list_at(doc, "entry")[0], "resource"), "parameter")}
    context = {str(p.get("name")): p for p in list_at(params.get("additional-context"), "part")}
    event = {str(p.get("name")): p for p in list_at(params.get("notification-event"), "part")}
    subject_ident = obj_at(obj_at(context.get("subject"), "valueReference"), "identifier")
    subject = text_of(subject_ident.get("value")) if subject_ident.get("system") == NHS_NUMBER_SYSTEM else None
    return MnsSignal(
        id=text_of(doc.get("id")),
        type=text_of((context.get("event-type") or {}).get("valueString")),
        time=text_of((event.get("timestamp") or {}).get("valueInstant")) or text_of(doc.get("timestamp")),
        subject=subject,
        version_id=text_of((context.get("version-id") or {}).get("valueString")),
    )


def signal_problems(signal: MnsSignal) -> list[Problem]:
    """Every reason a signal cannot be acted on."""
    problems = []
    for attr in ("id", "type", "time", "subject"):
        if not getattr(signal, attr):
            problems.append(Problem("missing_attribute", f"signal attribute '{attr}' missing"))
    if signal.type and signal.type not in EVENT_TYPES:
        problems.append(Problem("unknown_event", f"signal type '{signal.type}': not an MNS PDS event the hub takes"))
    if signal.time and parse_datetime(signal.time, "time")[1]:
        problems.append(Problem("bad_datetime", f"signal time '{signal.time}': not an ISO-8601 date-time"))
    if signal.subject:
        # Without a valid NHS number there is nothing to fetch, so no child record to flow.
        problems.extend(Problem("invalid_subject", f"subject {p}") for p in nhs_number_problems(signal.subject))
    return problems


def parse_mns(
    data: bytes, file_name: str, ctx: ParseContext | None = None, fetch: PatientFetcher | None = None
) -> ParseResult:
    """Check an MNS signal, fetch its Patient from PDS and emit ``health.patient_update``."""
    ctx = ctx or ParseContext()
    try:
        doc = load_json(data, file_name)
    except UnreadableInput as exc:
        return whole_file(FORMAT, file_name, data, PARTNER, KIND, exc.problem, ctx.default_la)
    if not (is_cloudevent(doc) or is_mns_bundle(doc)):
        problem = Problem("not_mns", f"{file_name}: neither a CloudEvent nor an MNS notification Bundle")
        return whole_file(FORMAT, file_name, data, PARTNER, KIND, problem, ctx.default_la)
    signal = read_signal(doc)
    problems = signal_problems(signal)
    result = ParseResult(file_name=file_name, format=FORMAT, records=1)

    def quarantine(reasons: list[Problem]) -> ParseResult:
        result.quarantined.append(
            Quarantined(
                PARTNER,
                KIND,
                file_name,
                "whole file",
                reasons,
                data,
                ctx.default_la,
                reference=f"mns/{signal.id}" if signal.id else None,
            )
        )
        return result

    if problems:
        return quarantine(problems)
    assert signal.subject and signal.id
    if fetch is None:
        return quarantine(
            [Problem("pds_not_configured", "no PDS FHIR endpoint configured (--pds-url or CMEHUB_PDS_FHIR_URL)")]
        )
    try:
        patient = fetch(signal.subject)
    except PdsFetchError as exc:
        return quarantine([Problem("pds_fetch_failed", f"Patient for signal {signal.id} not fetched: {exc}")])
    reading = read_patient(patient, ctx.as_of)
    if reading.nhs_number and reading.nhs_number != signal.subject:
        reading.problems.append(Problem("pds_mismatch", "PDS returned a Patient with a different NHS number"))
    if reading.problems:
        return quarantine(reading.problems)
    if signal.version_id and not reading.fields.get("patient_version"):
        reading.fields["patient_version"] = signal.version_id
    occurred, _ = parse_datetime(signal.time, "time")
    event, warnings = patient_update_event(
        reading,
        partner_id=PARTNER,
        reference=f"mns/{signal.id}",
        notification_type=signal.type,
        occurred_at=occurred or ctx.received_at,
        ctx=ctx,
    )
    result.add_event(event, warnings)
    return result
