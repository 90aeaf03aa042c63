"""Signal propagation on the connectome as a linear rate model, with strengths fitted to
measured stimulus -> response pairs and tested on stimulated neurons left out of the fit.

What is measured, what is a proxy, what is fitted, what is assumed:

- Measured: the wiring (which neuron makes chemical synapses onto which, how many;
  which pairs share gap junctions, how many) and the responses (mean dF/F of neuron r
  when neuron s is stimulated).
- Proxies: a connection's strength is its synapse count; a gap junction's is its count;
  the sign of a chemical synapse comes from its presynaptic neuron's first listed
  transmitter (a sign rule), not from measured receptor physiology.
- Fitted: one non-negative gain per presynaptic group (cell class by default) that
  multiplies every chemical connection leaving that group's neurons; one non-negative
  gain for all gap junctions; optionally one sign multiplier in [-1, 1] per transmitter
  group (the most common transmitter group pinned to its rule sign, which fixes the
  scale that a sign multiplier and a gain would otherwise share); and the readout: one
  global scale ``a`` from model units to dF/F (and optionally one global offset ``b``),
  in closed form (least squares) given the rest.
- Assumed: the response is the steady state of a linear rate model,
  ``x = W S x + e_s``, so ``x = (I - W S)^{-1} e_s``: no saturation, no thresholds, no
  dynamics, no neuromodulation or extrasynaptic signalling, and the same readout for
  every stimulated neuron. A gain is an effective coupling of this model, not a
  synaptic weight.

``W`` is normalised so that the Perron root of ``|W|`` (chemical counts without signs
plus gap junction counts) is ``rho`` (0.5 by default). Since ``|W S| <= max|g| |W|``
element by element, every gain within ``(1 - MARGIN) / rho`` keeps the spectral radius
of ``W S`` below 1: the fit's bounds alone keep ``I - W S`` invertible, and no step of
the optimiser can be unstable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
from scipy import optimize, stats

from connectomedb.errors import BadInput
from connectomedb.motifs.nulls import degree_preserving

#: the Perron root of ``|W|`` at unit gains (the strength of the recurrence)
RHO: Final = 0.5
#: gains stay within (1 - MARGIN) / rho, so rho(W S) <= 1 - MARGIN
MARGIN: Final = 0.01
#: the confidence level of every interval
CONFIDENCE: Final = 0.95
#: the models compared on held-out stimulated neurons
MODELS: Final = ("fitted", "synapse_count", "shuffled", "no_wiring")
MODEL_DESCRIPTIONS: Final = {
    "fitted": "linear propagation on the connectome, group gains (and gap gain, signs) "
    "and readout fitted on the training folds",
    "synapse_count": "linear propagation on the connectome at unit gains (synapse counts "
    "as strengths); only the readout fitted on the training folds",
    "shuffled": "linear propagation on degree-preserving shuffles of the connectome, "
    "fitted exactly like 'fitted' (mean over shuffles per fold)",
    "no_wiring": "each responder's mean response in the training folds (the training "
    "mean where a responder has none): no wiring at all",
}
#: above this many parameters the trust-region steps are solved by LSMR, not by an SVD
#: of the (pairs x parameters) Jacobian, which then dominates the time
EXACT_UP_TO: Final = 20
#: the model is dense (n x n matrices, an n^3 inverse per step): at most this many neurons
MAX_NEURONS: Final = 3000


def _empty_int() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def _empty_float() -> np.ndarray:
    return np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class Wiring:
    """Measured wiring and the proxies read from it.

    Args:
        n: neurons ``0..n-1``.
        pre, post, weight: chemical connections ``pre -> post`` and their strength proxy
            (synapse count), one per ordered pair.
        sign: the sign rule's sign (+1 / -1) of each neuron's chemical synapses.
        groups: the gain group (e.g. cell class) of each neuron, in ``0..n_groups-1``.
        gap_a, gap_b, gap_count: gap junctions, each unordered pair once (a != b).
        sign_groups: for free signs, each neuron's transmitter group in
            ``0..n_sign_groups-1``, or -1 where its sign stays the rule's (the pinned
            reference); None: no free signs possible.

    Shapes:
        pre, post, weight: (m,); sign, groups, sign_groups: (n,); gap_*: (k,).
    """

    n: int
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    sign: np.ndarray
    groups: np.ndarray
    n_groups: int
    gap_a: np.ndarray = field(default_factory=_empty_int)
    gap_b: np.ndarray = field(default_factory=_empty_int)
    gap_count: np.ndarray = field(default_factory=_empty_float)
    sign_groups: np.ndarray | None = None
    n_sign_groups: int = 0

    def shuffled(self, rng: np.random.Generator) -> Wiring:
        """A degree-preserving shuffle (:func:`~connectomedb.motifs.nulls.degree_preserving`)
        of the chemical connections and, separately, of the gap junctions. Every neuron
        keeps its in- and out-degree, and the weights it sends: its own synapse counts
        go, in random order, to its new outgoing connections (so out-strengths and the
        sign of what it sends are kept; in-strengths are not). Autapses stay as they
        are. Gap junction counts are permuted at random over the new gap pairs, each
        neuron keeping its number of gap partners."""
        loop = self.pre == self.post
        pre, post, weight = self.pre[~loop], self.post[~loop], self.weight[~loop]
        new_pre, new_post = degree_preserving(self.n, pre, post, rng)
        new_weight = _by_source(pre, weight, new_pre, rng)
        gap_a, gap_b, gap_count = self.gap_a, self.gap_b, self.gap_count
        if gap_a.size:
            both_a = np.concatenate([gap_a, gap_b])
            both_b = np.concatenate([gap_b, gap_a])
            s, t = degree_preserving(self.n, both_a, both_b, rng)  # every pair is mutual
            once = s < t
            gap_a, gap_b = s[once], t[once]
            gap_count = rng.permutation(gap_count)
        return replace(
            self,
            pre=np.concatenate([new_pre, self.pre[loop]]),
            post=np.concatenate([new_post, self.post[loop]]),
            weight=np.concatenate([new_weight, self.weight[loop]]),
            gap_a=gap_a,
            gap_b=gap_b,
            gap_count=gap_count,
        )


def _by_source(
    pre: np.ndarray, weight: np.ndarray, new_pre: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The weights of connections ``pre`` handed to connections ``new_pre`` with the same
    out-degree per source: each source's weights, in random order, to its new ones."""
    old = np.argsort(pre, kind="stable")
    new = np.lexsort((rng.random(new_pre.size), new_pre))
    if not np.array_equal(pre[old], new_pre[new]):
        raise AssertionError("the shuffle changed an out-degree")
    out = np.empty_like(weight)
    out[new] = weight[old]
    return out


@dataclass(frozen=True)
class Network:
    """The matrices of the model, normalised: ``chem[r, s]`` the chemical strength proxy
    of ``s -> r`` without its sign, ``gap`` the symmetric gap junction counts, both times
    ``normaliser`` = rho / (Perron root of ``chem + gap`` before scaling; 1 when it is 0,
    as in a network without cycles, which is stable at any gains)."""

    chem: np.ndarray
    gap: np.ndarray
    sign: np.ndarray
    groups: np.ndarray
    n_groups: int
    sign_groups: np.ndarray | None
    n_sign_groups: int
    sign_start: np.ndarray
    normaliser: float
    rho: float

    @property
    def n(self) -> int:
        return int(self.sign.size)

    @property
    def has_gaps(self) -> bool:
        return bool(self.gap.any())

    @property
    def bound(self) -> float:
        """The largest gain (and sign-multiplied gain) allowed: rho(W S) stays below 1."""
        return (1.0 - MARGIN) / self.rho


def network(w: Wiring, rho: float = RHO, gap_junctions: bool = True) -> Network:
    """The model's matrices of ``w``, normalised so that the Perron root of ``|W|`` is
    ``rho`` (see the module's docstring).

    Raises:
        BadInput: rho outside (0, 1), a neuron index out of range, a gap junction of a
            neuron with itself, or a transmitter group whose neurons have both signs.
    """
    if not 0 < rho < 1:
        raise BadInput("rho must lie in (0, 1)")
    n = w.n
    if n > MAX_NEURONS:
        raise BadInput(f"the dense propagation model takes at most {MAX_NEURONS} neurons, not {n}")
    for name, idx in (("pre", w.pre), ("post", w.post), ("gap_a", w.gap_a), ("gap_b", w.gap_b)):
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise BadInput(f"{name}: neuron index out of range")
    chem = np.zeros((n, n))
    np.add.at(chem, (w.post, w.pre), np.asarray(w.weight, dtype=np.float64))
    gap = np.zeros((n, n))
    if gap_junctions and w.gap_a.size:
        if (w.gap_a == w.gap_b).any():
            raise BadInput("a gap junction joins a neuron to itself")
        np.add.at(gap, (w.gap_a, w.gap_b), w.gap_count)
        np.add.at(gap, (w.gap_b, w.gap_a), w.gap_count)
    perron = float(np.abs(np.linalg.eigvals(chem + gap)).max()) if n else 0.0
    c = rho / perron if perron > 1e-12 else 1.0
    sign = np.asarray(w.sign, dtype=np.float64)
    start = np.zeros(w.n_sign_groups)
    if w.sign_groups is not None:
        for t in range(w.n_sign_groups):
            signs = np.unique(sign[w.sign_groups == t])
            if signs.size > 1:
                raise BadInput(f"transmitter group {t} holds neurons of both signs")
            start[t] = signs[0] if signs.size else 1.0
    return Network(
        chem * c,
        gap * c,
        sign,
        np.asarray(w.groups, dtype=np.int64),
        w.n_groups,
        w.sign_groups,
        w.n_sign_groups,
        start,
        c,
        rho,
    )


@dataclass(frozen=True)
class Gains:
    """The fitted parameters other than the scale: ``group[k]`` multiplies every chemical
    connection leaving group k; ``gap`` every gap junction; ``signs[t]`` replaces the
    rule's sign of transmitter group t (empty: the rule's signs)."""

    group: np.ndarray
    gap: float = 1.0
    signs: np.ndarray = field(default_factory=_empty_float)

    @staticmethod
    def unit(net: Network, free_signs: bool = False) -> Gains:
        """Gains 1, the gap gain 1 (0 without gap junctions), the rule's signs."""
        return Gains(
            np.ones(net.n_groups),
            1.0 if net.has_gaps else 0.0,
            net.sign_start.copy() if free_signs else _empty_float(),
        )


def _neuron_signs(net: Network, signs: np.ndarray) -> np.ndarray:
    """Each neuron's sign: a free transmitter group's multiplier, else the rule's."""
    if signs.size == 0:
        return net.sign
    if net.sign_groups is None:
        raise BadInput("this network has no transmitter groups for free signs")
    t = net.sign_groups
    return np.where(t >= 0, signs[np.maximum(t, 0)], net.sign)


def coupling(net: Network, gains: Gains) -> np.ndarray:
    """``W S``: ``M[r, s] = chem[r, s] sign(s) g[group(s)] + gap_gain gap[r, s]``.

    Shapes:
        out: (n, n).
    """
    m = _neuron_signs(net, gains.signs) * gains.group[net.groups]
    return net.chem * m[None, :] + gains.gap * net.gap


def propagator(net: Network, gains: Gains) -> np.ndarray:
    """``(I - W S)^{-1}``: column s is the steady state when neuron s gets unit input.

    Shapes:
        out: (n, n), indexed [responder, stimulated].
    """
    return np.linalg.inv(np.eye(net.n) - coupling(net, gains))


def radius(net: Network, gains: Gains) -> float:
    """The spectral radius of ``W S`` (below 1: the steady state exists)."""
    return float(np.abs(np.linalg.eigvals(coupling(net, gains))).max()) if net.n else 0.0


def readout(x: np.ndarray, y: np.ndarray, intercept: bool = False) -> tuple[float, float]:
    """The least-squares ``(a, b)`` of ``y ~ a x + b`` (``b`` = 0 without ``intercept``;
    the minimum-norm solution when ``x`` cannot tell them apart)."""
    phi = np.stack([x, np.ones_like(x)], axis=1) if intercept else x[:, None]
    c = np.linalg.pinv(phi.T @ phi) @ (phi.T @ y)
    return float(c[0]), float(c[1]) if intercept else 0.0


@dataclass(frozen=True)
class Fit:
    """A fit: the gains, the readout ``y = a x + b`` (``b`` = 0 without an intercept),
    the spectral radius of ``W S`` there, the training mean squared error, the
    optimiser's report (``evaluations`` 0: the gains were not fitted), and which group
    gains could move any fitted pair (the others keep their start, 1: no connection of
    their group lies on a path from a stimulated neuron to a responder)."""

    gains: Gains
    scale: float
    offset: float
    radius: float
    mse: float
    evaluations: int = 0
    message: str = "gains not fitted"
    constrained: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


class _Layout:
    """The parameter vector: group gains, then the gap gain (if any gap junctions), then
    the free sign multipliers (if asked)."""

    def __init__(self, net: Network, free_signs: bool) -> None:
        if free_signs and (net.sign_groups is None or net.n_sign_groups == 0):
            raise BadInput("free signs need at least one transmitter group with a free sign")
        self.net = net
        self.k = net.n_groups
        self.gap = net.has_gaps
        self.t = net.n_sign_groups if free_signs else 0

    @property
    def size(self) -> int:
        return self.k + int(self.gap) + self.t

    def pack(self, g: Gains) -> np.ndarray:
        return np.concatenate([g.group, [g.gap] if self.gap else [], g.signs[: self.t]])

    def unpack(self, theta: np.ndarray) -> Gains:
        gap = float(theta[self.k]) if self.gap else 0.0
        return Gains(theta[: self.k].copy(), gap, theta[self.size - self.t :].copy())

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        b = self.net.bound
        low = np.concatenate([np.zeros(self.k + int(self.gap)), -np.ones(self.t)])
        high = np.concatenate([np.full(self.k + int(self.gap), b), np.ones(self.t)])
        return low, high

    def derivative_map(self, g: Gains) -> np.ndarray:
        """``D[j, i]``: the derivative of neuron j's multiplier ``sign_j g[group_j]``
        by parameter i (the gap gain's column stays zero: it is handled apart).

        Shapes:
            out: (n, size).
        """
        net = self.net
        d = np.zeros((net.n, self.size))
        rows = np.arange(net.n)
        d[rows, net.groups] = _neuron_signs(net, g.signs)
        if self.t:
            assert net.sign_groups is not None
            free = net.sign_groups >= 0
            d[rows[free], self.size - self.t + net.sign_groups[free]] = g.group[net.groups[free]]
        return d


def _jacobian_x(
    net: Network,
    layout: _Layout,
    g: Gains,
    r_mat: np.ndarray,
    stim: np.ndarray,
    resp: np.ndarray,
) -> np.ndarray:
    """``dx_p / dtheta`` for ``x_p = R[resp_p, stim_p]``. ``dR = R dM R``, and parameter
    i changes the multiplier of neuron j's column of ``chem`` by ``D[j, i]``, so
    ``dR / dtheta_i = (R chem)[:, J_i] D[J_i, i] R[J_i, :]`` over the neurons J_i it
    touches (one matrix product per parameter, n^3 in all), and
    ``dR / dgap = R gap R``.

    Shapes:
        out: (pairs, layout.size).
    """
    d = layout.derivative_map(g)
    rc = r_mat @ net.chem
    out = np.zeros((stim.size, layout.size))
    for i in range(layout.size):
        touched = np.flatnonzero(d[:, i])
        if touched.size:
            out[:, i] = ((rc[:, touched] * d[touched, i]) @ r_mat[touched])[resp, stim]
    if layout.gap:
        out[:, layout.k] = (r_mat @ net.gap @ r_mat)[resp, stim]
    return out


def _problem(
    net: Network,
    stim: np.ndarray,
    resp: np.ndarray,
    y: np.ndarray,
    free_signs: bool,
    intercept: bool,
) -> tuple[_Layout, Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """The parameter layout, the residuals ``a x + b - y`` (readout in closed form) and
    their exact Jacobian, as functions of the parameter vector."""
    layout = _Layout(net, free_signs)
    cache: dict[bytes, np.ndarray] = {}

    def inverse(theta: np.ndarray) -> np.ndarray:
        key = theta.tobytes()
        if key not in cache:
            cache.clear()  # the Jacobian asks for the point the residuals just saw
            cache[key] = propagator(net, layout.unpack(theta))
        return cache[key]

    def residuals(theta: np.ndarray) -> np.ndarray:
        x = inverse(theta)[resp, stim]
        a, b = readout(x, y, intercept)
        return a * x + b - y

    def jacobian(theta: np.ndarray) -> np.ndarray:
        r_mat = inverse(theta)
        x = r_mat[resp, stim]
        jx = _jacobian_x(net, layout, layout.unpack(theta), r_mat, stim, resp)
        # f = phi c - y with c = (phi' phi)^-1 phi' y and phi = [x, 1] (or [x]); only
        # phi's first column moves: d(phi c) = a dx + phi dc,
        # dc = (phi' phi)^-1 ([dx . (y - phi c), 0] - a phi' dx)
        phi = np.stack([x, np.ones_like(x)], axis=1) if intercept else x[:, None]
        inv_gram = np.linalg.pinv(phi.T @ phi)
        c = inv_gram @ (phi.T @ y)
        a = float(c[0])
        rhs = -a * (phi.T @ jx)
        rhs[0] += (y - phi @ c) @ jx
        return a * jx + phi @ (inv_gram @ rhs)

    return layout, residuals, jacobian


def fit(
    net: Network,
    stim: np.ndarray,
    resp: np.ndarray,
    y: np.ndarray,
    *,
    fit_gains: bool = True,
    free_signs: bool = False,
    intercept: bool = False,
    max_iterations: int = 100,
) -> Fit:
    """Fit the gains (and gap gain, and with ``free_signs`` the sign multipliers) by
    bounded least squares (``scipy.optimize.least_squares``, trust region reflective,
    exact Jacobian; LSMR steps above :data:`EXACT_UP_TO` parameters), the readout ``a``
    (and ``b`` with ``intercept``) eliminated in closed form at every step (variable
    projection), so that ``a (I - W S)^{-1}[resp, stim] + b`` matches ``y``. Without
    ``fit_gains`` only the readout is fitted, at unit gains (the synapse-count model).

    Args:
        stim, resp: the pairs' stimulated and responding neurons (indices).
        y: the measured amplitudes.
        max_iterations: at most this many evaluations of the residuals.

    Shapes:
        stim, resp, y: (pairs,).
    """
    stim = np.asarray(stim, dtype=np.int64)
    resp = np.asarray(resp, dtype=np.int64)
    y = np.asarray(y, dtype=np.float64)
    if stim.size == 0:
        raise BadInput("no pairs to fit")
    start = Gains.unit(net, free_signs)
    if not fit_gains:
        x = propagator(net, start)[resp, stim]
        a, b = readout(x, y, intercept)
        return Fit(start, a, b, radius(net, start), float(np.mean((a * x + b - y) ** 2)))
    layout, residuals, jacobian = _problem(net, stim, resp, y, free_signs, intercept)
    theta0 = layout.pack(start)
    # a parameter whose Jacobian column is zero at the start touches no path from a
    # stimulated neuron to a responder (a structural zero): it stays at its start
    moves = np.abs(jacobian(theta0)).sum(axis=0) > 0
    low, high = layout.bounds()

    def full(z: np.ndarray) -> np.ndarray:
        theta = theta0.copy()
        theta[moves] = z
        return theta

    theta, evaluations, message = theta0, 0, "no parameter moves any fitted pair"
    if moves.any():
        res = optimize.least_squares(
            lambda z: residuals(full(z)),
            theta0[moves],
            jac=lambda z: jacobian(full(z))[:, moves],
            bounds=(low[moves], high[moves]),
            method="trf",
            tr_solver="exact" if moves.sum() <= EXACT_UP_TO else "lsmr",
            max_nfev=max_iterations,
        )
        theta, evaluations, message = full(res.x), int(res.nfev), str(res.message)
    gains = layout.unpack(theta)
    x = propagator(net, gains)[resp, stim]
    a, b = readout(x, y, intercept)
    return Fit(
        gains,
        a,
        b,
        radius(net, gains),
        float(np.mean((a * x + b - y) ** 2)),
        evaluations,
        message,
        moves[: layout.k].copy(),
    )


def predict(net: Network, f: Fit, stim: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """``a (I - W S)^{-1}[resp, stim] + b`` at the fit."""
    return f.scale * propagator(net, f.gains)[resp, stim] + f.offset


def responder_means(
    resp_train: np.ndarray, y_train: np.ndarray, resp_test: np.ndarray, n: int
) -> np.ndarray:
    """The no-wiring baseline: each test responder's mean training response; the mean of
    all training responses for a responder never seen in training."""
    total = np.bincount(resp_train, weights=y_train, minlength=n)
    count = np.bincount(resp_train, minlength=n)
    mean = float(np.mean(y_train))
    seen = count[resp_test] > 0
    return np.where(seen, total[resp_test] / np.maximum(count[resp_test], 1), mean)


def score(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Mean squared error, Pearson's and Spearman's correlation of predictions and
    measurements (NaN correlations where either is constant)."""
    constant = pred.size < 2 or np.ptp(pred) == 0 or np.ptp(y) == 0
    return {
        "mse": float(np.mean((pred - y) ** 2)),
        "pearson": math.nan if constant else float(stats.pearsonr(pred, y)[0]),
        "spearman": math.nan if constant else float(stats.spearmanr(pred, y)[0]),
        "pairs": int(y.size),
    }


def t_interval(values: np.ndarray | list[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Mean, standard deviation and the t interval of the mean over the finite values
    (None bounds with fewer than 2)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    out: dict[str, Any] = {"mean": float(v.mean()) if v.size else None, "n": int(v.size)}
    if v.size < 2:
        return {**out, "sd": None, "low": None, "high": None}
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1)) * sd / math.sqrt(v.size)
    return {**out, "sd": sd, "low": out["mean"] - half, "high": out["mean"] + half}


def paired(
    a: np.ndarray | list[float], b: np.ndarray | list[float], lower_is_better: bool
) -> dict[str, Any]:
    """``a - b`` fold by fold: its mean and t interval, a paired t-test (two-sided) and a
    sign test (two-sided binomial over the folds that differ) of no difference, and in
    how many folds ``a`` did better."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    d = d[np.isfinite(d)]
    better = int((d < 0).sum() if lower_is_better else (d > 0).sum())
    differ = int((d != 0).sum())
    out = {
        "difference": t_interval(d),
        "better_in": better,
        "folds": int(d.size),
        "t_test_p": None,
        "sign_test_p": float(stats.binomtest(better, differ).pvalue) if differ else None,
    }
    if d.size >= 2 and d.std(ddof=1) > 0:
        out["t_test_p"] = float(stats.ttest_1samp(d, 0.0).pvalue)
    return out


def stimulus_folds(stim: np.ndarray, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The stimulated neurons in ``k`` folds of near-equal size, at random.

    Raises:
        BadInput: fewer than 2 folds or fewer stimulated neurons than folds.
    """
    neurons = np.unique(stim)
    if k < 2 or neurons.size < k:
        raise BadInput(f"{k} folds need at least 2 folds and {k} stimulated neurons")
    return [np.sort(f) for f in np.array_split(rng.permutation(neurons), k)]


def _mean(values: list[float]) -> float:
    """The mean of the finite values (NaN when none is)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


@dataclass(frozen=True)
class CrossValidation:
    """Held-out figures per fold and model, the fits behind them, the final fit on every
    pair, and the held-out predictions (each pair predicted by the fold that held its
    stimulated neuron out; ``shuffled``: one row per shuffle)."""

    folds: list[np.ndarray]
    fold_of_pair: np.ndarray
    scores: dict[str, list[dict[str, float]]]
    shuffle_scores: list[list[dict[str, float]]]
    predictions: dict[str, np.ndarray]
    fold_fits: list[Fit]
    final: Fit
    final_unfitted: Fit
    net: Network

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per model and measure, the mean over folds with its t interval."""
        return {
            m: {k: t_interval([s[k] for s in rows]) for k in ("mse", "pearson", "spearman")}
            for m, rows in self.scores.items()
        }

    def paired(self) -> dict[str, dict[str, Any]]:
        """The fitted model against each other model, fold by fold, per measure."""
        out = {}
        fitted = self.scores["fitted"]
        for m in MODELS[1:]:
            other = self.scores[m]
            out[m] = {
                k: paired([s[k] for s in fitted], [s[k] for s in other], k == "mse")
                for k in ("mse", "pearson", "spearman")
            }
        return out


def cross_validate(
    wiring: Wiring,
    stim: np.ndarray,
    resp: np.ndarray,
    y: np.ndarray,
    *,
    folds: int = 5,
    shuffles: int = 3,
    seed: int = 0,
    rho: float = RHO,
    gap_junctions: bool = True,
    free_signs: bool = False,
    intercept: bool = False,
    max_iterations: int = 100,
    progress: Callable[[int, int, str], None] | None = None,
) -> CrossValidation:
    """K-fold cross-validation over stimulated neurons: each fold's stimulated neurons
    and all their pairs are held out, the models of :data:`MODELS` are fitted on the
    other folds' pairs and scored on the held-out ones. The shuffled connectomes are
    drawn once and each is fitted on every fold exactly like the connectome. Seeds: the
    folds from ``default_rng([seed, 0])``, shuffle i from ``default_rng([seed, 1, i])``.

    Shapes:
        stim, resp, y: (pairs,).
    """
    stim = np.asarray(stim, dtype=np.int64)
    resp = np.asarray(resp, dtype=np.int64)
    y = np.asarray(y, dtype=np.float64)
    if not (stim.size == resp.size == y.size) or not np.isfinite(y).all():
        raise BadInput("stim, resp and y must be of one length, y finite")
    if (stim == resp).any():
        raise BadInput("a pair's responder is its stimulated neuron")
    if shuffles < 1:
        raise BadInput("at least one shuffled connectome is needed")
    parts = stimulus_folds(stim, folds, np.random.default_rng([seed, 0]))
    fold_of_pair = np.full(stim.size, -1, dtype=np.int64)
    for i, part in enumerate(parts):
        fold_of_pair[np.isin(stim, part)] = i
    net = network(wiring, rho, gap_junctions)
    nulls = [
        network(wiring.shuffled(np.random.default_rng([seed, 1, i])), rho, gap_junctions)
        for i in range(shuffles)
    ]
    total = folds * (1 + shuffles) + 1
    done = 0

    def step(message: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, message)

    opts: dict[str, Any] = {
        "free_signs": free_signs,
        "intercept": intercept,
        "max_iterations": max_iterations,
    }
    scores: dict[str, list[dict[str, float]]] = {m: [] for m in MODELS}
    shuffle_scores: list[list[dict[str, float]]] = []
    pred = {m: np.full(y.size, np.nan) for m in MODELS if m != "shuffled"}
    pred["shuffled"] = np.full((shuffles, y.size), np.nan)
    fold_fits: list[Fit] = []
    for i in range(folds):
        test = fold_of_pair == i
        train = ~test
        ts, tr, ty = stim[train], resp[train], y[train]
        hs, hr, hy = stim[test], resp[test], y[test]
        f = fit(net, ts, tr, ty, **opts)
        fold_fits.append(f)
        step(f"fold {i + 1}: fitted")
        pred["fitted"][test] = predict(net, f, hs, hr)
        u = fit(net, ts, tr, ty, fit_gains=False, intercept=intercept)
        pred["synapse_count"][test] = predict(net, u, hs, hr)
        pred["no_wiring"][test] = responder_means(tr, ty, hr, wiring.n)
        for m in ("fitted", "synapse_count", "no_wiring"):
            scores[m].append(score(pred[m][test], hy))
        rows = []
        for j, null in enumerate(nulls):
            fj = fit(null, ts, tr, ty, **opts)
            pred["shuffled"][j, test] = predict(null, fj, hs, hr)
            rows.append(score(pred["shuffled"][j, test], hy))
            step(f"fold {i + 1}: shuffle {j + 1} fitted")
        shuffle_scores.append(rows)
        scores["shuffled"].append(
            {k: _mean([r[k] for r in rows]) for k in ("mse", "pearson", "spearman")}
            | {"pairs": int(hy.size)}
        )
    final = fit(net, stim, resp, y, **opts)
    step("final fit on every pair")
    return CrossValidation(
        parts,
        fold_of_pair,
        scores,
        shuffle_scores,
        pred,
        fold_fits,
        final,
        fit(net, stim, resp, y, fit_gains=False, intercept=intercept),
        net,
    )
