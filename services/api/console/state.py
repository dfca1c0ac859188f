"""The console's services for one app: accounts, sessions, the broker monitor, review decisions."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from services.api.bootstrap import HubServices
from services.api.console import queries
from services.api.console.access import SessionCodec, SignInThrottle, session_secret
from services.api.console.database import migrate
from services.api.console.monitor import BrokerMonitor, PartnerFigures, quarantined_by_partner
from services.api.console.users import ConsoleUsers
from services.api.notifications import BrokerUnavailable
from services.matching.database import migrate as migrate_matching
from services.matching.pipeline import NotificationPipeline
from services.matching.records import PersonRecord
from services.register.unit_of_work import UnitOfWorkFactory

HERE = Path(__file__).parent
REJECT_WINDOW = dt.timedelta(days=7)
SERIES_TTL_S = 60.0


class ReviewDecisions(NotificationPipeline):
    """The matcher's pipeline used only to record reviewed notifications.

    The console never links a notification itself, so it keeps no blocking index (loading one would
    read the whole register on the first decision); the matching workers keep theirs current.
    """

    def _index(self, la_code: str, record: PersonRecord) -> None:
        return None


class ConsoleState:
    """Built once per app by ``services.api.console.install``."""

    def __init__(self, hub: HubServices) -> None:
        self.hub = hub
        settings = hub.settings
        self.users = ConsoleUsers(hub.sessions)
        self.codec = SessionCodec(session_secret(settings), settings.console_session_ttl_s)
        self.throttle = SignInThrottle()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.monitor = BrokerMonitor(lambda: self.hub.ops)
        self.reviews = ReviewDecisions(UnitOfWorkFactory(hub.engine), local_la=settings.la_code)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._partners: tuple[float, list[PartnerFigures]] | None = None
        self._series: tuple[float, dt.date, list[tuple[dt.date, int]]] | None = None
        self._shared: tuple[float, bool] | None = None
        self._partners_lock = threading.Lock()

    def ensure_tables(self) -> None:
        """Migrate the console's table and the matcher's (the review queue) once per process."""
        if self._ready:
            return
        with self._ready_lock:
            if not self._ready:
                migrate(self.hub.engine)
                migrate_matching(self.hub.engine)
                self._ready = True

    def shared_register(self, session: Session) -> bool:
        """Whether children of other authorities share this register (checked every five minutes): the
        dashboard then counts this authority's children only, at the price of a join."""
        if self._shared is None or time.monotonic() - self._shared[0] > 300:
            self._shared = (time.monotonic(), queries.other_authorities(session, self.hub.settings.la_code))
        return self._shared[1]

    def cme_series(self, session: Session, today: dt.date) -> list[tuple[dt.date, int]]:
        """CME at each month end over the last year; kept for a minute (past months rarely move)."""
        cached = self._series
        if cached is None or cached[1] != today or time.monotonic() - cached[0] > SERIES_TTL_S:
            cached = self._series = (time.monotonic(), today, queries.cme_over_time(session, today))
        return cached[2]

    def partners(self, max_age_s: float = 30.0) -> list[PartnerFigures]:
        """Each partner's last message, recent volume and reject rate (cached for ``max_age_s``)."""
        with self._partners_lock:
            if self._partners is not None and time.monotonic() - self._partners[0] < max_age_s:
                return self._partners[1]
            now = dt.datetime.now(dt.UTC)
            since = now - REJECT_WINDOW
            with self.hub.sessions() as session:
                activity = queries.partner_activity(session, since)
            try:
                rejected = quarantined_by_partner(self.hub.ops.newest(self.hub.ops.quarantine_topic, 500))
            except BrokerUnavailable:
                rejected = []
            for q in rejected:
                if q.at >= since:
                    activity.setdefault(q.partner, queries.PartnerActivity(q.partner, q.kind)).rejected += 1
            quiet_after = dt.timedelta(hours=self.hub.settings.console_quiet_partner_hours)
            figures = [PartnerFigures(a.partner, a.kind, a.last_received, a.accepted, a.rejected, a.reject_rate,
                                      a.last_received is None or now - a.last_received > quiet_after)
                       for a in sorted(activity.values(), key=lambda a: (a.kind, a.partner))]
            self._partners = (time.monotonic(), figures)
            return figures
