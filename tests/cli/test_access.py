"""``connectomedb user``, ``token`` and ``lab`` as the local operator."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import neo4j
import pytest

from tests.cli.conftest import cli

TOKEN = re.compile(r"API token \(shown once, keep it secret\): (cdb_([0-9a-f]{16})_\S+)")


@pytest.fixture
def names(driver: neo4j.Driver) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:8]
    ids = {"user": f"t_user_{tag}", "lab": f"t_lab_{tag}", "other": f"t_other_{tag}"}
    yield ids
    driver.execute_query(
        "MATCH (u:User) WHERE u.id IN $users OPTIONAL MATCH (u)-[:HAS_TOKEN]->(t) "
        "DETACH DELETE u, t",
        users=[ids["user"], ids["other"]],
    )
    driver.execute_query("MATCH (l:Lab) WHERE l.id = $lab DETACH DELETE l", lab=ids["lab"])


def _membership(driver: neo4j.Driver, user: str) -> list[tuple[str, str]]:
    recs, _, _ = driver.execute_query(
        "MATCH (:User {id: $u})-[m:MEMBER_OF]->(l:Lab) RETURN l.id AS lab, m.role AS role",
        u=user,
    )
    return [(r["lab"], r["role"]) for r in recs]


def test_user_create_with_a_new_lab(driver: neo4j.Driver, names: dict[str, str]) -> None:
    res = cli("user", "create", names["user"], "--lab", names["lab"], "--role", "editor")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"created user {names['user']}\n")
    assert TOKEN.search(res.stdout) is not None
    assert _membership(driver, names["user"]) == [(names["lab"], "editor")]
    recs, _, _ = driver.execute_query("MATCH (l:Lab {id: $id}) RETURN l.name AS n", id=names["lab"])
    assert recs[0]["n"] == names["lab"]  # created on first use, named after its id


def test_user_create_refuses_an_unknown_role(driver: neo4j.Driver, names: dict[str, str]) -> None:
    res = cli("user", "create", names["user"], "--role", "boss")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: --role must be one of viewer, editor, admin"
    recs, _, _ = driver.execute_query("MATCH (u:User {id: $id}) RETURN u", id=names["user"])
    assert recs == []


def test_tokens_and_labs(driver: neo4j.Driver, names: dict[str, str]) -> None:
    assert cli("user", "create", names["user"]).exit_code == 0
    assert cli("user", "create", names["other"]).exit_code == 0

    res = cli("lab", "create", names["lab"], "--name", "Lab T")
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"created lab {names['lab']}"
    res = cli("lab", "add-member", names["lab"], names["other"], "--role", "admin")
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"{names['other']} is admin of {names['lab']}"
    assert _membership(driver, names["other"]) == [(names["lab"], "admin")]

    res = cli("token", "create", names["user"], "--name", "notebook")
    assert res.exit_code == 0, res.output
    m = TOKEN.search(res.stdout)
    assert m is not None
    assert res.stdout.startswith(f"token id {m[2]}\n")
    res = cli("token", "revoke", m[2])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"revoked {m[2]}"
    recs, _, _ = driver.execute_query(
        "MATCH (t:ApiToken {id: $id}) RETURN t.revoked_at IS NOT NULL AS revoked", id=m[2]
    )
    assert recs[0]["revoked"] is True

    res = cli("token", "create", names["user"], "--read-only", "--expires-in-days", "1.5")
    assert res.exit_code == 0, res.output
    assert "read-only" in res.stdout and "expires at" in res.stdout
    tid = TOKEN.search(res.stdout)[2]  # type: ignore[index]
    recs, _, _ = driver.execute_query(
        "MATCH (t:ApiToken {id: $id}) RETURN t.scope AS scope, "
        "duration.inSeconds(t.created_at, t.expires_at).seconds AS lifetime",
        id=tid,
    )
    assert (recs[0]["scope"], recs[0]["lifetime"]) == ("read", 129_600)

    # each change is in the audit log, made by the operator (no user)
    recs, _, _ = driver.execute_query(
        "MATCH (e:AuditEvent) WHERE e.user IS NULL "
        "AND (e.arguments CONTAINS $tag OR e.arguments CONTAINS $revoked) "
        "RETURN e.action AS action, e.labs AS labs ORDER BY e.id",
        tag=names["lab"].removeprefix("t_lab_"),
        revoked=m[2],
    )
    assert [r["action"] for r in recs] == [
        "user create", "user create", "lab create", "lab add-member", "token create",
        "token revoke", "token create",
    ]  # fmt: skip
    assert recs[2]["labs"] == [names["lab"]]


def test_add_member_to_a_missing_lab() -> None:
    res = cli("lab", "add-member", "t_no_such_lab", "t_no_such_user")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: lab 't_no_such_lab' not found"
