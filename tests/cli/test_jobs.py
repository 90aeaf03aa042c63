"""``connectomedb job submit/show/cancel`` (on a queue of their own, so that no worker
takes the job); the worker and scheduler loops are the job runtime's tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.cli.conftest import cli


def test_submit_show_cancel(small_dataset: str) -> None:
    queue = f"t_cli_{uuid.uuid4().hex[:8]}"
    res = cli("job", "submit", small_dataset, "probe", "--queue", queue)
    assert res.exit_code == 0, res.output
    job = res.stdout.strip()
    assert job and " " not in job

    res = cli("job", "show", job)
    assert res.exit_code == 0, res.output
    fields = dict(line.split(": ", 1) for line in res.stdout.splitlines())
    assert fields["id"] == job
    assert fields["status"] == "queued"
    assert fields["queue"] == queue
    assert fields["dataset"] == small_dataset
    assert "claim" not in fields and "lock_seq" not in fields

    res = cli("job", "cancel", job)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"{job}: cancelled (cancel requested: True)"


def test_submit_reads_params_from_a_file(small_dataset: str, tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text(json.dumps({}))
    queue = f"t_cli_{uuid.uuid4().hex[:8]}"
    res = cli("job", "submit", small_dataset, "probe", "--params", f"@{params}", "--queue", queue)
    assert res.exit_code == 0, res.output


def test_submit_to_a_missing_dataset() -> None:
    res = cli("job", "submit", "t_no_such_dataset", "probe")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: dataset 't_no_such_dataset' not found"


def test_submit_refuses_bad_params() -> None:
    res = cli("job", "submit", "t_no_such_dataset", "probe", "--params", "{bad")
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        "error: --params is not JSON: line 1, column 2: "
        "Expecting property name enclosed in double quotes"
    )
    res = cli("job", "submit", "t_no_such_dataset", "probe", "--params", "@/no/such/file")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: cannot read /no/such/file: No such file or directory"


def test_show_of_a_missing_job() -> None:
    res = cli("job", "show", "t_no_such_job")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: job 't_no_such_job' not found"


def test_kinds_lists_the_registry() -> None:
    from connectomedb.jobs.registry import KINDS

    res = cli("job", "kinds")
    assert res.exit_code == 0, res.output
    listed = [line.split()[1] for line in res.stdout.splitlines() if line.startswith("│ ")]
    assert [k for k in listed if k in KINDS] == list(KINDS)


def test_submit_of_an_unknown_kind_names_the_known_ones() -> None:
    from connectomedb.jobs.registry import kind_names

    res = cli("job", "submit", "t_no_such_dataset", "bake")
    assert res.exit_code == 1
    assert (
        res.stderr.strip() == f"error: unknown job kind 'bake' (known: {', '.join(kind_names())})"
    )
