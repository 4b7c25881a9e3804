"""The registry: SQLAlchemy tables, queries, plain records, Alembic migrations."""
