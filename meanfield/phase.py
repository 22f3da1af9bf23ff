"""Phase diagrams over (sigma_w, sigma_b) (Poole et al. Figs. 1C-D and 2C-D).

Every grid point gets q*, the convergence depth of q, chi1, chi2, c*, chi_c at c*
and the depth scales, computed in parallel by the compiled kernels.  Points where
a quantity does not exist hold NaN and a status code whose meaning is in
``PhaseDiagram.reasons``; nothing is filled in silently.
"""
from __future__ import annotations

import csv
import math
import pathlib
import sys
from dataclasses import dataclass, field, fields

import numpy as np

from . import fast_solvers
from .codes import N_PHASE_FIELDS, STATUS_REASONS, Evaluation, NestedField, PhaseField, Status
from .critical import CriticalPoint, critical_points, critical_points_many
from .depth_scale import depth_scale
from .errors import MeanFieldError
from .fast_path import closed_form_of, describe
from .kernels import run_blocks
from .kernels.tables import build_table, empty_table
from .nonlinearity import as_nonlinearity

#: reason of each status code of grid points (:class:`meanfield.codes.Status`)
STATUS = dict(STATUS_REASONS)

__all__ = ["STATUS", "PhaseDiagram", "Status", "phase_diagram"]


@dataclass(frozen=True)
class PhaseDiagram:
    """Arrays shaped (len(sigma_w), len(sigma_b)), indexed [i_w, i_b].

    ``status`` holds the code of the first problem at each point (see ``reasons``); chi2 is NaN
    everywhere when phi'' has Dirac deltas (piecewise-linear phi), whatever the status.
    ``q_star`` is the stable fixed point reached from ``q0`` (as MeanField(..., q0=q0).q_star()).
    ``critical_sigma_w[j]`` is the sigma_w with chi1 = 1 at that q* at ``sigma_b[j]`` (the lowest
    where several; NaN if none: the line ends there, or chi1 = 1 only at unstable fixed points).
    ``critical_points`` holds every chi1 = 1 fixed point of every sigma_b[j] with its stability
    and whether q0 reaches it (:class:`meanfield.CriticalPoint`); those with ``.critical`` form
    the critical line, with all its branches.  ``evaluation`` says which path produced the numbers
    (:class:`meanfield.codes.Evaluation`) and ``evaluation_source`` names it in one line.
    """
    phi: str
    sigma_w: np.ndarray
    sigma_b: np.ndarray
    q_star: np.ndarray
    c_star: np.ndarray
    chi1: np.ndarray
    chi2: np.ndarray
    xi_q: np.ndarray
    xi_c: np.ndarray
    convergence_depth: np.ndarray
    status: np.ndarray
    critical_sigma_w: np.ndarray
    q0: float
    rtol: float
    reasons: dict = field(default_factory=lambda: dict(STATUS))
    critical_points: tuple[CriticalPoint, ...] = ()
    evaluation: Evaluation = Evaluation.QUADRATURE
    evaluation_source: str = Evaluation.QUADRATURE.value

    ARRAYS = ("q_star", "c_star", "chi1", "chi2", "xi_q", "xi_c", "convergence_depth", "status")

    def critical_table(self) -> list[tuple[float, float, float]]:
        """The critical line as rows, chi1 = 1 at the stable q* reached from q0 (Poole et al. eq. 7).

        Returns
        -------
        list of (float, float, float)
            (sigma_b, critical sigma_w, q*): one row per critical point (several rows for a
            sigma_b on several branches), and (sigma_b, nan, nan) where there is none.
        """
        rows = []
        for b in self.sigma_b.tolist():
            crit = [p for p in self.critical_points if p.sigma_b == b and p.critical]
            rows += [(b, p.sigma_w, p.q_star) for p in crit] or [(b, math.nan, math.nan)]
        return rows

    def plot(self):
        """Four panels as Poole Figs. 1C, 1D, 2C, 2D, sigma_w horizontal; returns the matplotlib Figure.

        q* and the convergence depth get a logarithmic colour scale when they span more than two
        decades.  Grid points without a value are grey, one shade per reason, named in the legend
        below the panels; the chi1 = 1 line is drawn (and listed) wherever it lies in the grid.
        """
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap, LogNorm
        from matplotlib.patches import Patch

        fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), layout="constrained")
        ew, eb = _cell_edges(self.sigma_w), _cell_edges(self.sigma_b)
        status = np.asarray(self.status).astype(int)
        codes = sorted({int(v) for v in np.unique(status)} - {0})
        greys = dict(zip(codes, (str(round(g, 2)) for g in np.linspace(0.45, 0.8, max(1, len(codes))))))
        no_value = "no value here although the point is ok (undefined for this phi)"
        panels = [("q_star", "$q^*$ (Fig. 1C)"), ("convergence_depth", "layers to 1% of $q^*$ (Fig. 1D)"),
                  ("c_star", "$c^*$ (Fig. 2C)"), ("chi1", r"$\chi_1$ (Fig. 2D)")]
        used = set()
        for ax, (name, title) in zip(axes.ravel(), panels):
            data = np.asarray(getattr(self, name), dtype=float)
            ax.set_facecolor("0.92")                      # status ok but no value: see `no_value`
            for code in codes:
                mask = status == code
                layer = np.ma.masked_where(~mask, np.zeros(status.shape))
                ax.pcolormesh(ew, eb, layer.T, cmap=ListedColormap([greys[code]]), shading="flat")
                used.add(code)
            if np.any((status == 0) & ~np.isfinite(data)):
                used.add(None)
            finite = data[np.isfinite(data)]
            norm = None
            if name in ("q_star", "convergence_depth"):
                pos = finite[finite > 0]
                if pos.size and pos.max() > 100 * pos.min():
                    norm = LogNorm(vmin=pos.min(), vmax=pos.max())
                    # zeros (q0 already within 1% of q*: depth 0) get the colour 'under' the scale
                    data = np.where(data > 0, data, np.where(data == 0, pos.min() / 10, np.nan))
            values = np.ma.masked_invalid(data)
            if finite.size:
                cmap = plt.get_cmap("viridis").with_extremes(under="black")
                zeros = norm is not None and bool(np.any(values < norm.vmin))
                mesh = ax.pcolormesh(ew, eb, values.T, cmap=cmap, norm=norm, shading="flat")
                label = None if norm is None else "log scale" + ("; black: 0" if zeros else "")
                fig.colorbar(mesh, ax=ax, label=label, extend="min" if zeros else "neither")
            ax.set_title(title)
            ax.set_xlabel(r"$\sigma_w$")
            ax.set_ylabel(r"$\sigma_b$")
            ax.set_xlim(ew[0], ew[-1])
            ax.set_ylim(eb[0], eb[-1])
            if name in ("c_star", "chi1"):
                crit = np.asarray(self.critical_sigma_w, dtype=float)
                ok = np.isfinite(crit) & (crit >= ew[0]) & (crit <= ew[-1])
                if ok.any():
                    style = "w--" if ok.sum() > 1 else "wo"
                    ax.plot(crit[ok], self.sigma_b[ok], style, lw=1.5, label=r"$\chi_1 = 1$")
                # further branches: critical points above the lowest one at the same sigma_b
                more = [(p.sigma_w, p.sigma_b) for p in self.critical_points
                        if p.critical and ew[0] <= p.sigma_w <= ew[-1]
                        and not np.any(np.isclose(p.sigma_w, crit[self.sigma_b == p.sigma_b]))]
                if more:
                    ax.plot(*zip(*more), "w.", ms=4, label=r"$\chi_1 = 1$, other branches")
                if ok.any() or more:
                    ax.legend(loc="upper right", fontsize=8)
        fig.suptitle(f"Mean-field phase diagram of phi = {self.phi} ({Evaluation(self.evaluation).value})")
        handles = [Patch(facecolor=greys[c], edgecolor="k", lw=0.5, label=self.reasons.get(c, f"status {c}"))
                   for c in codes if c in used]
        if None in used:
            handles.append(Patch(facecolor="0.92", edgecolor="k", lw=0.5, label=no_value))
        if handles:
            fig.legend(handles=handles, loc="outside lower center", fontsize=8, ncols=1, frameon=False,
                       title="grid points without a value", title_fontsize=8)
        return fig

    def save(self, path) -> dict[str, pathlib.Path]:
        """Write ``<path>.npz`` (everything, for :meth:`load`), ``<path>.csv`` (one row per grid point)
        and ``<path>.png`` (:meth:`plot`).

        Parameters
        ----------
        path : str or path-like
            Prefix of the three files (a ``.npz``/``.csv``/``.png`` suffix is dropped).

        Returns
        -------
        dict of str to pathlib.Path
            The files written, keyed ``"npz"``, ``"csv"``, ``"png"``.

        Raises
        ------
        OutputPathError
            If the directory is missing or cannot be written (checked before anything is written).
        """
        import json

        import matplotlib.pyplot as plt

        from .outputs import check_writable

        path = pathlib.Path(path)
        if path.suffix in (".npz", ".csv", ".png"):
            path = path.with_suffix("")
        path = check_writable(path, (".npz", ".csv", ".png"), what="path")
        npz, csv_path, png = (pathlib.Path(f"{path}{s}") for s in (".npz", ".csv", ".png"))
        stored = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "reasons":
                stored[f.name] = np.asarray(json.dumps({str(k): r for k, r in v.items()}))
            elif f.name == "critical_points":   # one named column per CriticalPoint field
                for g in fields(CriticalPoint):
                    stored[f"critical_points.{g.name}"] = np.asarray([_plain(getattr(p, g.name)) for p in v])
            elif f.name == "evaluation":
                stored[f.name] = np.asarray(v.value)
            else:
                stored[f.name] = np.asarray(v)
        np.savez(npz, **stored)
        arrays = {k: getattr(self, k) for k in self.ARRAYS}
        with csv_path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["sigma_w", "sigma_b", *self.ARRAYS, "reason"])
            for i, sw in enumerate(self.sigma_w):
                for j, sb in enumerate(self.sigma_b):
                    st = int(self.status[i, j])
                    w.writerow([repr(float(sw)), repr(float(sb)),
                                *[repr(float(arrays[k][i, j])) for k in self.ARRAYS[:-1]], st,
                                self.reasons.get(st, STATUS.get(st, ""))])
        fig = self.plot()
        fig.savefig(png, dpi=120, bbox_inches="tight")
        plt.close(fig)
        return {"npz": npz, "csv": csv_path, "png": png}

    @classmethod
    def load(cls, path) -> PhaseDiagram:
        """The PhaseDiagram that :meth:`save` wrote.

        Parameters
        ----------
        path : str or path-like
            ``<path>.npz``, with or without the suffix.

        Returns
        -------
        PhaseDiagram
            Equal to the saved one (files of older versions get ``critical_points = ()``).

        Raises
        ------
        ValueError
            If the file lacks a field (not written by :meth:`save` of this version).
        """
        import json

        path = pathlib.Path(path)
        if path.suffix in (".npz", ".csv", ".png"):
            path = path.with_suffix("")
        npz = pathlib.Path(f"{path}.npz")
        with np.load(npz, allow_pickle=False) as data:
            values = {}
            for f in fields(cls):
                if f.name == "critical_points":
                    cols = [g.name for g in fields(CriticalPoint)]
                    if all(f"critical_points.{c}" in data.files for c in cols):
                        columns = [data[f"critical_points.{c}"].tolist() for c in cols]
                        values[f.name] = tuple(CriticalPoint(**_typed(dict(zip(cols, row)))) for row in zip(*columns))
                    continue        # files of older versions: no critical points stored, default ()
                if f.name not in data.files:
                    if f.name in ("reasons", "evaluation", "evaluation_source"):
                        continue    # files of older versions: the defaults
                    raise ValueError(f"{npz} lacks {f.name!r}: not written by PhaseDiagram.save of this version")
                v = data[f.name]
                if f.name == "reasons":
                    values[f.name] = {int(k): r for k, r in json.loads(str(v)).items()}
                elif f.name == "evaluation":
                    values[f.name] = Evaluation(str(v))
                elif v.ndim == 0:
                    values[f.name] = v.item()
                else:
                    values[f.name] = v
        return cls(**values)


def _plain(v):
    """An Enum as its value (npz files hold no Python objects)."""
    return v.value if isinstance(v, Evaluation) else v


def _typed(row: dict) -> dict:
    if "evaluation" in row:
        row["evaluation"] = Evaluation(row["evaluation"])
    return row


def _cell_edges(centres: np.ndarray) -> np.ndarray:
    """Edges of the cells around grid values (for pcolormesh); one value gets a cell of its own."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        half = 0.05 * max(abs(c[0]), 1.0)
        return np.array([c[0] - half, c[0] + half])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def phase_diagram(phi, sigma_w, sigma_b, q0: float = 1.0, depth_tol: float = 0.01,
                  rtol: float = 1e-10, correlations: bool = True, progress: bool = False,
                  closed_form=True) -> PhaseDiagram:
    """Mean-field quantities on the grid sigma_w x sigma_b.

    Parameters
    ----------
    phi : str, sympy expression or Nonlinearity
        The nonlinearity.
    sigma_w, sigma_b : array_like of float
        1D grids of standard deviations (>= 0) of weights (times sqrt(N)) and biases.
    q0 : float
        Starting length q^1 for q* (the fixed point reached from q0) and the convergence depth.
    depth_tol : float
        Fractional deviation for the convergence depth (Poole Fig. 1D uses 1%).
    rtol : float
        Relative tolerance of each Gaussian expectation (default 1e-10 for grids).
    correlations : bool
        Compute c*, xi_c (the two-dimensional integrals: most of the cost).
    progress : bool
        Print a progress bar to stderr.
    closed_form : bool or "derive"
        True (default): where phi has a closed-form kernel (:func:`meanfield.known_kernel`) the
        whole grid is computed from it, vectorized in numpy (:mod:`meanfield.fast_solvers`: the
        kernels' searches step for step, same statuses), and nothing is compiled.  False forces
        the compiled quadrature.  ``"derive"``: also closed forms found by :func:`meanfield.derive`,
        once verified (:mod:`meanfield.derived_path`); a phi whose closed forms miss an average
        the grid needs is computed by quadrature throughout.

    Returns
    -------
    PhaseDiagram
        Arrays shaped (len(sigma_w), len(sigma_b)) of q* (eq. 3), c* (eq. 6), chi1 (eq. 7),
        chi2 (eq. 9), the depth scales and the convergence depth, a status per point, and the
        critical line with all its branches.

    Raises
    ------
    ValueError
        If a grid is empty, not 1D, not finite or negative, or q0 is not a finite number > 0.
    """
    phi = as_nonlinearity(phi)
    sw = np.atleast_1d(np.asarray(sigma_w, dtype=float))
    sb = np.atleast_1d(np.asarray(sigma_b, dtype=float))
    for name, a in (("sigma_w", sw), ("sigma_b", sb)):
        if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must be a non-empty 1D array of finite standard deviations >= 0")
    if isinstance(q0, bool) or not (isinstance(q0, (int, float, np.floating, np.integer))
                                    and math.isfinite(q0) and q0 > 0):
        raise ValueError(f"q0 is the squared length per neuron of the input, a finite number > 0; got {q0!r}")
    want_c = bool(correlations) and not phi.delta_in_d1
    cf = closed_form_of(phi, closed_form)
    need = ("second", "second_zz") + (("gap", "cross_slope") if want_c else ()) + \
        (("slope",) if not phi.delta_in_d1 else ())
    if cf is not None and not cf.has(*need):
        cf = None
    K = table = None
    if cf is not None:
        out = _closed_form_grid(cf, sw, sb, float(q0), float(depth_tol), want_c)
        if progress:
            _progress(sw.size, sw.size)
    else:
        K = phi.kernels.module
        out = np.full((sw.size, sb.size, N_PHASE_FIELDS), np.nan)
        # Chebyshev tables in ln q replace most integrals of a grid (meanfield.kernels.tables)
        table = build_table(K, hermite=want_c) if rtol >= K.TAB_USE_RTOL else empty_table(K)
        rows = max(1, min(sw.size, 4096 // max(1, sb.size)))
        for start in range(0, sw.size, rows):
            stop = min(sw.size, start + rows)
            run_blocks(K.phase_block, (stop - start) * sb.size, table, sw[start:stop] ** 2, sb ** 2, float(q0),
                       float(depth_tol), float(rtol), want_c, out[start:stop])
            if progress:
                _progress(stop, sw.size)
        _nested_c_star(K, out, sw ** 2, float(rtol))
    q, st_q, slope = out[..., PhaseField.Q_STAR], out[..., PhaseField.Q_STATUS], out[..., PhaseField.SLOPE]
    chi1, chi2, depth = out[..., PhaseField.CHI1], out[..., PhaseField.CHI2], out[..., PhaseField.DEPTH]
    cs, chic, st_c = out[..., PhaseField.C_STAR], out[..., PhaseField.CHI_C], out[..., PhaseField.C_STATUS]
    status = np.where(np.isnan(st_q), Status.NOT_CONVERGED, st_q).astype(int)
    # V(q) > q as far as V is resolved: growth without bound where V(q)/q -> sigma_w^2 A >= 1
    # (the same verdict as MeanField.q_star), else a fixed point beyond the resolution
    if np.any(status == Status.Q_UNRESOLVED):
        from .mean_field import MeanField
        gain = MeanField(phi, 1.0, 0.0).asymptotic_slope()       # A = lim E[phi^2]/q
        grows = (sw[:, None] ** 2 * gain >= 1 - 1e-9) & (status == Status.Q_UNRESOLVED)
        status = np.where(grows, Status.Q_DIVERGES, status)
    q = np.where((status == Status.Q_UNRESOLVED) | (status == Status.Q_DIVERGES), np.nan, q)
    # a point whose orbit from q0 diverges may still have a finite stable fixed point below q0
    # (x tanh x, small sigma_b): never call that "no finite fixed point"
    iw, ib = np.nonzero(status == Status.Q_DIVERGES)
    if iw.size and cf is not None:
        below = fast_solvers.stable_below(cf, sw[iw] ** 2, sb[ib] ** 2, float(q0)).astype(np.int64)
    elif iw.size:
        below = np.zeros(iw.size, dtype=np.int64)
        run_blocks(K.stable_below_block, iw.size, table, np.ascontiguousarray(sw[iw] ** 2),
                   np.ascontiguousarray(sb[ib] ** 2), float(q0), float(rtol), below)
    if iw.size:
        status[iw[below == 1], ib[below == 1]] = Status.Q_DIVERGES_FROM_Q0
    c_bad = (status == Status.OK) & want_c & (st_c != Status.OK) & np.isfinite(st_c)
    status = np.where(c_bad, st_c, status).astype(int)
    if phi.delta_in_d1:
        chi1 = np.full_like(chi1, np.nan)
    if phi.delta_in_d2:
        chi2 = np.full_like(chi2, np.nan)
    cs = np.where(status != Status.OK, np.nan, cs)
    # slopes at stable fixed points: >= 1 only by rounding at criticality, where xi = inf
    xi_q = np.where(status == Status.OK, depth_scale(slope), np.nan)
    xi_c = np.where(status == Status.OK, depth_scale(chic), np.nan)
    depth = np.where(depth < 0, np.nan, depth)
    crit = np.full(sb.size, np.nan)
    cpoints = []
    if not phi.delta_in_d1 and cf is not None:
        for j, pts in enumerate(critical_points_many(phi, sb, q0=float(q0), closed_form=closed_form)):
            cpoints += pts
            ws = [p.sigma_w for p in pts if p.critical]
            if ws:
                crit[j] = min(ws)
    elif not phi.delta_in_d1:
        for j, b in enumerate(sb):
            try:
                pts = critical_points(phi, b, q0=float(q0), table=table, closed_form=False)   # at 1e-13
            except MeanFieldError:
                continue
            cpoints += pts
            ws = [p.sigma_w for p in pts if p.critical]
            if ws:
                crit[j] = min(ws)
    if progress:
        sys.stderr.write("\n")
    return PhaseDiagram(phi=phi.name, sigma_w=sw, sigma_b=sb, q_star=q, c_star=cs, chi1=chi1, chi2=chi2,
                        xi_q=xi_q, xi_c=xi_c, convergence_depth=depth, status=status,
                        critical_sigma_w=crit, q0=float(q0), rtol=float(rtol), critical_points=tuple(cpoints),
                        evaluation=Evaluation.CLOSED_FORM if cf is not None else Evaluation.QUADRATURE,
                        evaluation_source=describe(cf))


def _closed_form_grid(cf, sw, sb, q0: float, depth_tol: float, want_c: bool) -> np.ndarray:
    """Every PhaseField of the grid from a closed form, all points at once (the kernels' phase_point)."""
    sw2 = np.repeat(sw ** 2, sb.size)
    sb2 = np.tile(sb ** 2, sw.size)
    out = np.full((sw2.size, N_PHASE_FIELDS), np.nan)
    q, st = fast_solvers.q_star(cf, sw2, sb2, q0)
    out[:, PhaseField.Q_STAR], out[:, PhaseField.Q_STATUS] = q, st
    i = np.nonzero(st == Status.OK)[0]
    qi, wi = q[i], sw2[i]
    out[i, PhaseField.SLOPE] = np.where(qi > 0, fast_solvers.length_map_slope(cf, wi, qi), np.nan)
    if cf.slope is not None:
        out[i, PhaseField.CHI1] = wi * cf.slope(qi)
    if cf.curvature is not None:
        out[i, PhaseField.CHI2] = wi * cf.curvature(qi)
    out[i, PhaseField.DEPTH] = fast_solvers.convergence_depth(cf, wi, sb2[i], q0, qi, depth_tol, 1000)
    if want_c and i.size:
        cs, omc, chic, stc = fast_solvers.c_star(cf, wi, qi, out[i, PhaseField.CHI1])
        out[i, PhaseField.C_STAR], out[i, PhaseField.ONE_MINUS_C] = cs, omc
        out[i, PhaseField.CHI_C], out[i, PhaseField.C_STATUS] = chic, stc
    return out.reshape(sw.size, sb.size, N_PHASE_FIELDS)


def _nested_c_star(K, out, sw2, rtol: float) -> None:
    """c*, chi_c by nested quadrature at the points where the fast paths could not certify them
    (kernel status NEEDS_NESTED; out[..., ONE_MINUS_C] holds the kernels' guess of 1 - c*)."""
    i, j = np.nonzero(out[..., PhaseField.C_STATUS] == Status.NEEDS_NESTED)
    if i.size == 0:
        return
    res = np.empty((i.size, len(NestedField)))
    run_blocks(K.c_star_nested_block, i.size, np.ascontiguousarray(sw2[i]), out[i, j, PhaseField.Q_STAR].copy(),
               out[i, j, PhaseField.CHI1].copy(), rtol, out[i, j, PhaseField.ONE_MINUS_C].copy(), res)
    for src, dst in ((NestedField.C_STAR, PhaseField.C_STAR), (NestedField.ONE_MINUS_C, PhaseField.ONE_MINUS_C),
                     (NestedField.CHI_C, PhaseField.CHI_C), (NestedField.STATUS, PhaseField.C_STATUS)):
        out[i, j, dst] = res[:, src]


def _progress(done: int, total: int) -> None:
    n = int(30 * done / total)
    sys.stderr.write(f"\r  phase diagram [{'#' * n}{'.' * (30 - n)}] {done}/{total} rows of sigma_w")
    sys.stderr.flush()
