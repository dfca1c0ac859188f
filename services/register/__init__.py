"""The CME register: children, notifications, cases, tasks, statutory clocks, measures and retention.

Layers (cosmicpython style):

- ``model``: plain domain objects (``Child`` with identities over time and dated addresses,
  ``Notification``, ``Case``, ``Task``, ``Enquiry``, ``AuditEntry``); no I/O.
- ``lifecycle``: the case state machine, a pure function of triggers and dates
  (``advance`` refuses illegal moves with ``IllegalTransition``); ``plan_tasks`` sets deadlines.
- ``clocks``: school-day calendars per authority (``calendars/<la>.yaml`` + England's bank holidays)
  and the statutory deadlines counted on them.
- ``referrals``: what each event type means for a child's case (which open one, which move one).
- ``orm`` / ``repository`` / ``unit_of_work`` / ``database``: SQLAlchemy 2.0 mappings, the repository,
  the unit of work and the Alembic migrations (``migrations/``), the same on PostgreSQL and SQLite.
- ``handlers``: apply an already-decided outcome to the register, once per event.
- ``views`` / ``measures`` / ``dfe_extract`` / ``retention``: read models, the DfE extract, retention.

The API the matching service uses::

    from services.register.database import migrate
    from services.register.unit_of_work import unit_of_work_factory
    from services.register.handlers import record_notification

    migrate(url)                                  # idempotent; url from get_settings().register_url
    uows = unit_of_work_factory(url)              # SQLite default; postgresql+psycopg://… for PostgreSQL
    with uows() as uow:                           # the blocking index, set-based, in batches
        candidates = list(uow.register.iter_candidates())
        ids = uow.register.child_ids_by_identifier(IdentifierScheme.NHS_NUMBER, "9434765919")
    outcome = record_notification(uows(), event, child_id_or_None)   # commits; a redelivery is a no-op
    outcome.duplicate, outcome.child_id, outcome.case_id, outcome.transitions, outcome.refused

``record_notification`` creates the child when ``child_id`` is None, records identity, identifiers
and addresses, stores the notification, opens or moves the child's case and its tasks, audits it,
and stores the event id in the same transaction. It raises ``UnknownChild`` for an unknown id.
"""
