"""Users, labs, API tokens, and who may read a dataset. The rules live in
``store.access``; these fields pass the caller along."""

from __future__ import annotations

from typing import Any, Final

import strawberry

from connectomedb.errors import Forbidden, NotFound, Unauthenticated
from connectomedb.service.context import Context, Info
from connectomedb.service.pagination import decode_cursor, encode_cursor, page_size
from connectomedb.service.permissions import ChangesDataset, ReadsDataset
from connectomedb.service.types.datasets import Dataset, Visibility
from connectomedb.service.types.sharing import (
    ApiToken,
    AuditEvent,
    AuditLog,
    Lab,
    LabRole,
    NewApiToken,
    Role,
    User,
)
from connectomedb.store.access import can_manage, require_lab_admin
from connectomedb.store.audit import AuditRepository

#: the kind of audit-log cursors (a keyset on the event id)
AUDIT: Final = "audit"


@strawberry.type
class SharingQueries:
    @strawberry.field(
        description="The signed-in user, their labs and tokens (null when anonymous)."
    )
    async def me(self, info: Info) -> User | None:
        p = info.context.principal
        if p.user_id is None:
            return None
        u = await info.context.access.user(p.user_id)
        tokens = await info.context.access.tokens(p.user_id)
        return User(
            id=u["id"],
            name=u.get("name") or u["id"],
            admin=bool(u.get("admin")),
            labs=[LabRole(lab=m["lab"], role=Role(m["role"])) for m in u["labs"]],
            tokens=[ApiToken.from_row(t) for t in tokens],
        )

    @strawberry.field(
        description="The audit log, newest first. With `lab`: that lab's admins see every "
        "change to the lab and to the datasets it owns. With `dataset`: the admins of its "
        "owner lab. Without either: site admins see everything, others their own changes."
    )
    async def audit_log(
        self,
        info: Info,
        lab: strawberry.ID | None = None,
        user: strawberry.ID | None = None,
        action: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> AuditLog:
        ctx = info.context
        p = ctx.principal
        if p.user_id is None:
            raise Unauthenticated("sign in with an API token to read the audit log")
        if lab is not None:
            require_lab_admin(p, str(lab), "read its audit log")
        elif not p.admin:
            if user is not None and str(user) != p.user_id:
                raise Forbidden("only site admins may read another user's changes")
            user = strawberry.ID(p.user_id)
        return await _audit_page(ctx, first, after, lab=lab, user=user, action=action)

    @strawberry.field(
        description="The audit log of one dataset, newest first (admins of its owner lab).",
        extensions=[ReadsDataset()],
    )
    async def dataset_audit_log(
        self,
        info: Info,
        dataset: strawberry.ID,
        first: int = 100,
        after: str | None = None,
    ) -> AuditLog:
        ctx = info.context
        d = await ctx.dataset(str(dataset))
        if not can_manage(ctx.principal, d):
            raise Forbidden(f"only admins of the lab that owns {str(dataset)!r} read its log")
        return await _audit_page(ctx, first, after, dataset=dataset)

    @strawberry.field(description="A lab and its members (for its members and site admins).")
    async def lab(self, info: Info, id: strawberry.ID) -> Lab:
        p = info.context.principal
        if not (p.admin or str(id) in p.labs):
            raise NotFound(f"lab {str(id)!r} not found")
        return Lab.from_row(await info.context.access.lab(str(id)))


@strawberry.type
class SharingMutations:
    @strawberry.mutation(description="Site admins: create a user (then give them a token).")
    async def create_user(
        self, info: Info, id: strawberry.ID, name: str = "", admin: bool = False
    ) -> User:
        u = await info.context.access.create_user(info.context.principal, str(id), name, admin)
        return User(id=u["id"], name=u["name"], admin=bool(u["admin"]), labs=[], tokens=[])

    @strawberry.mutation(description="Site admins: create a lab; the creator becomes its admin.")
    async def create_lab(self, info: Info, id: strawberry.ID, name: str = "") -> Lab:
        return Lab.from_row(
            await info.context.access.create_lab(info.context.principal, str(id), name)
        )

    @strawberry.mutation(description="Lab admins: add a user to the lab or change their role.")
    async def add_member(
        self, info: Info, lab: strawberry.ID, user: strawberry.ID, role: Role
    ) -> Lab:
        return Lab.from_row(
            await info.context.access.add_member(
                info.context.principal, str(lab), str(user), role.value
            )
        )

    @strawberry.mutation
    async def remove_member(self, info: Info, lab: strawberry.ID, user: strawberry.ID) -> Lab:
        return Lab.from_row(
            await info.context.access.remove_member(info.context.principal, str(lab), str(user))
        )

    @strawberry.mutation(
        description="Admins of the owner lab: let another lab read the dataset.",
        extensions=[ChangesDataset()],
    )
    async def share_dataset(
        self, info: Info, dataset: strawberry.ID, lab: strawberry.ID
    ) -> Dataset:
        return await _sharing(info, dataset, lab, share=True)

    @strawberry.mutation(extensions=[ChangesDataset()])
    async def unshare_dataset(
        self, info: Info, dataset: strawberry.ID, lab: strawberry.ID
    ) -> Dataset:
        return await _sharing(info, dataset, lab, share=False)

    @strawberry.mutation(extensions=[ChangesDataset()])
    async def set_dataset_visibility(
        self, info: Info, dataset: strawberry.ID, visibility: Visibility
    ) -> Dataset:
        ctx = info.context
        d = await ctx.access.set_visibility(ctx.principal, str(dataset), visibility.value)
        return Dataset.from_access(d, ctx.principal)

    @strawberry.mutation(
        description="A new API token for yourself (site admins: for any user); shown once."
    )
    async def create_api_token(
        self,
        info: Info,
        name: str = "",
        user: strawberry.ID | None = None,
        expires_in_days: float | None = None,
        read_only: bool = False,
    ) -> NewApiToken:
        t = await info.context.access.create_token(
            info.context.principal,
            name,
            str(user) if user is not None else None,
            expires_in_days=expires_in_days,
            read_only=read_only,
        )
        return NewApiToken(
            id=t["id"],
            name=t["name"],
            user=t["user"],
            token=t["token"],
            expires_at=ApiToken.from_row(t).expires_at,
            read_only=read_only,
        )

    @strawberry.mutation
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> ApiToken:
        return ApiToken.from_row(
            await info.context.access.revoke_token(info.context.principal, str(id))
        )


async def _audit_page(ctx: Context, first: int, after: str | None, **filters: Any) -> AuditLog:
    limit = page_size(ctx.settings, first)
    rows = await AuditRepository(ctx.store).events(
        limit=limit + 1,
        after=decode_cursor(AUDIT, after),
        **{k: None if v is None else str(v) for k, v in filters.items()},
    )
    events = [AuditEvent.from_row(r) for r in rows[:limit]]
    if not ctx.principal.admin:
        # an event's labs include the owners of the datasets it named, which a caller
        # who probed a dataset they cannot read must not learn: a reader sees only
        # their own labs
        for e in events:
            e.labs = [lab for lab in e.labs if lab in ctx.principal.labs]
    return AuditLog(
        events=events,
        end_cursor=encode_cursor(AUDIT, str(events[-1].id)) if events else None,
        has_next_page=len(rows) > limit,
    )


async def _sharing(info: Info, dataset: strawberry.ID, lab: strawberry.ID, share: bool) -> Dataset:
    ctx = info.context
    change = ctx.access.share if share else ctx.access.unshare
    d = await change(ctx.principal, str(dataset), str(lab))
    return Dataset.from_access(d, ctx.principal)
