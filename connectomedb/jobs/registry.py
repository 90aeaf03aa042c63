"""The one table of job kinds: each kind's parameter model, the function that runs it
(by import path, imported only by the worker that runs it) and what it does.

Only parameter modules are imported here, and none of them imports torch: the API
validates a job of any kind without the ``analytics`` extra installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from pydantic import ValidationError

from connectomedb.analytics.params import (
    AnomalyParams,
    CellTypeParams,
    EmbeddingParams,
    StructureFunctionParams,
)
from connectomedb.errors import BadInput, ConfigError
from connectomedb.jobs.contract import JobContext, Params, RunResult
from connectomedb.jobs.probe import ProbeParams
from connectomedb.motifs.job import CensusParams
from connectomedb.neuroai.params import RNNExperimentParams
from connectomedb.simulate.params import FitParams, SimulateParams
from connectomedb.simulate.propagation_job import PropagationFitParams

Run = Callable[[JobContext, Any], RunResult]


@dataclass(frozen=True)
class Kind:
    """A job kind: ``run`` is ``"module:function"``; ``extra`` names the optional
    dependencies (``pip install 'connectomedb[extra]'``) its run needs, if any."""

    name: str
    params: type[Params]
    run: str
    description: str
    extra: str | None = None

    def load(self) -> Run:
        """The run function.

        Raises:
            ConfigError: this Python lacks a package the kind needs.
        """
        module, _, function = self.run.partition(":")
        try:
            fn: Run = getattr(importlib.import_module(module), function)
        except ImportError as e:
            raise self.missing(e) from e
        return fn

    def missing(self, e: ImportError) -> ConfigError:
        """The error for a package this Python lacks, raised by the kind's import or run."""
        hint = f" (pip install 'connectomedb[{self.extra}]')" if self.extra else ""
        return ConfigError(
            f"this worker cannot run {self.name} jobs: {e}{hint}; run them on a worker "
            "that has it installed"
        )


def _doc(params: type[Params]) -> str:
    """The parameter model's docstring as one line of plain text."""
    return " ".join((params.__doc__ or "").replace("``", "").split())


KINDS: Final[Mapping[str, Kind]] = MappingProxyType(
    {
        k.name: k
        for k in (
            Kind("probe", ProbeParams, "connectomedb.jobs.probe:run", _doc(ProbeParams)),
            Kind("census", CensusParams, "connectomedb.motifs.job:run", _doc(CensusParams)),
            Kind(
                "embedding",
                EmbeddingParams,
                "connectomedb.analytics.jobs:embedding",
                _doc(EmbeddingParams),
                "analytics",
            ),
            Kind(
                "anomaly",
                AnomalyParams,
                "connectomedb.analytics.jobs:anomaly",
                _doc(AnomalyParams),
                "analytics",
            ),
            Kind(
                "celltype_gnn",
                CellTypeParams,
                "connectomedb.analytics.jobs:celltype_gnn",
                _doc(CellTypeParams),
                "analytics",
            ),
            Kind(
                "structure_function",
                StructureFunctionParams,
                "connectomedb.analytics.structure_function_job:run",
                _doc(StructureFunctionParams),
                "analytics",  # matplotlib, for the plots
            ),
            Kind(
                "simulate",
                SimulateParams,
                "connectomedb.simulate.job:run",
                _doc(SimulateParams),
                "analytics",
            ),
            Kind(
                "fit_strengths",
                FitParams,
                "connectomedb.simulate.job:run_fit",
                _doc(FitParams),
                "analytics",
            ),
            Kind(
                "fit_propagation",
                PropagationFitParams,
                "connectomedb.simulate.propagation_job:run",
                _doc(PropagationFitParams),
            ),
            Kind(
                "rnn_experiment",
                RNNExperimentParams,
                "connectomedb.neuroai.job:run",
                _doc(RNNExperimentParams),
                "analytics",  # torch, scikit-learn's digits, matplotlib
            ),
        )
    }
)


def kind_names() -> tuple[str, ...]:
    return tuple(KINDS)


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise BadInput(f"unknown job kind {name!r} (known: {', '.join(KINDS)})") from None


def check_params(name: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """Validated parameters with defaults filled in, as JSON-able values; BadInput names
    the field and the problem."""
    k = get_kind(name)
    try:
        return k.params.model_validate(raw or {}).model_dump(mode="json", by_alias=True)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc']) or 'params'}: {err['msg']}"
            for err in e.errors()
        )
        raise BadInput(f"bad parameters for a {name} job: {problems}") from e
