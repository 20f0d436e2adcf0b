"""Persistent state over SQLAlchemy async: SQLite by default, PostgreSQL by URL.

    store = await Store.open("sqlite+aiosqlite:///var/lib/alertd/alertd.db")
    await store.rule_states.save({"ChurnLatencyP99High": state})
    states = await store.rule_states.load()
    await store.close()
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from alertd.store.alerts import PostedAlert, PostedAlertRepository
from alertd.store.db import Database, StoreError, open_database
from alertd.store.migrations import LATEST_VERSION, MIGRATIONS, SchemaVersionError, migrate
from alertd.store.nflog import NotificationLogRepository
from alertd.store.notifications import HistoryRepository
from alertd.store.outbox import OutboxRepository, ReceiverStateRepository
from alertd.store.reports import ReportSentRepository
from alertd.store.rule_states import RuleStateRepository
from alertd.store.silences import SilenceRepository
from alertd.store.windows import WindowRepository

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "PostedAlert",
    "PostedAlertRepository",
    "RuleStateRepository",
    "SchemaVersionError",
    "Store",
    "StoreError",
    "WindowRepository",
]


class Store:
    """The repositories over one database; open it with `await Store.open(url)`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.rule_states = RuleStateRepository(db)
        self.windows = WindowRepository(db)
        self.silences = SilenceRepository(db)
        self.nflog = NotificationLogRepository(db)
        self.history = HistoryRepository(db)
        self.outbox = OutboxRepository(db)
        self.receiver_state = ReceiverStateRepository(db)
        self.posted_alerts = PostedAlertRepository(db)
        self.reports_sent = ReportSentRepository(db)

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect and apply pending migrations.

        `url` is an async SQLAlchemy URL (sqlite+aiosqlite:///path or
        postgresql+asyncpg://...; plain sqlite:// and postgresql:// get those drivers).
        The directory of a SQLite file is created.
        """
        db = open_database(url)
        try:
            async with db.transaction("open", write=True) as conn:
                await conn.run_sync(migrate)
        except BaseException:
            await db.dispose()
            raise
        return cls(db)

    @property
    def url(self) -> str:
        """The database URL, its password hidden."""
        return self._db.url

    @property
    def engine(self) -> AsyncEngine:
        return self._db.engine

    @property
    def sync_engines(self) -> list[Engine]:
        """Every engine statements run on, for event hooks: the asyncio engine's, and the
        SQLite writer's (see store/sqlite_writer.py)."""
        inloop = [] if self._db.inloop is None else [self._db.inloop.engine]
        return [self._db.engine.sync_engine, *inloop]

    async def close(self) -> None:
        try:
            await self.outbox.close()
        finally:
            await self._db.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
