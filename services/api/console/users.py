"""Console accounts: officers, operators and auditors with argon2-hashed passwords (never stored in clear)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, DateTime, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD = 12


class Role(StrEnum):
    """What a console user may see and do (services/api/console/access.py)."""

    OFFICER = "officer"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class ConsoleBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ConsoleUserRow(ConsoleBase):
    __tablename__ = "console_user"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ConsoleUserError(ValueError):
    """A user cannot be added or changed as asked (the message says why)."""


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    display_name: str
    role: Role
    disabled: bool = False
    last_login_at: dt.datetime | None = None


def _user(row: ConsoleUserRow) -> ConsoleUser:
    return ConsoleUser(row.username, row.display_name, Role(row.role), row.disabled, row.last_login_at)


class ConsoleUsers:
    """Adds, lists and authenticates console users."""

    def __init__(self, sessions: sessionmaker[Session], hasher: PasswordHasher | None = None) -> None:
        self.sessions = sessions
        self.hasher = hasher or PasswordHasher()
        self._decoy: str | None = None

    def _decoy_hash(self) -> str:
        # A hash to verify against for unknown usernames, so a wrong name costs as long as a wrong password.
        if self._decoy is None:
            self._decoy = self.hasher.hash("decoy password for timing")
        return self._decoy

    def add(self, username: str, display_name: str, role: str, password: str) -> ConsoleUser:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise ConsoleUserError("a username is 2-63 lower-case letters, digits, dots, dashes or underscores")
        try:
            role_ = Role(role)
        except ValueError:
            raise ConsoleUserError(f"role must be one of {', '.join(r.value for r in Role)}, not {role!r}") from None
        if len(password) < MIN_PASSWORD:
            raise ConsoleUserError(f"a password needs at least {MIN_PASSWORD} characters")
        with self.sessions() as session:
            if session.get(ConsoleUserRow, username) is not None:
                raise ConsoleUserError(f"user {username} already exists")
            row = ConsoleUserRow(username=username, display_name=display_name.strip() or username, role=role_.value,
                                 password_hash=self.hasher.hash(password), disabled=False,
                                 created_at=dt.datetime.now(dt.UTC))
            session.add(row)
            session.commit()
            return _user(row)

    def set_disabled(self, username: str, disabled: bool) -> None:
        with self.sessions() as session:
            row = session.get(ConsoleUserRow, username)
            if row is None:
                raise ConsoleUserError(f"no user {username}")
            row.disabled = disabled
            session.commit()

    def list(self) -> list[ConsoleUser]:
        with self.sessions() as session:
            return [_user(r) for r in session.scalars(sa.select(ConsoleUserRow).order_by(ConsoleUserRow.username))]

    def get(self, username: str) -> ConsoleUser | None:
        with self.sessions() as session:
            row = session.get(ConsoleUserRow, username)
            return _user(row) if row is not None else None

    def authenticate(self, username: str, password: str) -> ConsoleUser | None:
        """The user when the password is right and the account enabled, else None."""
        with self.sessions() as session:
            row = session.get(ConsoleUserRow, username.strip().lower())
            if row is None:
                with contextlib.suppress(VerificationError):
                    self.hasher.verify(self._decoy_hash(), password + "x")
                return None
            try:
                self.hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            if row.disabled:
                return None
            if self.hasher.check_needs_rehash(row.password_hash):
                row.password_hash = self.hasher.hash(password)
            row.last_login_at = dt.datetime.now(dt.UTC)
            session.commit()
            return _user(row)
