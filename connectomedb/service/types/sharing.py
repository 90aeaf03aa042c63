"""Users, labs, roles and API tokens: who may read and change which dataset."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry


@strawberry.enum
class Role(Enum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


@strawberry.type
class Membership:
    user: strawberry.ID
    role: Role


@strawberry.type
class Lab:
    id: strawberry.ID
    name: str
    members: list[Membership]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Lab:
        return cls(
            id=r["id"],
            name=r.get("name") or r["id"],
            members=[Membership(user=m["user"], role=Role(m["role"])) for m in r["members"]],
        )


@strawberry.type
class LabRole:
    lab: strawberry.ID
    role: Role


@strawberry.type
class ApiToken:
    id: strawberry.ID
    name: str
    created_at: datetime | None
    revoked_at: datetime | None = None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> ApiToken:
        return cls(
            id=r["id"],
            name=r.get("name") or "",
            created_at=r.get("created_at"),
            revoked_at=r.get("revoked_at"),
        )


@strawberry.type(description="A new API token: the secret is shown here once and never again.")
class NewApiToken:
    id: strawberry.ID
    name: str
    user: strawberry.ID
    token: str


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    admin: bool
    labs: list[LabRole]
    tokens: list[ApiToken]
