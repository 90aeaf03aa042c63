"""Who may read, annotate and manage what, API token handling and id checks in
``connectomedb.store.access`` (pure functions, no database)."""

from __future__ import annotations

import hashlib
import re

import pytest

from connectomedb.errors import BadInput, Unauthenticated
from connectomedb.store.access import (
    ANONYMOUS,
    DatasetAccess,
    Principal,
    can_edit,
    can_manage,
    can_manage_lab,
    can_read,
    check_id,
    hash_secret,
    new_token,
    parse_token,
)

# -- principals and datasets --------------------------------------------------------------

PRINCIPALS: dict[str, Principal] = {
    "anonymous": ANONYMOUS,
    "site_admin": Principal(user_id="root", admin=True),
    "owner_viewer": Principal(user_id="ov", labs={"owner": "viewer"}),
    "owner_editor": Principal(user_id="oe", labs={"owner": "editor"}),
    "owner_admin": Principal(user_id="oa", labs={"owner": "admin"}),
    "shared_viewer": Principal(user_id="sv", labs={"partner": "viewer"}),
    "shared_editor": Principal(user_id="se", labs={"partner": "editor"}),
    "shared_admin": Principal(user_id="sa", labs={"partner": "admin"}),
    "outsider_admin": Principal(user_id="xa", labs={"other": "admin"}),
}


def _ds(
    visibility: str, shared: tuple[str, ...] = (), owner: str | None = "owner"
) -> DatasetAccess:
    return DatasetAccess(
        id=f"ds_{visibility}", visibility=visibility, owner=owner, shared_with=shared, props={}
    )


DATASETS: dict[str, DatasetAccess] = {
    "private": _ds("private"),
    "public": _ds("public"),
    "shared": _ds("private", shared=("partner",)),
}

T, F = True, False

#: (principal, dataset) -> (can_read, can_edit, can_manage), written out by hand.
TRUTH: dict[tuple[str, str], tuple[bool, bool, bool]] = {
    ("anonymous", "private"): (F, F, F),
    ("anonymous", "public"): (T, F, F),
    ("anonymous", "shared"): (F, F, F),
    ("site_admin", "private"): (T, T, T),
    ("site_admin", "public"): (T, T, T),
    ("site_admin", "shared"): (T, T, T),
    ("owner_viewer", "private"): (T, F, F),
    ("owner_viewer", "public"): (T, F, F),
    ("owner_viewer", "shared"): (T, F, F),
    ("owner_editor", "private"): (T, T, F),
    ("owner_editor", "public"): (T, T, F),
    ("owner_editor", "shared"): (T, T, F),
    ("owner_admin", "private"): (T, T, T),
    ("owner_admin", "public"): (T, T, T),
    ("owner_admin", "shared"): (T, T, T),
    ("shared_viewer", "private"): (F, F, F),
    ("shared_viewer", "public"): (T, F, F),
    ("shared_viewer", "shared"): (T, F, F),
    ("shared_editor", "private"): (F, F, F),
    ("shared_editor", "public"): (T, F, F),
    ("shared_editor", "shared"): (T, T, F),
    ("shared_admin", "private"): (F, F, F),
    ("shared_admin", "public"): (T, F, F),
    ("shared_admin", "shared"): (T, T, F),
    ("outsider_admin", "private"): (F, F, F),
    ("outsider_admin", "public"): (T, F, F),
    ("outsider_admin", "shared"): (F, F, F),
}


def test_truth_table_covers_every_pair() -> None:
    assert set(TRUTH) == {(p, d) for p in PRINCIPALS for d in DATASETS}


@pytest.mark.parametrize(("principal", "dataset"), sorted(TRUTH))
def test_access_truth_table(principal: str, dataset: str) -> None:
    p, d = PRINCIPALS[principal], DATASETS[dataset]
    assert (can_read(p, d), can_edit(p, d), can_manage(p, d)) == TRUTH[principal, dataset]


def test_anonymous_principal() -> None:
    assert ANONYMOUS.anonymous is True
    assert ANONYMOUS.admin is False
    assert ANONYMOUS.labs == {}
    assert Principal(user_id="u").anonymous is False


def test_dataset_without_owner() -> None:
    d = _ds("private", shared=("partner",), owner=None)
    owner_admin = PRINCIPALS["owner_admin"]
    shared_admin = PRINCIPALS["shared_admin"]
    site_admin = PRINCIPALS["site_admin"]
    assert (can_read(owner_admin, d), can_edit(owner_admin, d), can_manage(owner_admin, d)) == (
        F,
        F,
        F,
    )
    # Sharing gives an editor role on the dataset, never the right to manage it.
    assert (can_read(shared_admin, d), can_edit(shared_admin, d), can_manage(shared_admin, d)) == (
        T,
        T,
        F,
    )
    assert (can_read(site_admin, d), can_edit(site_admin, d), can_manage(site_admin, d)) == (
        T,
        T,
        T,
    )


def test_highest_role_across_labs_counts_for_edit() -> None:
    p = Principal(user_id="u", labs={"owner": "viewer", "partner": "editor"})
    d = DATASETS["shared"]
    assert (can_read(p, d), can_edit(p, d), can_manage(p, d)) == (T, T, F)


def test_admin_of_shared_lab_cannot_manage_but_owner_admin_can() -> None:
    d = DATASETS["shared"]
    p = Principal(user_id="u", labs={"owner": "viewer", "partner": "admin"})
    assert can_manage(p, d) is False
    assert can_manage(Principal(user_id="v", labs={"owner": "admin"}), d) is True


def test_unknown_visibility_is_not_public() -> None:
    d = _ds("Public")
    assert can_read(ANONYMOUS, d) is False
    assert can_read(PRINCIPALS["owner_viewer"], d) is True


@pytest.mark.parametrize(
    ("principal", "lab", "expected"),
    [
        ("anonymous", "owner", F),
        ("site_admin", "owner", T),
        ("site_admin", "no_such_lab", T),
        ("owner_viewer", "owner", F),
        ("owner_editor", "owner", F),
        ("owner_admin", "owner", T),
        ("owner_admin", "partner", F),
        ("shared_viewer", "partner", F),
        ("shared_editor", "partner", F),
        ("shared_admin", "partner", T),
        ("shared_admin", "owner", F),
        ("outsider_admin", "other", T),
        ("outsider_admin", "owner", F),
    ],
)
def test_can_manage_lab(principal: str, lab: str, expected: bool) -> None:
    assert can_manage_lab(PRINCIPALS[principal], lab) is expected


# -- secrets and tokens ---------------------------------------------------------------------


def test_hash_secret_known_values() -> None:
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_secret("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_new_token_shape_and_round_trip() -> None:
    tid, token, digest = new_token()
    assert re.fullmatch(r"[0-9a-f]{16}", tid)
    assert token.startswith(f"cdb_{tid}_")
    secret = token[len("cdb_") + 16 + 1 :]
    assert len(secret) == 43
    assert len(token) == 64
    assert parse_token(token) == (tid, secret)
    assert digest == hashlib.sha256(secret.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest not in token
    assert digest[:16] not in token


def test_new_tokens_differ() -> None:
    a, b = new_token(), new_token()
    assert a[0] != b[0]
    assert a[1] != b[1]
    assert a[2] != b[2]


GOOD_ID = "0123456789abcdef"
GOOD_SECRET = "Ab0_-" + "x" * 38  # 43 characters


def test_parse_token_hand_written() -> None:
    assert len(GOOD_SECRET) == 43
    assert parse_token(f"cdb_{GOOD_ID}_{GOOD_SECRET}") == (GOOD_ID, GOOD_SECRET)


def test_parse_token_secret_may_contain_underscores() -> None:
    secret = "_" * 43
    assert parse_token(f"cdb_{GOOD_ID}_{secret}") == (GOOD_ID, secret)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "cdb_",
        "cdb__",
        f"{GOOD_ID}_{GOOD_SECRET}",  # no prefix
        f"xyz_{GOOD_ID}_{GOOD_SECRET}",  # wrong prefix
        f"CDB_{GOOD_ID}_{GOOD_SECRET}",  # prefix is case-sensitive
        f"cdb-{GOOD_ID}_{GOOD_SECRET}",
        f"Bearer cdb_{GOOD_ID}_{GOOD_SECRET}",
        f"cdb_{GOOD_ID}_{GOOD_SECRET[:42]}",  # short secret
        f"cdb_{GOOD_ID}_",  # empty secret
        f"cdb_{GOOD_ID}_{GOOD_SECRET}x",  # long secret
        f"cdb_{GOOD_ID}_{GOOD_SECRET}_extra",  # extra part
        f"cdb_{GOOD_ID}_{GOOD_ID}_{GOOD_SECRET}",  # extra part
        f"cdb_0123456789abcdeg_{GOOD_SECRET}",  # non-hex id
        f"cdb_0123456789ABCDEF_{GOOD_SECRET}",  # upper-case hex id
        f"cdb_0123456789abcde_{GOOD_SECRET}",  # short id
        f"cdb_0123456789abcdef0_{GOOD_SECRET}",  # long id
        f"cdb_{GOOD_ID}_{'x' * 42}=",  # not url-safe base64
        f"cdb_{GOOD_ID}_{'x' * 42}+",
        f"cdb_{GOOD_ID}_{'x' * 42}/",
        f" cdb_{GOOD_ID}_{GOOD_SECRET}",  # leading space
        f"cdb_{GOOD_ID}_{GOOD_SECRET} ",  # trailing space
    ],
)
def test_parse_token_malformed(token: str) -> None:
    with pytest.raises(Unauthenticated, match="malformed API token"):
        parse_token(token)


def test_parse_token_rejects_trailing_newline() -> None:
    with pytest.raises(Unauthenticated):
        parse_token(f"cdb_{GOOD_ID}_{GOOD_SECRET}\n")


# -- ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["a", "Z", "0", "lab_1", "a.b-c_d", "A1-", "x" * 128, "hemibrain.v1.2.1"]
)
def test_check_id_accepts(value: str) -> None:
    assert check_id("lab", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "_a",
        ".a",
        "-a",
        "a b",
        "a/b",
        "a'b",
        "a`b",
        "a:b",
        "é",
        "aé",
        "x" * 129,
        " a",
        "a ",
    ],
)
def test_check_id_rejects(value: str) -> None:
    with pytest.raises(BadInput, match="^user id .* is not valid"):
        check_id("user", value)


def test_check_id_message_names_kind_and_value() -> None:
    with pytest.raises(BadInput) as e:
        check_id("lab", "a b")
    assert str(e.value) == (
        "lab id 'a b' is not valid: use letters, digits, '_', '.', '-' (max 128)"
    )


def test_check_id_rejects_trailing_newline() -> None:
    with pytest.raises(BadInput):
        check_id("user", "abc\n")
