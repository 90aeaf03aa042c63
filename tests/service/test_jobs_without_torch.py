"""An API whose Python cannot import torch (the ``analytics`` extra left out) still
validates and queues every registered job kind: parameters are checked, bad ones are
BAD_INPUT, nothing is INTERNAL. torch is hidden by a meta-path finder in the server's
own process."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectomedb.jobs.registry import kind_names
from tests.world import Client, World, free_port

SERVER = """
import importlib.abc, sys

HIDDEN = {"torch", "torch_geometric", "torch_scatter", "torch_sparse", "brian2"}


class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoTorch())
try:
    import torch  # noqa: F401
except ModuleNotFoundError:
    print("torch is hidden", flush=True)
else:
    sys.exit("torch could be imported")

import uvicorn

from connectomedb.service.app import create_app
from connectomedb.settings import Settings

uvicorn.run(create_app(Settings()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

#: valid parameters for every registered kind (a new kind needs an entry here)
EXAMPLES: dict[str, dict[str, Any]] = {
    "probe": {"steps": 1},
    "census": {"samples": 2},
    "embedding": {"dim": 2},
    "anomaly": {"top": 3},
    "celltype_gnn": {"seeds": 1, "epochs": 1},
    "simulate": {"seconds": 0.1, "stimuli": [{"ids": ["AVAL"], "rate_hz": 100}]},
    "fit_strengths": {
        "targets": [{"ids": ["AVAR"], "rate_hz": 20}],
        "stimuli": [{"ids": ["AVAL"], "rate_hz": 100}],
    },
    "structure_function": {"measurements": "randi2023_wt", "null_samples": 10},
    "fit_propagation": {"measurements": "randi2023_wt", "folds": 3},
    "rnn_experiment": {"tasks": ["pattern"], "seeds": 2, "steps": 10},
}

SUBMIT = """mutation($ds: ID!, $kind: JobKind!, $params: JSON, $queue: String!) {
  submitJob(dataset: $ds, kind: $kind, params: $params, queue: $queue) {
    id status kind params queue } }"""


@pytest.fixture(scope="module")
def torchless_api() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"the API without torch did not start:\n{out}\n{err[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the API without torch did not answer within 90 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        assert out.startswith("torch is hidden"), (out, err[-2000:])


def test_every_kind_is_validated_and_queued_without_torch(world: World, torchless_api: str) -> None:
    carol = Client(torchless_api, world.tokens["carol"])
    queue = f"q_{uuid.uuid4().hex[:8]}"  # no worker serves it: the jobs stay queued
    assert set(EXAMPLES) == set(kind_names())
    for kind, params in EXAMPLES.items():
        job = carol(SUBMIT, ds=world.cook, kind=kind.upper(), params=params, queue=queue)[
            "submitJob"
        ]
        assert (job["status"], job["kind"], job["queue"]) == ("QUEUED", kind.upper(), queue)
        scalars = {k: v for k, v in params.items() if not isinstance(v, list)}
        assert {k: job["params"][k] for k in scalars} == scalars
        code, message = carol.error(
            SUBMIT, ds=world.cook, kind=kind.upper(), params={**params, "colour": 1}, queue=queue
        )
        assert code == "BAD_INPUT" and "colour" in message, (kind, code, message)
    code, message = carol.error(
        SUBMIT, ds=world.cook, kind="SIMULATE", params={"seconds": 0.1}, queue=queue
    )
    assert code == "BAD_INPUT" and "stimuli" in message


def test_the_job_kind_enum_is_the_registry(world: World) -> None:
    data = Client(world.url)('{ __type(name: "JobKind") { enumValues { name } } }')
    assert [v["name"] for v in data["__type"]["enumValues"]] == [k.upper() for k in kind_names()]
