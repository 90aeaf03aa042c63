"""Users, labs, roles, API tokens and dataset sharing.

Graph: ``(:User)-[:MEMBER_OF {role}]->(:Lab)``, ``(:User)-[:HAS_TOKEN]->(:ApiToken)``,
``(:Dataset)-[:OWNED_BY]->(:Lab)``, ``(:Dataset)-[:SHARED_WITH]->(:Lab)``. Who may do
what is decided by the pure functions here (:func:`can_read`, :func:`can_edit`,
:func:`can_manage`) from one record per dataset, so the rules are unit-tested apart
from the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from connectomedb.errors import BadInput, Forbidden, NotFound, Unauthenticated
from connectomedb.schema.models import ID_PATTERN
from connectomedb.store.graphdb import Store

Role = Literal["viewer", "editor", "admin"]
ROLES: Final[tuple[Role, ...]] = ("viewer", "editor", "admin")
_RANK: Final = {r: i for i, r in enumerate(ROLES)}

#: A dataset is readable by everyone (anonymous included) or by its labs only.
VISIBILITIES: Final = ("private", "public")

#: ``cdb_<token id>_<secret>``: the id finds the stored hash, the secret is checked
#: against it in constant time; only the SHA-256 of the secret is stored.
TOKEN_PREFIX: Final = "cdb_"
#: the longest lifetime a token may be given (ten years)
MAX_TOKEN_DAYS: Final = 3653
_TOKEN_RE: Final = re.compile(r"^cdb_([0-9a-f]{16})_([A-Za-z0-9_\-]{43})$")
_ID_RE: Final = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user with lab roles, or anonymous (``user_id`` None)."""

    user_id: str | None = None
    admin: bool = False
    labs: dict[str, Role] = field(default_factory=dict)
    token_id: str | None = None
    #: signed in with a read-only token: every mutation and job submission is refused
    read_only: bool = False
    #: when the token used expires (a token it creates expires no later)
    expires_at: Any = None

    @property
    def anonymous(self) -> bool:
        return self.user_id is None


ANONYMOUS: Final = Principal()


@dataclass(frozen=True)
class DatasetAccess:
    """A dataset's sharing facts, as stored."""

    id: str
    visibility: str
    owner: str | None
    shared_with: tuple[str, ...]
    props: dict[str, Any]


def _labs_with_access(d: DatasetAccess) -> set[str]:
    return ({d.owner} if d.owner else set()) | set(d.shared_with)


def can_read(p: Principal, d: DatasetAccess) -> bool:
    return d.visibility == "public" or p.admin or bool(_labs_with_access(d) & set(p.labs))


def can_edit(p: Principal, d: DatasetAccess) -> bool:
    """Annotate: an editor or admin of the owner lab or of a lab it is shared with."""
    if p.admin:
        return True
    return any(_RANK[p.labs[lab]] >= _RANK["editor"] for lab in _labs_with_access(d) & set(p.labs))


def can_manage(p: Principal, d: DatasetAccess) -> bool:
    """Share, unshare, change visibility: an admin of the owner lab."""
    return p.admin or (d.owner is not None and p.labs.get(d.owner) == "admin")


def can_manage_lab(p: Principal, lab: str) -> bool:
    return p.admin or p.labs.get(lab) == "admin"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """(token id, full token to show once, hash to store)."""
    tid = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return tid, f"{TOKEN_PREFIX}{tid}_{secret}", hash_secret(secret)


def parse_token(token: str) -> tuple[str, str]:
    m = _TOKEN_RE.fullmatch(token)
    if not m:
        raise Unauthenticated("malformed API token")
    return m.group(1), m.group(2)


def check_id(kind: str, value: str) -> str:
    if not _ID_RE.fullmatch(value):
        raise BadInput(
            f"{kind} id {value!r} is not valid: use letters, digits, '_', '.', '-' (max 128)"
        )
    return value


# -- Cypher -----------------------------------------------------------------------------

AUTHENTICATE: Final = """
MATCH (u:User)-[:HAS_TOKEN]->(t:ApiToken {id: $token_id})
WHERE t.revoked_at IS NULL
RETURN u.id AS user, coalesce(u.admin, false) AS admin, t.hash AS hash,
       t.expires_at AS expires_at, coalesce(t.scope, 'write') AS scope,
       t.expires_at IS NOT NULL AND t.expires_at <= datetime() AS expired,
       [(u)-[m:MEMBER_OF]->(l:Lab) | [l.id, m.role]] AS labs
"""

DATASET_ACCESS: Final = """
MATCH (d:Dataset {id: $dataset})
RETURN d {.*} AS d, [(d)-[:OWNED_BY]->(l:Lab) | l.id][0] AS owner,
       [(d)-[:SHARED_WITH]->(l:Lab) | l.id] AS shared
"""

ALL_DATASET_ACCESS: Final = """
MATCH (d:Dataset)
RETURN d {.*} AS d, [(d)-[:OWNED_BY]->(l:Lab) | l.id][0] AS owner,
       [(d)-[:SHARED_WITH]->(l:Lab) | l.id] AS shared
ORDER BY d.id
"""

CREATE_USER: Final = """
OPTIONAL MATCH (x:User {id: $id})
WITH x WHERE x IS NULL
CREATE (u:User {id: $id, name: $name, admin: $admin, created_at: datetime()})
RETURN u {.*} AS u
"""

GET_USER: Final = """
MATCH (u:User {id: $id})
RETURN u {.*} AS u, [(u)-[m:MEMBER_OF]->(l:Lab) | {lab: l.id, role: m.role}] AS labs
"""

CREATE_LAB: Final = """
OPTIONAL MATCH (x:Lab {id: $id})
WITH x WHERE x IS NULL
CREATE (l:Lab {id: $id, name: $name, created_at: datetime()})
WITH l
OPTIONAL MATCH (u:User {id: $creator})
FOREACH (_ IN CASE WHEN u IS NULL THEN [] ELSE [1] END |
    CREATE (u)-[:MEMBER_OF {role: 'admin', since: datetime()}]->(l))
RETURN l {.*} AS l
"""

ENSURE_LAB: Final = """
MERGE (l:Lab {id: $id}) ON CREATE SET l.name = $id, l.created_at = datetime()
RETURN l {.*} AS l
"""

GET_LAB: Final = """
MATCH (l:Lab {id: $id})
RETURN l {.*} AS l, [(u:User)-[m:MEMBER_OF]->(l) | {user: u.id, role: m.role}] AS members
"""

ADD_MEMBER: Final = """
MATCH (l:Lab {id: $lab}) MATCH (u:User {id: $user})
MERGE (u)-[m:MEMBER_OF]->(l) ON CREATE SET m.since = datetime()
SET m.role = $role
RETURN l.id AS lab
"""

REMOVE_MEMBER: Final = """
MATCH (:User {id: $user})-[m:MEMBER_OF]->(:Lab {id: $lab})
DELETE m
RETURN count(*) AS removed
"""

CREATE_TOKEN: Final = """
MATCH (u:User {id: $user})
CREATE (u)-[:HAS_TOKEN]->(t:ApiToken {id: $id, name: $name, hash: $hash, scope: $scope,
                                      created_at: datetime()})
WITH t, CASE WHEN $days IS NULL THEN null
            ELSE t.created_at + duration({seconds: toInteger(ceil($days * 86400))}) END AS asked
SET t.expires_at = CASE WHEN $cap IS NOT NULL AND (asked IS NULL OR asked > $cap) THEN $cap
                        ELSE asked END
RETURN t {.id, .name, .created_at, .expires_at, .scope} AS t
"""

TOKEN_OWNER: Final = """
MATCH (u:User)-[:HAS_TOKEN]->(t:ApiToken {id: $id}) RETURN u.id AS user
"""

REVOKE_TOKEN: Final = """
MATCH (t:ApiToken {id: $id})
SET t.revoked_at = coalesce(t.revoked_at, datetime())
RETURN t {.id, .name, .created_at, .revoked_at, .expires_at, .scope} AS t
"""

LIST_TOKENS: Final = """
MATCH (:User {id: $user})-[:HAS_TOKEN]->(t:ApiToken)
RETURN t {.id, .name, .created_at, .revoked_at, .expires_at, .scope} AS t ORDER BY t.created_at
"""

SHARE_DATASET: Final = """
MATCH (d:Dataset {id: $dataset}) MATCH (l:Lab {id: $lab})
MERGE (d)-[s:SHARED_WITH]->(l) ON CREATE SET s.since = datetime(), s.by = $by
RETURN l.id AS lab
"""

UNSHARE_DATASET: Final = """
MATCH (:Dataset {id: $dataset})-[s:SHARED_WITH]->(:Lab {id: $lab})
DELETE s
RETURN count(*) AS removed
"""

SET_VISIBILITY: Final = """
MATCH (d:Dataset {id: $dataset}) SET d.visibility = $visibility RETURN d.id AS id
"""

#: Loaded datasets get an owner lab (created on first use) unless they have one already.
SET_OWNER_IF_NONE: Final = """
MERGE (l:Lab {id: $lab}) ON CREATE SET l.name = $lab, l.created_at = datetime()
WITH l
MATCH (d:Dataset {id: $dataset})
WHERE NOT (d)-[:OWNED_BY]->(:Lab)
MERGE (d)-[:OWNED_BY]->(l)
RETURN d.id AS id
"""


def _access(rec: dict[str, Any]) -> DatasetAccess:
    d = rec["d"]
    return DatasetAccess(
        id=d["id"],
        # anything but an explicit "public" is private: unknown values never open a dataset
        visibility="public" if d.get("visibility") == "public" else "private",
        owner=rec["owner"],
        shared_with=tuple(sorted(rec["shared"])),
        props=d,
    )


def _native(v: Any) -> Any:
    return v.to_native() if hasattr(v, "to_native") else v


class AccessRepository:
    """Authentication, authorisation and the sharing mutations (async)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- who is asking --------------------------------------------------------------
    async def authenticate(self, token: str | None) -> Principal:
        if token is None:
            return ANONYMOUS
        tid, secret = parse_token(token)
        recs = await self.store.read("authenticate", AUTHENTICATE, token_id=tid)
        if not recs or not hmac.compare_digest(recs[0]["hash"], hash_secret(secret)):
            raise Unauthenticated("unknown or revoked API token")
        r = recs[0]
        if r["expired"]:
            raise Unauthenticated(
                f"this API token expired at {_native(r['expires_at']).isoformat()}; "
                "ask for a new one"
            )
        return Principal(
            user_id=r["user"],
            admin=bool(r["admin"]),
            labs={lab: role for lab, role in r["labs"] if role in _RANK},
            token_id=tid,
            read_only=r["scope"] == "read",
            expires_at=r["expires_at"],
        )

    # -- datasets ----------------------------------------------------------------------
    async def dataset(self, p: Principal, dataset: str) -> DatasetAccess:
        """The dataset if ``p`` may read it; otherwise the same NotFound as for a dataset
        that does not exist, so nobody learns what they cannot see."""
        recs = await self.store.read("dataset_access", DATASET_ACCESS, dataset=dataset)
        if recs:
            d = _access(recs[0])
            if can_read(p, d):
                return d
        raise NotFound(f"dataset {dataset!r} not found")

    async def datasets(self, p: Principal) -> list[DatasetAccess]:
        recs = await self.store.read("datasets", ALL_DATASET_ACCESS)
        return [d for d in map(_access, recs) if can_read(p, d)]

    async def _managed(self, p: Principal, dataset: str) -> DatasetAccess:
        _require_user(p)
        d = await self.dataset(p, dataset)
        if not can_manage(p, d):
            owner = (
                f"lab {d.owner!r}" if d.owner else "its owner lab (it has none: ask a site admin)"
            )
            raise Forbidden(f"only an admin of {owner} may change who sees {dataset!r}")
        return d

    async def share(self, p: Principal, dataset: str, lab: str) -> DatasetAccess:
        await self._managed(p, dataset)
        recs = await self.store.write(
            "share_dataset", SHARE_DATASET, dataset=dataset, lab=lab, by=p.user_id
        )
        if not recs:
            raise NotFound(f"lab {lab!r} not found")
        return await self.dataset(p, dataset)

    async def unshare(self, p: Principal, dataset: str, lab: str) -> DatasetAccess:
        await self._managed(p, dataset)
        await self.store.write("unshare_dataset", UNSHARE_DATASET, dataset=dataset, lab=lab)
        return await self.dataset(p, dataset)

    async def set_visibility(self, p: Principal, dataset: str, visibility: str) -> DatasetAccess:
        if visibility not in VISIBILITIES:
            raise BadInput(f"visibility must be private or public, not {visibility!r}")
        await self._managed(p, dataset)
        await self.store.write(
            "set_visibility", SET_VISIBILITY, dataset=dataset, visibility=visibility
        )
        return await self.dataset(p, dataset)

    # -- users and labs ----------------------------------------------------------------
    async def create_user(
        self, p: Principal | None, user_id: str, name: str, admin: bool = False
    ) -> dict[str, Any]:
        """Create a user; ``p`` None means the local operator (CLI), otherwise a site admin."""
        if p is not None:
            _require_admin(p)
        check_id("user", user_id)
        recs = await self.store.write(
            "create_user", CREATE_USER, id=user_id, name=name or user_id, admin=admin
        )
        if not recs:
            raise BadInput(f"user {user_id!r} already exists")
        return {k: _native(v) for k, v in recs[0]["u"].items()}

    async def user(self, user_id: str) -> dict[str, Any]:
        recs = await self.store.read("get_user", GET_USER, id=user_id)
        if not recs:
            raise NotFound(f"user {user_id!r} not found")
        u = {k: _native(v) for k, v in recs[0]["u"].items()}
        u["labs"] = sorted(recs[0]["labs"], key=lambda m: m["lab"])
        return u

    async def create_lab(self, p: Principal | None, lab_id: str, name: str) -> dict[str, Any]:
        """A site admin (or the CLI, ``p`` None) creates a lab; the creator becomes its admin."""
        if p is not None:
            _require_admin(p)
        check_id("lab", lab_id)
        recs = await self.store.write(
            "create_lab",
            CREATE_LAB,
            id=lab_id,
            name=name or lab_id,
            creator=p.user_id if p else None,
        )
        if not recs:
            raise BadInput(f"lab {lab_id!r} already exists")
        return await self.lab(lab_id)

    async def ensure_lab(self, lab_id: str) -> dict[str, Any]:
        """The lab ``lab_id``, created (named after its id) if missing; for the local
        operator, so there is no permission check."""
        check_id("lab", lab_id)
        recs = await self.store.write("ensure_lab", ENSURE_LAB, id=lab_id)
        return {k: _native(v) for k, v in recs[0]["l"].items()}

    async def lab(self, lab_id: str) -> dict[str, Any]:
        recs = await self.store.read("get_lab", GET_LAB, id=lab_id)
        if not recs:
            raise NotFound(f"lab {lab_id!r} not found")
        lab = {k: _native(v) for k, v in recs[0]["l"].items()}
        lab["members"] = sorted(recs[0]["members"], key=lambda m: m["user"])
        return lab

    async def add_member(
        self, p: Principal | None, lab: str, user: str, role: str
    ) -> dict[str, Any]:
        if role not in _RANK:
            raise BadInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if p is not None:
            require_lab_admin(p, lab)
        recs = await self.store.write("add_member", ADD_MEMBER, lab=lab, user=user, role=role)
        if not recs:
            await self._lab_or_not_found(lab)
            raise NotFound(f"user {user!r} not found")
        return await self.lab(lab)

    async def remove_member(self, p: Principal, lab: str, user: str) -> dict[str, Any]:
        require_lab_admin(p, lab)
        await self.store.write("remove_member", REMOVE_MEMBER, lab=lab, user=user)
        return await self.lab(lab)

    async def _lab_or_not_found(self, lab: str) -> None:
        await self.lab(lab)

    # -- tokens ------------------------------------------------------------------------
    async def create_token(
        self,
        p: Principal | None,
        name: str,
        user: str | None = None,
        expires_in_days: float | None = None,
        read_only: bool = False,
    ) -> dict[str, Any]:
        """A new token for ``user`` (default: the caller); the secret is returned once.
        ``expires_in_days``: it stops working then (default: when revoked);
        ``read_only``: it may read but never change anything or submit a job."""
        if expires_in_days is not None and not 0 < expires_in_days <= MAX_TOKEN_DAYS:
            raise BadInput(f"a token's lifetime must be between 0 and {MAX_TOKEN_DAYS} days")
        if p is not None:
            _require_user(p)
            user = user or p.user_id
            if user != p.user_id:
                _require_admin(p)
        if user is None:
            raise BadInput("which user is the token for?")
        tid, token, digest = new_token()
        recs = await self.store.write(
            "create_token",
            CREATE_TOKEN,
            user=user,
            id=tid,
            name=name,
            hash=digest,
            scope="read" if read_only else "write",
            days=expires_in_days,
            # a token made with an expiring token expires no later than it
            cap=p.expires_at if p is not None else None,
        )
        if not recs:
            raise NotFound(f"user {user!r} not found")
        t = {k: _native(v) for k, v in recs[0]["t"].items()}
        t["token"] = token
        t["user"] = user
        return t

    async def revoke_token(self, p: Principal | None, token_id: str) -> dict[str, Any]:
        recs = await self.store.read("token_owner", TOKEN_OWNER, id=token_id)
        if p is not None:
            _require_user(p)
            if not recs or (recs[0]["user"] != p.user_id and not p.admin):
                raise NotFound(f"API token {token_id!r} not found")
        elif not recs:
            raise NotFound(f"API token {token_id!r} not found")
        out = await self.store.write("revoke_token", REVOKE_TOKEN, id=token_id)
        return {k: _native(v) for k, v in out[0]["t"].items()}

    async def tokens(self, user: str) -> list[dict[str, Any]]:
        recs = await self.store.read("list_tokens", LIST_TOKENS, user=user)
        return [{k: _native(v) for k, v in r["t"].items()} for r in recs]


def _require_user(p: Principal) -> None:
    if p.anonymous:
        raise Unauthenticated("sign in with an API token (Authorization: Bearer ...)")


def require_lab_admin(p: Principal, lab: str, doing: str = "change its members") -> None:
    """Members who are not admins are refused; everyone else outside the lab learns
    nothing about it (the same answer as for a lab that does not exist)."""
    _require_user(p)
    if can_manage_lab(p, lab):
        return
    if lab in p.labs:
        raise Forbidden(f"only an admin of lab {lab!r} may {doing}")
    raise NotFound(f"lab {lab!r} not found")


def _require_admin(p: Principal) -> None:
    _require_user(p)
    if not p.admin:
        raise Forbidden("only a site admin may do this")


#: A dataset derived from another by a job (e.g. a trained network's weights, which may
#: hold the source's wiring): private, owned by the source's owner lab and shared with
#: the labs the source is shared with, so exactly the labs that could read a private
#: source read it; of a public source, also shared with the requester's labs.
INHERIT_ACCESS: Final = """
MATCH (n:Dataset {id: $dataset}), (s:Dataset {id: $source})
SET n.visibility = 'private'
WITH n, s
OPTIONAL MATCH (s)-[:OWNED_BY]->(o:Lab)
FOREACH (lab IN CASE WHEN o IS NULL THEN [] ELSE [o] END | MERGE (n)-[:OWNED_BY]->(lab))
WITH n, s, o
OPTIONAL MATCH (s)-[:SHARED_WITH]->(shared:Lab)
WITH n, s, o, collect(shared) AS shares
OPTIONAL MATCH (:User {id: $user})-[:MEMBER_OF]->(mine:Lab)
WHERE s.visibility = 'public'
WITH n, o, shares, collect(mine) AS mine
WITH n, o, shares + mine AS labs
FOREACH (lab IN [x IN labs WHERE o IS NULL OR x <> o] | MERGE (n)-[:SHARED_WITH]->(lab))
RETURN count(n) AS found
"""
