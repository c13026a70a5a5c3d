"""Choosing camera sites: maximum weighted coverage with existing cameras fixed.

Problem. Sites ``i`` (cost ``c_i``, privacy penalty ``p_i``), incidents ``j``
(weight ``w_j``), a sparse 0/1 coverage matrix ``A`` (sites × incidents). Incidents
already covered by existing cameras count as covered whatever is chosen, so they
drop out. Choose ``x_i ∈ {0, 1}`` to maximise::

    Σ_j w_j · y_j − λ · Σ_i p_i · x_i
    subject to  y_j ≤ Σ_i A_ij · x_i,  0 ≤ y_j ≤ 1,
                Σ_i x_i ≤ k            (--k)     or   Σ_i c_i · x_i ≤ B   (--budget)

with ``λ`` = ``privacy_weight`` (0 by default: the contract's objective is the
covered weight alone).

* Incidents covered by the same set of sites are one row with their summed
  weight (often a large reduction), incidents no site covers are dropped.
* Default: lazy greedy (marginal net gain; with a budget, gain per krona, then
  the better of that and the best single affordable site, which guarantees at
  least ½(1 − 1/e) of the optimum). The LP relaxation (HiGHS) bounds the optimum
  from above; the result reports the gap.
* ``exact=True``: a proven optimum. When the greedy already meets the LP bound it is
  one (often so); otherwise the MILP above is solved with HiGHS (highspy), relative
  gap 0.

The chosen sites are listed in greedy order (each row the site adding the most
among the rest), so ``marginal_weight`` of a row is the weight it newly covers
beyond existing cameras and earlier rows.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from geo.errors import AnalysisError

__all__ = [
    "Selection",
    "aggregate_incidents",
    "greedy_select",
    "lp_bound",
    "milp_select",
    "select_sites",
    "pareto_curve",
]


@dataclass
class Selection:
    """A chosen set of sites and how good it is.

    Attributes
    ----------
    table : DataFrame
        One row per chosen site in order: ``order``, ``id``, ``marginal_weight``,
        ``cumulative_weight``, ``cumulative_share``, ``cost_sek``,
        ``privacy_penalty``.
    chosen : ndarray of int
        Positions of the chosen sites, in the table's order.
    objective : float
        New covered weight − λ · privacy penalty of the chosen sites.
    new_weight, existing_weight, total_weight : float
        Weight newly covered, weight covered by existing cameras, all weight.
    privacy_penalty : float
        Sum of the chosen sites' penalties.
    upper_bound : float
        LP bound of the objective (equal to ``objective`` when proven optimal).
    gap : float
        ``(upper_bound − objective) / upper_bound`` (0 when the bound is 0).
    method : str
        ``greedy``, ``greedy+best-single`` or ``milp`` (with ``exact``, a greedy result
        is one that met the LP bound, so it is proven optimal too).
    optimal : bool
        Proven optimal.
    """

    table: pd.DataFrame
    chosen: NDArray
    objective: float
    new_weight: float
    existing_weight: float
    total_weight: float
    privacy_penalty: float
    upper_bound: float
    gap: float
    method: str
    optimal: bool
    notes: list[str] = field(default_factory=list)


def aggregate_incidents(
    matrix: sparse.spmatrix, weights: ArrayLike, *, covered: ArrayLike | None = None
) -> tuple[sparse.csr_matrix, NDArray]:
    """Merge incidents covered by the same set of sites into one weighted column.

    Incidents already ``covered`` (by existing cameras) and incidents no site covers
    are dropped: they cannot change the choice.

    Parameters
    ----------
    matrix : sparse matrix, shape (sites, incidents)
    weights : array_like, shape (incidents,)
    covered : array_like of bool, shape (incidents,), optional

    Returns
    -------
    (csr_matrix of shape (sites, groups), ndarray of group weights)

    Examples
    --------
    >>> a = sparse.csr_matrix(np.array([[1, 1, 0, 1], [0, 0, 1, 1]], dtype=bool))
    >>> b, w = aggregate_incidents(a, [1.0, 2.0, 4.0, 8.0])
    >>> b.toarray().astype(int).tolist(), w.tolist()
    ([[1, 0, 1], [0, 1, 1]], [3.0, 4.0, 8.0])
    """
    a = sparse.csc_matrix(matrix, dtype=bool)
    a.sum_duplicates()
    a.sort_indices()
    w = np.asarray(weights, dtype=float)
    n_sites, m = a.shape
    keep = np.diff(a.indptr) > 0
    if covered is not None:
        keep &= ~np.asarray(covered, dtype=bool)
    keep &= w != 0
    cols = np.flatnonzero(keep)
    keys: dict[bytes, int] = {}
    group = np.empty(len(cols), dtype=np.int64)
    indptr, indices = a.indptr, a.indices
    for k, j in enumerate(cols):
        key = indices[indptr[j] : indptr[j + 1]].tobytes()
        g = keys.get(key)
        if g is None:
            g = len(keys)
            keys[key] = g
        group[k] = g
    n_groups = len(keys)
    gw = np.bincount(group, weights=w[cols], minlength=n_groups)
    # One representative column per group gives the group's site set.
    first = np.full(n_groups, -1, dtype=np.int64)
    first[group[::-1]] = cols[::-1]
    b = a[:, first] if n_groups else sparse.csc_matrix((n_sites, 0), dtype=bool)
    return sparse.csr_matrix(b, dtype=bool), gw


def _row(b: sparse.csr_matrix, i: int) -> NDArray:
    return b.indices[b.indptr[i] : b.indptr[i + 1]]


class _Options(TypedDict):
    """The options greedy_select, lp_bound and milp_select share."""

    k: int | None
    costs: NDArray | None
    budget: float | None
    penalty: NDArray | None
    privacy_weight: float


def greedy_select(
    b: sparse.csr_matrix,
    w: NDArray,
    *,
    k: int | None = None,
    costs: NDArray | None = None,
    budget: float | None = None,
    penalty: NDArray | None = None,
    privacy_weight: float = 0.0,
) -> tuple[list[int], list[float], str]:
    """Lazy greedy on aggregated rows; returns (sites in order, their net gains, method).

    Examples
    --------
    >>> b = sparse.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool))
    >>> greedy_select(b, np.array([3.0, 1.0, 2.0]), k=2)
    ([0, 1], [4.0, 2.0], 'greedy')
    """
    n = b.shape[0]
    pen = np.zeros(n) if penalty is None else np.asarray(penalty, float)
    lam = float(privacy_weight)
    gain0 = b @ w - lam * pen
    covered = np.zeros(len(w), dtype=bool)
    use_budget = budget is not None
    cost = np.ones(n) if costs is None else np.maximum(np.asarray(costs, float), 1e-12)
    remaining = float(budget) if budget is not None else np.inf
    limit = n if k is None else int(k)

    def key(i: int, g: float) -> float:
        return g / cost[i] if use_budget else g

    heap = [(-key(i, gain0[i]), i) for i in range(n) if gain0[i] > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    while heap and len(chosen) < limit:
        _, i = heapq.heappop(heap)
        if use_budget and cost[i] > remaining + 1e-9:
            continue  # the budget only shrinks: never affordable again
        cols = _row(b, i)
        g = float(w[cols][~covered[cols]].sum() - lam * pen[i])
        if g <= 0:
            continue
        if heap and key(i, g) < -heap[0][0] - 1e-12 * max(1.0, abs(key(i, g))):
            heapq.heappush(heap, (-key(i, g), i))
            continue
        chosen.append(i)
        gains.append(g)
        covered[cols] = True
        remaining -= cost[i]
    method = "greedy"
    if budget is not None:
        afford = np.flatnonzero((cost <= float(budget) + 1e-9) & (gain0 > 0))
        if len(afford):
            best = int(afford[np.argmax(gain0[afford])])
            if gain0[best] > sum(gains) + 1e-12:
                chosen, gains, method = [best], [float(gain0[best])], "greedy+best-single"
    return chosen, gains, method


def _model(
    b: sparse.csr_matrix,
    w: NDArray,
    *,
    k: int | None,
    costs: NDArray | None,
    budget: float | None,
    penalty: NDArray | None,
    privacy_weight: float,
) -> tuple[NDArray, sparse.csc_matrix, NDArray, int, NDArray]:
    """The model as arrays: costs c, constraint matrix A (CSC), row upper bounds, n, ub."""
    n, g = b.shape
    ub = np.ones(n + g)
    if budget is not None:  # a site costing more than the whole budget stays out
        ub[:n] = np.asarray(costs, float) <= float(budget) + 1e-9
    pen = np.zeros(n) if penalty is None else np.asarray(penalty, float)
    c = np.concatenate([privacy_weight * pen, -np.asarray(w, float)])
    # y_g − Σ_{i covers g} x_i ≤ 0, then the budget and/or k rows
    blocks = [[-sparse.csr_matrix(b.T, dtype=float), sparse.identity(g, format="csr")]]
    row_ub = [np.zeros(g)]
    if budget is not None:
        blocks.append([sparse.csr_matrix(np.asarray(costs, float)[None, :]),
                       sparse.csr_matrix((1, g))])
        row_ub.append(np.array([float(budget)]))
    if k is not None:
        blocks.append([sparse.csr_matrix(np.ones((1, n))), sparse.csr_matrix((1, g))])
        row_ub.append(np.array([float(k)]))
    a = sparse.csc_matrix(sparse.bmat(blocks, format="csc"))
    return c, a, np.concatenate(row_ub), n, ub


def _highs(
    c: NDArray, a: sparse.csc_matrix, row_ub: NDArray, ub: NDArray, integer: int,
    options: dict[str, float | bool],
) -> tuple[NDArray | None, float, bool, str]:
    """Minimise c·x subject to A x ≤ row_ub, 0 ≤ x ≤ ub, the first ``integer`` x whole.

    HiGHS through highspy, built from the sparse arrays in one call (importing
    ``scipy.optimize`` for its wrapper costs a quarter of a second). Returns
    (x or None, objective, proven optimal, status text).
    """
    from highspy import _core as hs

    h = hs._Highs()  # the plain solver object (highspy.Highs prints a banner)
    h.setOptionValue("output_flag", False)
    for key, val in options.items():
        h.setOptionValue(key, val)
    lp = hs.HighsLp()
    lp.num_col_ = len(c)
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = np.asarray(c, float)
    lp.col_lower_ = np.zeros(len(c))
    lp.col_upper_ = np.asarray(ub, float)
    lp.row_lower_ = np.full(a.shape[0], -hs.kHighsInf)
    lp.row_upper_ = np.asarray(row_ub, float)
    lp.a_matrix_.format_ = hs.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = len(c)
    lp.a_matrix_.num_row_ = a.shape[0]
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    if integer:
        lp.integrality_ = ([hs.HighsVarType.kInteger] * integer
                           + [hs.HighsVarType.kContinuous] * (len(c) - integer))
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    has_x = int(info.primal_solution_status) == 2  # feasible
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_x else None
    proven = status == hs.HighsModelStatus.kOptimal
    return x, float(info.objective_function_value), proven, h.modelStatusToString(status)


def lp_bound(
    b: sparse.csr_matrix,
    w: NDArray,
    *,
    k: int | None = None,
    costs: NDArray | None = None,
    budget: float | None = None,
    penalty: NDArray | None = None,
    privacy_weight: float = 0.0,
) -> float:
    """Upper bound of the objective from the LP relaxation (HiGHS).

    Examples
    --------
    >>> b = sparse.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool))
    >>> lp_bound(b, np.ones(3), k=1)   # x = (1/2, 1/2, 1/2) would need k = 1.5
    2.0
    """
    if b.shape[0] == 0 or b.shape[1] == 0:
        return 0.0
    c, a, row_ub, n, ub = _model(b, w, k=k, costs=costs, budget=budget, penalty=penalty,
                                 privacy_weight=privacy_weight)
    x, fun, proven, message = _highs(c, a, row_ub, ub, 0, {})
    if not proven or x is None:  # pragma: no cover - HiGHS failure
        raise AnalysisError(f"the LP relaxation failed: {message}")
    return float(max(-fun, 0.0))


def milp_select(
    b: sparse.csr_matrix,
    w: NDArray,
    *,
    k: int | None = None,
    costs: NDArray | None = None,
    budget: float | None = None,
    penalty: NDArray | None = None,
    privacy_weight: float = 0.0,
    time_limit_s: float | None = None,
) -> tuple[list[int], float, bool]:
    """Proven optimum by MILP (HiGHS): (chosen sites, objective, proven optimal).

    Examples
    --------
    Greedy takes the middle site (weight 3) first and then only one more; the
    optimum takes the two outer ones (weight 4):

    >>> b = sparse.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]],
    ...                       dtype=bool))
    >>> w = np.array([1.0, 1.0, 1.0, 1.0])
    >>> milp_select(b, w, k=2)
    ([0, 2], 4.0, True)
    """
    n, g = b.shape
    if n == 0 or g == 0:
        return [], 0.0, True
    c, a, row_ub, n, ub = _model(b, w, k=k, costs=costs, budget=budget, penalty=penalty,
                                 privacy_weight=privacy_weight)
    options: dict[str, float | bool] = {"mip_rel_gap": 0.0}
    if time_limit_s is not None:
        options["time_limit"] = float(time_limit_s)
    x, fun, proven, message = _highs(c, a, row_ub, ub, n, options)
    if x is None:
        raise AnalysisError(f"the exact selection found no solution: {message}")
    chosen = [int(i) for i in np.flatnonzero(x[:n] > 0.5)]
    return chosen, float(-fun), proven


def _order(b: sparse.csr_matrix, w: NDArray, chosen: Sequence[int], pen: NDArray,
           lam: float) -> list[int]:
    """Chosen sites in greedy order (largest net gain first among the rest)."""
    rest = list(chosen)
    covered = np.zeros(len(w), dtype=bool)
    out: list[int] = []
    while rest:
        gains = []
        for i in rest:
            cols = _row(b, i)
            gains.append(float(w[cols][~covered[cols]].sum()) - lam * pen[i])
        j = int(np.argmax(gains))
        i = rest.pop(j)
        covered[_row(b, i)] = True
        out.append(i)
    return out


def select_sites(
    matrix: sparse.spmatrix,
    weights: ArrayLike,
    *,
    ids: Sequence[str] | NDArray,
    existing: ArrayLike | None = None,
    k: int | None = None,
    budget: float | None = None,
    costs: ArrayLike | None = None,
    penalty: ArrayLike | None = None,
    privacy_weight: float = 0.0,
    exact: bool = False,
    bound: bool = True,
    time_limit_s: float | None = None,
) -> Selection:
    """Choose sites maximising covered incident weight (module text has the model).

    Parameters
    ----------
    matrix : sparse matrix, shape (sites, incidents)
        Coverage of each candidate site (e.g. :attr:`SiteCoverage.matrix`).
    weights : array_like, shape (incidents,)
    ids : sequence of str, shape (sites,)
    existing : array_like of bool, shape (incidents,), optional
        Incidents covered by existing cameras.
    k : int, optional
        Number of sites (exactly one of ``k`` and ``budget``).
    budget : float, optional
        Total cost in SEK of the chosen sites at most this.
    costs : array_like, shape (sites,), optional
        Cost per site (SEK, default 1).
    penalty : array_like, shape (sites,), optional
        Privacy penalty per site.
    privacy_weight : float
        λ: incident weight given up per unit of penalty (≥ 0).
    exact : bool
        Prove the optimum with a MILP instead of the greedy.
    bound : bool
        Compute the LP bound for the greedy's gap.
    time_limit_s : float, optional
        Time limit of the MILP; when hit the result says it is not proven.

    Returns
    -------
    Selection

    Examples
    --------
    >>> a = sparse.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]],
    ...                       dtype=bool))
    >>> s = select_sites(a, np.ones(4), ids=["a", "b", "c"], k=2, exact=True)
    >>> s.table[["order", "id", "marginal_weight", "cumulative_share"]].values.tolist()
    [[1, 'a', 2.0, 0.5], [2, 'c', 2.0, 1.0]]
    >>> s.optimal, s.gap
    (True, 0.0)
    """
    if (k is None) == (budget is None):
        raise AnalysisError("give exactly one of k and budget")
    if k is not None and k < 0:
        raise AnalysisError("k must be ≥ 0")
    if budget is not None and budget < 0:
        raise AnalysisError("budget must be ≥ 0")
    if privacy_weight < 0 or not np.isfinite(privacy_weight):
        raise AnalysisError("privacy_weight must be a finite number ≥ 0")
    a = sparse.csr_matrix(matrix, dtype=bool)
    n, m = a.shape
    w_all = np.asarray(weights, dtype=float)
    ex = np.zeros(m, bool) if existing is None else np.asarray(existing, bool)
    cost = np.ones(n) if costs is None else np.asarray(costs, float)
    pen = np.zeros(n) if penalty is None else np.asarray(penalty, float)
    ids_arr = np.asarray(ids).astype(str)
    b, gw = aggregate_incidents(a, w_all, covered=ex)
    opts = _Options(k=k, costs=cost if budget is not None else None, budget=budget,
                    penalty=pen, privacy_weight=privacy_weight)
    n_cov = int(((np.diff(sparse.csc_matrix(a).indptr) > 0) & ~ex).sum())
    if budget is not None and not (cost <= budget + 1e-9).any():
        notes_budget = [f"no site costs at most the budget ({budget:,.0f} SEK)"]
    else:
        notes_budget = []
    beyond = " not covered by existing cameras" if ex.any() else ""
    notes = notes_budget + [
        f"{n_cov} incidents{beyond} lie in some candidate's coverage; they form "
        f"{b.shape[1]} distinct covering sets (one model row each)"]
    if exact:
        # The greedy often meets the LP bound already: then it is a proven optimum and
        # the branch and bound is not needed.
        g_chosen, g_gains, g_method = greedy_select(b, gw, **opts)
        ub = lp_bound(b, gw, **opts)
        if float(sum(g_gains)) >= ub - 1e-9 * max(1.0, abs(ub)):
            chosen, method, optimal = g_chosen, g_method, True
        else:
            chosen, obj, optimal = milp_select(b, gw, time_limit_s=time_limit_s, **opts)
            method = "milp"
            ub = obj if optimal else ub
    else:
        chosen, _, method = greedy_select(b, gw, **opts)
        optimal = False
        ub = lp_bound(b, gw, **opts) if bound else np.nan
    order = _order(b, gw, chosen, pen, privacy_weight)
    covered = np.zeros(len(gw), dtype=bool)
    marg = []
    for i in order:
        cols = _row(b, i)
        marg.append(float(gw[cols][~covered[cols]].sum()))
        covered[cols] = True
    new_w = float(sum(marg))
    total = float(w_all.sum())
    existing_w = float(w_all[ex].sum())
    pen_sum = float(pen[order].sum()) if order else 0.0
    objective = new_w - privacy_weight * pen_sum
    if exact and optimal:
        ub = objective
    gap = float((ub - objective) / ub) if np.isfinite(ub) and ub > 1e-12 else 0.0
    if not exact and gap < 1e-9 and np.isfinite(ub):
        optimal = True
    cum = np.cumsum(marg) if marg else np.zeros(0)
    table = pd.DataFrame(
        {
            "order": np.arange(1, len(order) + 1, dtype=np.int64),
            "id": ids_arr[order] if order else np.array([], dtype=str),
            "marginal_weight": np.asarray(marg, dtype=float),
            "cumulative_weight": cum,
            "cumulative_share": cum / total if total > 0 else np.zeros(len(cum)),
            "cost_sek": cost[order] if order else np.zeros(0),
            "privacy_penalty": pen[order] if order else np.zeros(0),
        }
    )
    return Selection(
        table=table,
        chosen=np.asarray(order, dtype=np.int64),
        objective=objective,
        new_weight=new_w,
        existing_weight=existing_w,
        total_weight=total,
        privacy_penalty=pen_sum,
        upper_bound=float(ub),
        gap=max(gap, 0.0),
        method=method,
        optimal=optimal,
        notes=notes,
    )


def pareto_curve(
    matrix: sparse.spmatrix,
    weights: ArrayLike,
    *,
    ids: Sequence[str] | NDArray,
    penalty: ArrayLike,
    existing: ArrayLike | None = None,
    k: int | None = None,
    budget: float | None = None,
    costs: ArrayLike | None = None,
    exact: bool = False,
    steps: int = 12,
) -> pd.DataFrame:
    """Covered weight against privacy exposure, by sweeping the privacy weight.

    λ = 0, then ``steps`` values spread (geometrically) over the range where sites
    start to lose their worth (``gain / penalty`` of single sites), are solved with
    the same method as :func:`select_sites`; dominated points are flagged.

    Returns
    -------
    DataFrame
        ``privacy_weight``, ``sites`` (count), ``covered_weight`` (existing
        included), ``covered_share``, ``privacy_penalty``, ``pareto`` (True when no
        other point has at least as much weight with less exposure), ``ids``
        (``;``-joined, in order).

    Examples
    --------
    >>> a = sparse.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=bool))
    >>> c = pareto_curve(a, np.ones(3), ids=["a", "b"], penalty=[10.0, 0.0], k=2, steps=3)
    >>> c = c.drop_duplicates(["sites", "covered_weight", "privacy_penalty"])
    >>> c[["sites", "covered_weight", "privacy_penalty"]].to_dict("list")
    {'sites': [2, 1], 'covered_weight': [3.0, 1.0], 'privacy_penalty': [10.0, 0.0]}
    """
    a = sparse.csr_matrix(matrix, dtype=bool)
    w = np.asarray(weights, float)
    pen = np.asarray(penalty, float)
    ex = np.zeros(a.shape[1], bool) if existing is None else np.asarray(existing, bool)
    single = a @ np.where(ex, 0.0, w)
    ratio = single[pen > 0] / pen[pen > 0]
    ratio = ratio[ratio > 0]
    lams = [0.0]
    if len(ratio):
        lo, hi = float(ratio.min()), float(ratio.max())
        lams += list(np.geomspace(lo * 0.5, hi * 1.01, steps))
    rows = []
    for lam in lams:
        s = select_sites(a, w, ids=ids, existing=ex, k=k, budget=budget, costs=costs,
                         penalty=pen, privacy_weight=lam, exact=exact, bound=False)
        rows.append(
            {
                "privacy_weight": lam,
                "sites": len(s.chosen),
                "covered_weight": s.new_weight + s.existing_weight,
                "covered_share": (s.new_weight + s.existing_weight) / s.total_weight
                if s.total_weight > 0 else 0.0,
                "privacy_penalty": s.privacy_penalty,
                "ids": ";".join(s.table["id"].astype(str)),
            }
        )
    df = pd.DataFrame(rows)
    cw = df["covered_weight"].to_numpy()
    pp = df["privacy_penalty"].to_numpy()
    dominated = [
        bool(np.any(((cw >= cw[i]) & (pp < pp[i] - 1e-12))
                    | ((cw > cw[i] + 1e-12) & (pp <= pp[i]))))
        for i in range(len(df))
    ]
    df["pareto"] = ~np.asarray(dominated, dtype=bool)
    return df[["privacy_weight", "sites", "covered_weight", "covered_share",
               "privacy_penalty", "pareto", "ids"]]
