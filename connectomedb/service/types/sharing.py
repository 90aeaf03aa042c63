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
    expires_at: datetime | None = strawberry.field(
        default=None, description="when it stops working (null: only when revoked)"
    )
    read_only: bool = strawberry.field(
        default=False, description="it may read, never change anything or submit a job"
    )

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> ApiToken:
        return cls(
            id=r["id"],
            name=r.get("name") or "",
            created_at=_native(r.get("created_at")),
            revoked_at=_native(r.get("revoked_at")),
            expires_at=_native(r.get("expires_at")),
            read_only=r.get("scope") == "read",
        )


def _native(v: Any) -> Any:
    return v.to_native() if hasattr(v, "to_native") else v


@strawberry.type(description="A new API token: the secret is shown here once and never again.")
class NewApiToken:
    id: strawberry.ID
    name: str
    user: strawberry.ID
    token: str
    expires_at: datetime | None = None
    read_only: bool = False


@strawberry.type(
    description="One change made through the API or the operator's CLI, or one job a "
    "schedule submitted: who, when, what, and how it ended."
)
class AuditEvent:
    id: strawberry.ID
    at: datetime
    user: strawberry.ID | None = strawberry.field(description="null: the operator's CLI")
    token: strawberry.ID | None = strawberry.field(description="the id of the token used")
    action: str = strawberry.field(description="the mutation (or CLI command)")
    arguments: str = strawberry.field(description="its arguments, as JSON (truncated)")
    datasets: list[strawberry.ID]
    labs: list[strawberry.ID] = strawberry.field(
        description="the labs it named, and the owner labs of its datasets then"
    )
    outcome: str = strawberry.field(description="OK, or the error code it answered")

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> AuditEvent:
        return cls(
            id=r["id"],
            at=_native(r["at"]),
            user=r.get("user"),
            token=r.get("token"),
            action=r["action"],
            arguments=r.get("arguments") or "{}",
            datasets=list(r.get("datasets") or []),
            labs=list(r.get("labs") or []),
            outcome=r["outcome"],
        )


@strawberry.type
class AuditLog:
    events: list[AuditEvent]
    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    admin: bool
    labs: list[LabRole]
    tokens: list[ApiToken]
