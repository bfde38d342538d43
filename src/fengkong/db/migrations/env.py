"""Alembic environment: runs against the engine handed in by :func:`fengkong.db.migrate`."""

from alembic import context

from fengkong.db.models import Base

engine = context.config.attributes["connection_engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
