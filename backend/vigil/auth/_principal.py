"""Who is calling: the key a request authenticated with."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.models import ApiKey, Scope


@dataclass(frozen=True, slots=True)
class Principal:
    """The identity behind a request: one API key, its project and its scopes."""

    key_id: str
    name: str
    project_id: str | None
    """None: the key works for every project."""
    scopes: frozenset[Scope]

    @classmethod
    def of(cls, key: ApiKey) -> Principal:
        return cls(key.key_id, key.name, key.project_id, frozenset(key.scopes))

    def allows(self, scope: Scope) -> bool:
        """Whether the key has ``scope`` (``admin`` has them all)."""
        return scope in self.scopes or Scope.ADMIN in self.scopes

    def may_act_for(self, project_id: str | None) -> bool:
        """Whether the key may read or write records of ``project_id`` (None: of no project,
        which only keys for every project may)."""
        return self.project_id is None or self.project_id == project_id
