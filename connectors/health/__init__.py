"""Health: FHIR UK Core Patients and Bundles (:mod:`.fhir`), NEMS messages (:mod:`.nems`), MNS signals (:mod:`.mns`)."""
