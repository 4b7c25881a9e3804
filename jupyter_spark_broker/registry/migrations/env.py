"""Alembic's environment for the broker's registry.

Run by :mod:`jupyter_spark_broker.registry.schema` with the connection it migrates (in a transaction it
began, holding its lock), or with a URL for a developer's ``command.revision(..., autogenerate=True)``.
There is no ``alembic.ini``: ``registry.schema.alembic_config`` is the configuration.
"""

from typing import Any

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from jupyter_spark_broker.registry.orm import Base
from jupyter_spark_broker.registry.schema import VERSION_TABLE

config = context.config


def configure(**where: Any) -> None:  # Any: context.configure's connection or url keywords
    context.configure(
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        # SQLite alters a table by copying it: autogenerate writes batch operations, which do that
        # there and are plain ALTER TABLE elsewhere.
        render_as_batch=True,
        **where,
    )


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if context.is_offline_mode():
        configure(url=config.attributes["url"], literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    elif connection is not None:
        configure(connection=connection)
        with context.begin_transaction():  # nothing to begin: the caller's transaction holds
            context.run_migrations()
    else:
        engine = create_engine(config.attributes["url"], poolclass=NullPool)
        with engine.connect() as connection:
            configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
        engine.dispose()


run_migrations()
