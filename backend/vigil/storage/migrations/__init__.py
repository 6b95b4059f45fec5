"""Alembic migrations of the store, shipped inside the package and run from code
(``vigil.storage.upgrade``); there is no alembic.ini."""
