"""Seeded synthetic connectomes with planted structure (for scale tests and ground truth).

Model: ``n_types`` cell types with sizes drawn from a Dirichlet; a type-to-type
connection probability matrix ``P = p0 * M`` where ``M`` holds log-normal block
multipliers and ``p0`` is set so that the expected number of connections is
``n_connections``; each ordered pair ``u -> v`` is drawn independently with
``P[type(u), type(v)]``; then for every drawn ``u -> v`` the reverse ``v -> u`` is
added with probability ``min(1, (reciprocity - 1) / 2 * P[type(v), type(u)])``, which
makes reciprocal pairs about ``reciprocity`` times as common as independence
predicts (a pair is reciprocal with probability ``p^2 + 2 p q`` against ``p^2``
under independence, and ``1 + 2q/p = reciprocity``). Synapse counts per connection are ``1 + floor(LogNormal(mu, sigma))``
(heavy-tailed). With ``degree_sigma > 0`` the model is degree-corrected: every neuron
gets an out- and an in-propensity drawn from LogNormal(0, degree_sigma) (normalised to
mean 1 within its type), and the connections of a type pair pick their pre cells in
proportion to out-propensity and their post cells in proportion to in-propensity, so that
degrees within a type are heavy-tailed as in whole-brain connectomes (hubs with
thousands of partners) while the type-to-type densities stay those of ``P``. With
``degree_sigma = 0`` (the default) pairs within a type pair are uniform. With ``synapses=True`` every synapse of every connection becomes a
Synapse node placed near the midpoint of its two somata.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from connectomedb.loaders.base import Row, Source, Where
from connectomedb.schema.models import DatasetMeta

NEUROTRANSMITTERS = ("acetylcholine", "gaba", "glutamate", "dopamine", "serotonin", "octopamine")
_SIGN = {
    "acetylcholine": 1,
    "gaba": -1,
    "glutamate": -1,
    "dopamine": 0,
    "serotonin": 0,
    "octopamine": 0,
}


@dataclass(frozen=True)
class SyntheticParams:
    n_neurons: int = 1000
    n_connections: int = 20_000
    n_types: int = 20
    reciprocity: float = 3.0
    count_mu: float = 0.7
    count_sigma: float = 0.9
    synapses: bool = False
    seed: int = 0
    degree_sigma: float = 0.0

    def __post_init__(self) -> None:
        if self.n_neurons < 2:
            raise ValueError("n_neurons must be at least 2")
        if not 1 <= self.n_types <= self.n_neurons:
            raise ValueError("n_types must be between 1 and n_neurons")
        if (
            self.n_connections < 0
            or self.n_connections > self.n_neurons * (self.n_neurons - 1) // 4
        ):
            raise ValueError("n_connections must be between 0 and a quarter of all ordered pairs")
        if self.reciprocity < 1:
            raise ValueError("reciprocity must be >= 1")
        if not 0.0 <= self.degree_sigma <= 3.0:
            raise ValueError("degree_sigma must be between 0 and 3")


class SyntheticGraph:
    """The generated arrays (deterministic in the params)."""

    def __init__(self, p: SyntheticParams) -> None:
        rng = np.random.default_rng(p.seed)
        n, k = p.n_neurons, p.n_types
        sizes = np.maximum(
            1, np.round(rng.dirichlet(np.full(k, 2.0)) * (n - k)).astype(np.int64) + 1
        )
        sizes[-1] += n - sizes.sum()
        while sizes[-1] < 1:  # rounding overshoot: take from the largest type
            j = int(np.argmax(sizes[:-1]))
            sizes[j] -= 1
            sizes[-1] += 1
        self.type_of = np.repeat(np.arange(k), sizes)
        self.type_sizes = sizes
        mult = rng.lognormal(0.0, 1.0, size=(k, k))
        pairs = np.outer(sizes, sizes) - np.diag(sizes)
        base = p.n_connections / float((mult * pairs).sum())
        prob = np.clip(base * mult, 0.0, 1.0)
        recip_p = np.clip((p.reciprocity - 1.0) / 2.0 * prob.T, 0.0, 1.0)
        expected_fwd = float((prob * pairs).sum())
        expected_rev = float((prob * recip_p * pairs).sum())
        # Scale down so that drawn plus added connections land near n_connections.
        scale = p.n_connections / max(expected_fwd + expected_rev, 1e-12)
        prob = np.clip(prob * scale, 0.0, 1.0)
        recip_p = np.clip((p.reciprocity - 1.0) / 2.0 * prob.T, 0.0, 1.0)
        self.prob = prob
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        hubs = _Propensities(rng, sizes, offsets, p.degree_sigma) if p.degree_sigma else None
        pre_parts, post_parts = [], []
        for a in range(k):
            for b in range(k):
                m = int(pairs[a, b])
                if m == 0 or prob[a, b] == 0:
                    continue
                cnt = int(rng.binomial(m, prob[a, b]))
                if cnt == 0:
                    continue
                sa, sb = int(sizes[a]), int(sizes[b])
                if hubs is not None:
                    u, v = hubs.draw(rng, a, b, cnt)
                    pre_parts.append(u)
                    post_parts.append(v)
                    continue
                flat = rng.choice(
                    sa * sb, size=min(cnt + (sa if a == b else 0), sa * sb), replace=False
                )
                u = offsets[a] + flat // sb
                v = offsets[b] + flat % sb
                keep = u != v
                u, v = u[keep][:cnt], v[keep][:cnt]
                pre_parts.append(u)
                post_parts.append(v)
        pre = np.concatenate(pre_parts) if pre_parts else np.zeros(0, np.int64)
        post = np.concatenate(post_parts) if post_parts else np.zeros(0, np.int64)
        add = rng.random(pre.size) < recip_p[self.type_of[pre], self.type_of[post]]
        pre = np.concatenate([pre, post[add]])
        post = np.concatenate([post, pre[: add.size][add]])
        key = np.unique(pre.astype(np.int64) * n + post)
        self.pre = (key // n).astype(np.int64)
        self.post = (key % n).astype(np.int64)
        self.count = 1 + np.floor(rng.lognormal(p.count_mu, p.count_sigma, size=key.size)).astype(
            np.int64
        )
        self.nt = rng.choice(len(NEUROTRANSMITTERS), size=k, p=[0.5, 0.2, 0.2, 0.04, 0.03, 0.03])
        centres = rng.normal(0.0, 200.0, size=(k, 3))
        self.soma = centres[self.type_of] + rng.normal(0.0, 20.0, size=(n, 3))
        self.seed_synapses = int(rng.integers(0, 2**31 - 1))


class _Propensities:
    """Per-neuron out- and in-propensities (LogNormal(0, sigma), mean 1 within each type)
    and the draw of distinct pairs of a type pair in proportion to them."""

    def __init__(
        self, rng: np.random.Generator, sizes: np.ndarray, offsets: np.ndarray, sigma: float
    ) -> None:
        n = int(sizes.sum())
        self.offsets = offsets
        self.sizes = sizes
        self.cum_out: list[np.ndarray] = []
        self.cum_in: list[np.ndarray] = []
        w_out = rng.lognormal(0.0, sigma, size=n)
        w_in = rng.lognormal(0.0, sigma, size=n)
        for t in range(sizes.size):
            sl = slice(int(offsets[t]), int(offsets[t + 1]))
            self.cum_out.append(np.cumsum(w_out[sl]) / w_out[sl].sum())
            self.cum_in.append(np.cumsum(w_in[sl]) / w_in[sl].sum())

    def _pick(self, rng: np.random.Generator, cum: np.ndarray, size: int) -> np.ndarray:
        return np.minimum(np.searchsorted(cum, rng.random(size), side="right"), cum.size - 1)

    def draw(
        self, rng: np.random.Generator, a: int, b: int, cnt: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``cnt`` distinct pairs (u in type a, v in type b, u != v); a type pair
        whose hubs saturate gets fewer after a few redraws."""
        sb = int(self.sizes[b])
        cap = int(self.sizes[a]) * sb - (sb if a == b else 0)
        want = min(cnt, cap)
        keys = np.zeros(0, np.int64)
        for _ in range(8):
            need = want - keys.size
            if need <= 0:
                break
            draw = need + need // 4 + 8
            u = self._pick(rng, self.cum_out[a], draw)
            v = self._pick(rng, self.cum_in[b], draw)
            new = (u * sb + v)[(u + self.offsets[a]) != (v + self.offsets[b])]
            allk = np.concatenate([keys, new])
            _, first = np.unique(allk, return_index=True)
            keys = allk[np.sort(first)]
        keys = keys[:want]
        return self.offsets[a] + keys // sb, self.offsets[b] + keys % sb


class SyntheticSource(Source):
    """A Source over a SyntheticGraph."""

    def __init__(self, params: SyntheticParams, dataset_id: str | None = None) -> None:
        self.params = params
        did = dataset_id or f"synthetic_{params.n_neurons}_{params.n_connections}_s{params.seed}"
        self.meta = DatasetMeta(
            id=did,
            name=f"Synthetic connectome ({params.n_neurons} neurons)",
            species="synthetic",
            source="connectomedb synthetic generator",
            description=json.dumps(asdict(params), sort_keys=True),
            license="CC0-1.0",
        )
        self._graph: SyntheticGraph | None = None

    @property
    def graph(self) -> SyntheticGraph:
        if self._graph is None:
            self._graph = SyntheticGraph(self.params)
        return self._graph

    def fingerprint(self) -> str:
        return "synthetic:" + json.dumps(asdict(self.params), sort_keys=True)

    def neurons(self) -> Iterator[Row]:
        g = self.graph
        for i in range(self.params.n_neurons):
            t = int(g.type_of[i])
            nt = NEUROTRANSMITTERS[int(g.nt[t])]
            x, y, z = g.soma[i].tolist()
            yield (
                Where("synthetic:neurons", i + 1),
                {
                    "id": f"n{i}",
                    "name": f"T{t}_{i}",
                    "kind": "neuron",
                    "type": f"T{t}",
                    "class": f"C{t % 5}",
                    "neurotransmitter": nt,
                    "sign": _SIGN[nt],
                    "side": "L" if i % 2 == 0 else "R",
                    "x": x,
                    "y": y,
                    "z": z,
                },
            )

    def connections(self) -> Iterator[Row]:
        g = self.graph
        for k, (u, v, c) in enumerate(
            zip(g.pre.tolist(), g.post.tolist(), g.count.tolist(), strict=True)
        ):
            yield (
                Where("synthetic:connections", k + 1),
                {
                    "pre": f"n{u}",
                    "post": f"n{v}",
                    "synapse_count": c,
                },
            )

    def synapses(self) -> Iterator[Row]:
        if not self.params.synapses:
            return
        g = self.graph
        rng = np.random.default_rng(g.seed_synapses)
        sid = 0
        chunk = 65_536
        for start in range(0, g.pre.size, chunk):
            pre = g.pre[start : start + chunk]
            post = g.post[start : start + chunk]
            cnt = g.count[start : start + chunk]
            u = np.repeat(pre, cnt)
            v = np.repeat(post, cnt)
            pos = (g.soma[u] + g.soma[v]) / 2.0 + rng.normal(0.0, 5.0, size=(u.size, 3))
            conf = np.round(rng.uniform(0.5, 1.0, size=u.size), 3)
            for a, b, (x, y, z), c in zip(
                u.tolist(), v.tolist(), pos.tolist(), conf.tolist(), strict=True
            ):
                sid += 1
                yield (
                    Where("synthetic:synapses", sid),
                    {
                        "id": f"s{sid}",
                        "pre": f"n{a}",
                        "post": f"n{b}",
                        "x": x,
                        "y": y,
                        "z": z,
                        "confidence": c,
                        "kind": "chemical",
                    },
                )

    def summary(self) -> dict[str, Any]:
        g = self.graph
        return {
            "neurons": self.params.n_neurons,
            "connections": int(g.pre.size),
            "synapses": int(g.count.sum()),
        }
