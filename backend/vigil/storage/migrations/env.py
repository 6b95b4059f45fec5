"""Alembic environment, driven by ``vigil.storage._migrate`` (no alembic.ini).

Online: the caller hands over an open connection in ``config.attributes["connection"]``,
already inside a transaction. Offline (``--sql``): the URL only names the dialect, and the
SQL is written to the config's output buffer (that is how sql/ddl/ is generated).
"""

from alembic import context
from sqlalchemy import Connection, text

from vigil.storage._schema import PG_SCHEMA

MIGRATION_LOCK_KEY = 0x7669_6769_6C00  # "vigil": one id for pg_advisory_xact_lock

config = context.config


def _version_table_schema(dialect_name: str) -> str | None:
    return PG_SCHEMA if dialect_name == "postgresql" else None


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    dialect_name = (url or "").split(":", 1)[0].split("+", 1)[0]
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},  # no %-doubling in the generated SQL
        version_table_schema=_version_table_schema(dialect_name),
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if dialect_name == "postgresql":
            context.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
        context.run_migrations()


def run_online(connection: Connection) -> None:
    dialect_name = connection.dialect.name
    if dialect_name == "postgresql":
        # Two controllers starting together must not both run the same migration.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        # Not CREATE SCHEMA IF NOT EXISTS: PostgreSQL checks the CREATE privilege on the
        # database before it looks for the schema, so a role that owns a schema made for it
        # (postgres/roles.sql) but may not create schemas would fail on every start.
        exists = text("SELECT to_regnamespace(:schema) IS NOT NULL")
        if not connection.execute(exists, {"schema": PG_SCHEMA}).scalar_one():
            connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    context.configure(
        connection=connection,
        version_table_schema=_version_table_schema(dialect_name),
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online(config.attributes["connection"])
