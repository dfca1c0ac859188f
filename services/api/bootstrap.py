"""Wires the API's services for one hub from its settings (one place, like cosmicpython's bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.api.audit import AuditLog
from services.api.clients import ClientRegistry
from services.api.database import api_engine
from services.api.enquiries import WhereaboutsService
from services.api.limits import RateLimiter
from services.api.linkage import RegisterIndex
from services.api.metrics import ApiMetrics
from services.api.notifications import NotificationIntake
from services.api.operations import BrokerOps
from services.api.peers import OutboundEnquiries, PeerClient, peers_from_settings
from services.api.security import KeyRing, TokenService
from services.api.transfers import CaseTransfers
from services.register.database import session_factory
from services.register.unit_of_work import UnitOfWorkFactory
from services.settings import Settings, get_settings


@dataclass
class HubServices:
    """Everything a route needs, built once per app."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clients: ClientRegistry
    audit: AuditLog
    tokens: TokenService
    limiter: RateLimiter
    metrics: ApiMetrics
    notifications: NotificationIntake
    index: RegisterIndex
    ops: BrokerOps
    outbound: OutboundEnquiries
    transfers: CaseTransfers
    enquiries: WhereaboutsService
    extras: dict[str, Any] = field(default_factory=dict)

    def components(self) -> dict[str, Any]:
        return {"kafka": self.notifications, "enquiry_index": self.index, "enquiries": self.enquiries,
                **self.extras}

    async def start(self) -> None:
        """Start background work (the enquiry index, producers) once the app starts serving."""
        for component in self.components().values():
            starter = getattr(component, "start", None)
            if starter is not None:
                await starter()

    async def stop(self) -> None:
        for component in self.components().values():
            stopper = getattr(component, "stop", None)
            if stopper is not None:
                await stopper()

    def readiness(self) -> dict[str, dict[str, Any]]:
        """Readiness checks contributed by components (name -> {"ready", "detail"})."""
        out: dict[str, dict[str, Any]] = {}
        for name, component in self.components().items():
            check = getattr(component, "readiness", None)
            if check is not None:
                out[name] = check()
        return out

    def close(self) -> None:
        self.outbound.client.close()
        self.engine.dispose()


def issuer_for(settings: Settings) -> str:
    """The issuer and audience of this hub's tokens."""
    return f"cmehub:{settings.la_code}"


def key_ring(settings: Settings) -> KeyRing:
    return KeyRing(settings.state_dir / "api-keys", rotation_s=settings.api_key_rotation_days * 86400.0,
                   token_ttl_s=float(settings.api_token_ttl_s))


def api_workers() -> int:
    """How many worker processes serve this API (``CMEHUB_API_WORKERS``, set by ``cmehub api --workers``)."""
    return max(1, get_settings().api_workers)


def build(settings: Settings, engine: Engine | None = None) -> HubServices:
    """The services over the register's database (the API's tables must be migrated)."""
    if engine is None:
        engine = api_engine(settings.register_url)
    sessions = session_factory(engine)
    audit = AuditLog(sessions)
    index = RegisterIndex(sessions)
    uows = UnitOfWorkFactory(engine)
    enquiries = WhereaboutsService(sessions, uows, index, audit, settings.la_code,
                                   settings.la_name, settings.api_contact_point, settings.api_review_days)
    peers = PeerClient(peers_from_settings(settings.api_peers))
    metrics = ApiMetrics()
    metrics.index_size.set_function(lambda: len(index))
    metrics.index_refresh.set_function(lambda: index.refreshed_at)
    return HubServices(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clients=ClientRegistry(sessions),
        audit=audit,
        tokens=TokenService(key_ring(settings), issuer_for(settings), settings.api_token_ttl_s),
        limiter=RateLimiter(workers=api_workers()),
        metrics=metrics,
        notifications=NotificationIntake(settings.bootstrap_servers, settings.la_code,
                                         topic_prefix=settings.topic_prefix),
        index=index,
        ops=BrokerOps(settings.bootstrap_servers, topic_prefix=settings.topic_prefix),
        outbound=OutboundEnquiries(sessions, uows, audit, peers, settings.la_code),
        transfers=CaseTransfers(uows, index, audit, peers, settings.la_code),
        enquiries=enquiries,
    )
