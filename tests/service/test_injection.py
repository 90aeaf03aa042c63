"""Cypher injection: a corpus of hostile strings put into every place of every query and
mutation that takes a string (String and ID arguments, in lists and input objects too,
and the JSON of job parameters), found by walking the schema, sent by an admin of the
public dataset's lab (who may write it; a site admin for createUser and createLab), the
other arguments naming real things so that the strings reach the store. Every answer
is coded (no HTTP 500, no INTERNAL), and the whole store holds the same nodes and
relationships by label and type afterwards, once what the legitimate mutations made
(annotations, jobs, schedules, tokens, users and labs of this module, audit events of
its users; and the aggregates that reads cache) is taken away again. The comparison
takes nothing else to be writing to the store meanwhile (as in CI; a test run of the
world fixture alongside loads a dataset). The null models run on two samples: the
strings are the point."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import neo4j

from connectomedb.settings import Settings
from tests.bench import load_bench
from tests.service import operations as ops

fuzz = load_bench("fuzz")

CORPUS = [
    "'",
    '"',
    "`",
    "\\",
    "' OR 1=1 //",
    '" OR 1=1 //',
    "x' OR '1'='1",
    "x'}) MATCH (n) DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n //',
    "`) MATCH (n) DETACH DELETE n //",
    "x' DETACH DELETE n RETURN n //",
    "\u0027) MATCH (n) DETACH DELETE n //",
    "\\u0027) MATCH (n) DETACH DELETE n //",
    "x\\') MATCH (n) DETACH DELETE n //",
    "$dataset",
    "$param}) MATCH (n) DETACH DELETE n //",
    "{dataset: 'x'}",
    "}}}{{{",
    "x\n// comment\nMATCH (n) DETACH DELETE n",
    "x /* */ MATCH (n) DETACH DELETE n",
    "x'; CALL dbms.components() YIELD name RETURN name //",
    "' CALL dbms.killQueries([]) //",
    "' CALL apoc.cypher.runWrite('MATCH (n) DETACH DELETE n', {}) YIELD value RETURN 1 //",
    "apoc.cypher.runWrite('MATCH (n) DETACH DELETE n', {})",
    "' LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l //",
    "A -> B; MATCH (n) DETACH DELETE n",
    'A -> B [synapse_count >= 1]; A.type = "x\' OR 1=1 //"',
    "x\x00y",
    "\x00",
    "\u202e\ufeff\u200b",
    "\U0001f9e0" * 50,
    "x" * 100_000,
]

#: optional arguments set low where a field takes them
CHEAP = {"samples": 2, "nullSamples": 2, "folds": 2, "first": 5}

#: fields only a site admin gets past the permission check of; an admin of the public
#: dataset's lab (who may write everything else) sends the rest
SITE_ADMIN_FIELDS = ("createUser", "createLab")


def store_counts(driver: neo4j.Driver, database: str, since: Any) -> Counter[str]:
    """Nodes by label and relationships by type in the whole store (from the count store);
    audit events only those written before ``since`` (the log of whatever else runs on the
    store grows meanwhile, and an injection that deleted events would take old ones)."""
    labels = [r["label"] for r in driver.execute_query("CALL db.labels()", database_=database)[0]]
    types = [
        r["relationshipType"]
        for r in driver.execute_query("CALL db.relationshipTypes()", database_=database)[0]
    ]
    counts: Counter[str] = Counter()
    for label in labels:
        where = " WHERE n.at < $since" if label == "AuditEvent" else ""
        q = f"MATCH (n:`{label}`){where} RETURN count(n) AS c"
        counts[f":{label}"] = driver.execute_query(q, since=since, database_=database)[0][0]["c"]
    for t in types:
        q = f"MATCH ()-[r:`{t}`]->() RETURN count(r) AS c"
        counts[f"[:{t}]"] = driver.execute_query(q, database_=database)[0][0]["c"]
    return +counts


CLEAN_UP = """
CALL () { MATCH (a:Annotation {dataset: $public}) DETACH DELETE a }
CALL () { MATCH (j:Job|Schedule) WHERE j.dataset IN [$public, $private]
          AND NOT j.id IN $jobs DETACH DELETE j }
CALL () { MATCH (u:User)-[:HAS_TOKEN]->(t:ApiToken) WHERE u.id IN $users
          AND NOT t.id IN $tokens DETACH DELETE t }
CALL () { MATCH (n:User|Lab) WHERE n.id STARTS WITH 't_fuzz_new' AND n.id ENDS WITH $tag
          OPTIONAL MATCH (n)-[:HAS_TOKEN]->(t) DETACH DELETE n, t }
CALL () { MATCH (a:Aggregate) WHERE a.dataset IN [$public, $private] DETACH DELETE a }
CALL () { MATCH (e:AuditEvent) WHERE e.user IN $users
          OR any(d IN e.datasets WHERE d IN [$public, $private]) DETACH DELETE e }
"""


def clean_up(driver: neo4j.Driver, cast: Any, tokens: list[str], database: str) -> None:
    """Takes away what the legitimate mutations of the corpus made, and the aggregates
    that reads cache."""
    driver.execute_query(
        CLEAN_UP,
        public=cast.public,
        private=cast.private,
        jobs=list(cast.jobs),
        users=list(cast.users.values()),
        tokens=tokens,
        tag=cast.tag,
        database_=database,
    )
    fuzz.reset(driver, cast, database)


def token_ids(driver: neo4j.Driver, cast: Any, database: str) -> list[str]:
    recs, _, _ = driver.execute_query(
        "MATCH (u:User)-[:HAS_TOKEN]->(t:ApiToken) WHERE u.id IN $users RETURN t.id AS id",
        users=list(cast.users.values()),
        database_=database,
    )
    return [r["id"] for r in recs]


def places() -> list[tuple[str, str, str]]:
    """(kind, field, place) of every string place of every root field."""
    return [
        (kind, name, place) for kind, name, f in ops.roots() for place, _ in ops.string_arguments(f)
    ]


PLACES = places()


def test_the_walk_finds_every_kind_of_string_place() -> None:
    found = {(field, place) for _, field, place in PLACES}
    assert {
        ("neuron", "id"),
        ("neurons", "filter.type"),
        ("connections", "pre[]"),
        ("motifSearch", "motif"),
        ("submitJob", "params"),
        ("createSchedule", "cron"),
        ("annotateNeuron", "value"),
        ("createUser", "name"),
        ("compareArchitecture", "filterB.ids[]"),
    } <= found


def test_the_corpus_changes_nothing_it_should_not(
    url: str, cast: Any, driver: neo4j.Driver, settings: Settings
) -> None:
    db = settings.neo4j_database
    tokens = token_ids(driver, cast, db)
    since = driver.execute_query("RETURN datetime() AS t", database_=db)[0][0]["t"]
    before = store_counts(driver, db, since)
    plausible = ops.plausible_values(cast)
    fields = {name: f for _, name, f in ops.roots()}
    asks = []
    for kind, field, place in PLACES:
        f = fields[field]
        make = dict(ops.string_arguments(f))[place]
        argument = place.split(".")[0].removesuffix("[]")
        who = "admin" if field in SITE_ADMIN_FIELDS else "manager"
        cheap = {a: v for a, v in CHEAP.items() if a in f.args and a != argument}
        for hostile in CORPUS:
            op = ops.operation(kind, field, f, plausible, {**cheap, argument: make(hostile)})
            asks.append((f"{who} {field}({place}={hostile[:40]!r})", who, op))

    def send(ask: tuple[str, str, ops.Operation]) -> tuple[str, list[str], list[str]]:
        label, who, op = ask
        r = client.post(
            f"{url}/graphql",
            json={"query": op.text, "variables": op.variables},
            headers={"Authorization": f"Bearer {cast.tokens[who]}"},
        )
        try:
            body: Any = r.json()
        except ValueError:
            body = r.text
        return label, *fuzz.judge(r.status_code, body)

    # Four at a time: the operations are independent, and the server serves them together.
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, asks))
    failures = [f"{label}: {problems}" for label, _, problems in answers if problems]
    reached = Counter(codes[0] if codes else "ok" for _, codes, _ in answers)
    clean_up(driver, cast, tokens, db)
    after = store_counts(driver, db, since)
    assert not failures, "\n".join(failures)
    assert len(answers) == len(PLACES) * len(CORPUS)
    print(f"operations: {len(answers)}; answers: {dict(reached)}")
    # The strings reach the resolvers: some operations succeed with them.
    assert reached["ok"] > 0 and reached["NOT_FOUND"] > 0
    changed = {
        k: (before[k], after[k]) for k in before.keys() | after.keys() if before[k] != after[k]
    }
    assert not changed, f"counts (before, after) changed: {changed}"
