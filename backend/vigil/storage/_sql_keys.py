"""API keys: created with the digest of their secret, looked up by their public ``key_id``."""

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from vigil.models import ApiKey, ApiKeyCreate, Scope, new_id, utc_now
from vigil.storage._interface import StoredApiKey
from vigil.storage._schema import api_keys
from vigil.storage._sql_base import SqlStoreBase, found, to_model
from vigil.storage.errors import Conflict

_PUBLIC_COLUMNS = [column for column in api_keys.c if column.name != "secret_sha256"]


class KeyQueries(SqlStoreBase):
    def create_api_key(self, key: ApiKeyCreate, *, key_id: str, secret_sha256: str) -> ApiKey:
        row = {
            "id": new_id(),
            "key_id": key_id,
            "name": key.name,
            "project_id": key.project_id,
            "scopes": [scope.value for scope in key.scopes],
            "secret_sha256": secret_sha256,
            "created_at": utc_now(),
            "revoked_at": None,
        }
        try:
            with self._write() as conn:
                conn.execute(api_keys.insert(), row)
        except IntegrityError as exc:
            raise Conflict(f"a key with key_id {key_id} exists") from exc
        del row["secret_sha256"]
        return ApiKey.model_validate(row)

    def get_api_key(self, key_id: str) -> StoredApiKey:
        with self._read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        row = found(row, "API key", key_id)
        values = row._asdict()
        secret = values.pop("secret_sha256")
        return StoredApiKey(ApiKey.model_validate(values), secret)

    def list_api_keys(
        self, *, project_id: str | None = None, include_revoked: bool = False
    ) -> list[ApiKey]:
        query = select(*_PUBLIC_COLUMNS).order_by(api_keys.c.id)
        if project_id is not None:
            query = query.where(api_keys.c.project_id == project_id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [to_model(ApiKey, row) for row in rows]

    def revoke_api_key(self, key_id: str, *, project_id: str | None = None) -> ApiKey:
        conditions = [api_keys.c.key_id == key_id]
        if project_id is not None:
            conditions.append(api_keys.c.project_id == project_id)
        with self._write() as conn:
            # The first revocation's time is kept: revoking twice changes nothing.
            conn.execute(
                update(api_keys)
                .where(*conditions, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utc_now())
            )
            row = conn.execute(select(*_PUBLIC_COLUMNS).where(*conditions)).first()
        return to_model(ApiKey, found(row, "API key", key_id))

    def has_active_key(self, scope: Scope, *, all_projects: bool = True) -> bool:
        query = select(api_keys.c.scopes).where(api_keys.c.revoked_at.is_(None))
        if all_projects:
            query = query.where(api_keys.c.project_id.is_(None))
        with self._read() as conn:
            return any(scope.value in scopes for scopes in conn.scalars(query))
