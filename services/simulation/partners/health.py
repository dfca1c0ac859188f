"""Health traffic: UK Core FHIR Patient Bundles and legacy NEMS "PDS Change of Address" messages."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from services.simulation.model import Home

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
VERIFIED = {
    "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
    "valueCodeableConcept": {"coding": [{
        "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
        "code": "01", "display": "Number present and verified"}]},
}
GENDER = {"M": "male", "F": "female"}


def _address(home: Home, use: str, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"use": use, "line": list(home.lines), "city": home.town, "postalCode": home.postcode,
                           "text": f"{home.text}, {home.postcode}"}
    period = {k: v.isoformat() for k, v in (("start", start), ("end", end)) if v}
    if period:
        out["period"] = period
    out["extension"] = [{
        "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AddressKey",
        "extension": [{"url": "type", "valueCoding": {"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-AddressKeyType",
                                                      "code": "UPRN"}},
                      {"url": "value", "valueString": home.uprn}],
    }]
    return out


RESTRICTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R",
              "display": "restricted"}


def patient(
    person: dict[str, Any], version: int, updated: datetime, home_since: date | None, restricted: bool = False
) -> dict[str, Any]:
    """A UK Core Patient for the child as the partner recorded them (S-flagged: no address, no GP)."""
    meta: dict[str, Any] = {"versionId": str(version), "lastUpdated": updated.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                            "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]}
    if restricted:
        meta["security"] = [RESTRICTED]
    resource: dict[str, Any] = {"resourceType": "Patient", "id": person["nhs_number"] or person["child_id"],
                                "meta": meta}
    if person["nhs_number"]:
        resource["identifier"] = [{"extension": [VERIFIED], "system": NHS_SYSTEM, "value": person["nhs_number"]}]
    name: dict[str, Any] = {"use": "official", "family": person["surname"],
                            "given": [n for n in (person["given_name"], person["middle_names"]) if n]}
    resource["name"] = [name]
    resource["gender"] = GENDER.get(person["sex"], "unknown")
    if person["dob"]:
        resource["birthDate"] = person["dob"].isoformat()
    if restricted:
        return resource  # PDS omits address, telecom and GP for a sensitive record
    if person["home"] is not None:
        resource["address"] = [_address(person["home"], "home", home_since)]
    resource["generalPractitioner"] = [{"type": "Organization", "identifier": {
        "system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": person["gp_ods"]}}]
    return resource


def patient_bundle(resources: list[dict[str, Any]], bundle_id: uuid.UUID, sent: datetime) -> bytes:
    """Patients of one day's changes as a FHIR collection Bundle."""
    doc = {
        "resourceType": "Bundle",
        "id": str(bundle_id),
        "type": "collection",
        "timestamp": sent.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "entry": [{"fullUrl": f"https://api.service.nhs.uk/personal-demographics/FHIR/R4/Patient/{r['id']}",
                   "resource": r} for r in resources],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def nems_change_of_address(
    person: dict[str, Any], ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID], sent: datetime, moved: date,
) -> bytes:
    """A NEMS PDS002 message: the new home address and the old one."""
    header_id, comm_id, patient_id = (f"urn:uuid:{i}" for i in ids)
    resource: dict[str, Any] = {"resourceType": "Patient",
                                "meta": {"lastUpdated": sent.strftime("%Y-%m-%dT%H:%M:%S+00:00")}}
    if person["nhs_number"]:
        resource["identifier"] = [{"system": NHS_SYSTEM, "value": person["nhs_number"]}]
    resource["name"] = [{"use": "official", "family": person["surname"],
                         "given": [n for n in (person["given_name"], person["middle_names"]) if n]}]
    resource["gender"] = GENDER.get(person["sex"], "unknown")
    if person["dob"]:
        resource["birthDate"] = person["dob"].isoformat()
    addresses = [_address(person["home"], "home", moved)]
    if person["previous_home"] is not None and person["previous_home"] != person["home"]:
        addresses.append(_address(person["previous_home"], "old", None, moved))
    resource["address"] = addresses
    doc = {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [
            {"fullUrl": header_id, "resource": {
                "resourceType": "MessageHeader",
                "extension": [{"url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-EMS-MessageEventType-1",
                               "valueCodeableConcept": {"coding": [{"code": "new"}]}}],
                "event": {"code": "PDS002", "display": "PDS Change of Address"},
                "timestamp": sent.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "source": {"endpoint": "urn:nhs:spine"},
                "focus": [{"reference": comm_id}]}},
            {"fullUrl": comm_id, "resource": {"resourceType": "Communication", "status": "completed",
                                              "payload": [{"contentReference": {"reference": patient_id}}]}},
            {"fullUrl": patient_id, "resource": resource},
        ],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


MNS_SOURCE = "https://fhir.nhs.uk/Id/nhsSpineASID/000000000000"
PDS_PATIENT_URL = "https://api.service.nhs.uk/personal-demographics/FHIR/R4/Patient/"


def mns_signal(event_type: str, event_id: uuid.UUID, at: datetime, nhs_number: str, version: int) -> bytes:
    """An MNS signal in CloudEvents form: which record changed, no demographics (fetch them from PDS)."""
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event_id),
        "source": MNS_SOURCE,
        "type": event_type,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "subject": nhs_number,
        "dataref": f"{PDS_PATIENT_URL}{nhs_number}",
        "versionid": str(version),
    }
    return (json.dumps(doc, indent=1) + "\n").encode("utf-8")
