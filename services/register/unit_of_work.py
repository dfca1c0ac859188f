"""The unit of work: one transaction over the register, committed explicitly, rolled back otherwise."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.register.database import make_engine, session_factory
from services.register.repository import RegisterRepository


class UnitOfWork:
    """``with uow: ... uow.commit()``: the repository's domain objects are written back on commit."""

    register: RegisterRepository

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self.register = RegisterRepository(self.session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.session is not None
        try:
            self.rollback()
        finally:
            self.session.close()
            self.session = None

    def commit(self) -> None:
        assert self.session is not None, "use the unit of work inside `with`"
        self.register.sync()
        self.session.commit()

    def flush(self) -> None:
        """Write pending changes without committing (to read them back in the same transaction)."""
        assert self.session is not None
        self.register.sync()
        self.session.flush()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()
        self.register.forget()


class UnitOfWorkFactory:
    """Makes units of work over one database; holds the engine (call ``dispose`` when done)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = session_factory(engine)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)

    def dispose(self) -> None:
        self.engine.dispose()


def unit_of_work_factory(url: str | None = None) -> UnitOfWorkFactory:
    """A factory for ``url`` (default: ``get_settings().register_url``; SQLite unless configured)."""
    if url is None:
        from services.settings import get_settings  # settings sit beside, not above, the register

        url = get_settings().register_url
    return UnitOfWorkFactory(make_engine(url))
