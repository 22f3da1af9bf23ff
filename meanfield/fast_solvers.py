"""The kernels' searches (q*, c*, convergence depth, stable fixed point below q0, critical line)
on arrays of points, with the averages of a :class:`~meanfield.fast_path.ClosedForm`.

Each function mirrors one search of :mod:`meanfield.kernels` step for step (same brackets, the
same probes 8 per decade, bracketed secant steps with the Illinois rule, the same tolerances and
statuses), so that a result does not depend on the path, only its cost: numpy on all points at
once, each loop running over the points still active.  The closed forms' error bound
:data:`~meanfield.fast_path.CLOSED_FORM_RTOL` replaces the quadrature's when signs of V(q) - q
are certified.
"""
from __future__ import annotations

import numpy as np

from .codes import Status
from .errors import NotConvergedError
from .fast_path import CLOSED_FORM_RTOL, ClosedForm

#: relative rounding floor added to V's error bound when certifying a sign (as the kernels)
V_ROUNDING = 2e-15
#: probe ratio: 8 per decade, as the kernels and MeanField.fixed_points
SCAN_STEP = 10.0 ** 0.125


def length_map(cf: ClosedForm, sw2, sb2, q):
    r"""(V(q), its error bound) = sw2 E[phi^2] + sb2 (Poole et al. 2016, eq. 3).

    Parameters
    ----------
    cf : ClosedForm
        The closed-form averages of phi (:func:`meanfield.fast_path.closed_form_of`); needs ``second``.
    sw2, sb2 : float or numpy.ndarray
        :math:`\sigma_w^2` and :math:`\sigma_b^2` (variances), broadcasting with ``q``.
    q : float or numpy.ndarray
        Pre-activation variance :math:`q \ge 0` of the previous layer.

    Returns
    -------
    v : numpy.ndarray
        :math:`\mathcal{V}(q) = \sigma_w^2 E[\phi(\sqrt q z)^2] + \sigma_b^2`.
    err : numpy.ndarray
        Its absolute error bound, ``sw2 |E[phi^2]| CLOSED_FORM_RTOL``.
    """
    e2 = cf.second(q)
    return sw2 * e2 + sb2, sw2 * np.abs(e2) * CLOSED_FORM_RTOL


def _probe(cf, sw2, sb2, q):
    v, e = length_map(cf, sw2, sb2, q)
    f = v - q
    return f, np.abs(f) > e + V_ROUNDING * np.abs(v)


def _step_up(q, f):
    x = np.maximum(q + 2.0 * f, 1.05 * q)
    return np.where(q < 1e10, np.minimum(x, SCAN_STEP * q), np.maximum(x, 2.0 * q))


def _step_down(q, f):
    x = np.minimum(q + 2.0 * f, q / 1.05)
    return np.where(q > 1e-10, np.maximum(x, q / SCAN_STEP), np.maximum(np.minimum(x, 0.5 * q), 0.25 * q))


def refine(fn, lo, f_lo, hi, f_hi, ftol: float, xtol: float, max_iter: int = 200):
    r"""Roots of fn(index, x) in the brackets [lo, hi] (f_lo, f_hi of opposite signs), all at once:
    bracketed secant steps with the Illinois rule, stopping at |f| <= ftol x or hi - lo <= xtol hi.

    Parameters
    ----------
    fn : callable
        ``fn(idx, x)`` evaluates the function of the points ``idx`` (int array into the brackets)
        at ``x`` (float array of the same length) and returns a float array.
    lo, hi : array_like of float
        Bracket ends, ``lo < hi``, one per point.
    f_lo, f_hi : array_like of float
        The function at ``lo`` and ``hi``, of opposite signs (or zero, then that end is the root).
    ftol : float
        Stop where :math:`|f| \le` ``ftol`` :math:`|x|` (0 disables this test).
    xtol : float
        Stop where ``hi - lo <= xtol * hi`` (relative bracket width).
    max_iter : int, optional
        Most secant steps (default 200).

    Returns
    -------
    x : numpy.ndarray
        The last iterate per point (the root where converged).
    converged : numpy.ndarray of bool
        False where ``max_iter`` steps did not meet either stopping test.
    """
    a, fa, b, fb = (np.array(v, dtype=float) for v in (lo, f_lo, hi, f_hi))
    x = a.copy()
    done = (fa == 0.0) | (fb == 0.0)
    x[fb == 0.0] = b[fb == 0.0]
    # the points still running, compacted once per step (cheaper than indexing the full arrays)
    i = np.nonzero(~done)[0]
    a, fa, b, fb = a[i], fa[i], b[i], fb[i]
    side = np.zeros(i.size, dtype=np.int64)
    for _it in range(max_iter):
        if i.size == 0:
            break
        xi = (a * fb - b * fa) / (fb - fa)
        xi = np.where((a < xi) & (xi < b), xi, 0.5 * (a + b))
        f = fn(i, xi)
        x[i] = xi
        stop = (f == 0.0) | (np.abs(f) <= ftol * np.abs(xi))
        same = (f > 0.0) == (fa > 0.0)
        a, b = np.where(same, xi, a), np.where(same, b, xi)
        fa, fb = (np.where(same, f, np.where(side == -1, 0.5 * fa, fa)),
                  np.where(same, np.where(side == 1, 0.5 * fb, fb), f))
        side = np.where(same, 1, -1)
        stop |= b - a <= xtol * b
        done[i[stop]] = True
        keep = ~stop
        i, a, fa, b, fb, side = i[keep], a[keep], fa[keep], b[keep], fb[keep], side[keep]
    return x, done


def q_star(cf: ClosedForm, sw2, sb2, q0: float):
    r"""(q*, status) arrays: the fixed point of V reached from q0 (the kernels' ``q_star``).

    The fixed point :math:`q^* = \mathcal{V}(q^*)` of the length map (Poole et al. 2016, eq. 3)
    that the orbit :math:`q^1 = q_0, q^{l+1} = \mathcal{V}(q^l)` approaches: the first certified
    sign change of V(q) - q above q0 (where V(q0) > q0) or below it, refined to 4e-16 relative.

    Parameters
    ----------
    cf : ClosedForm
        The closed-form averages of phi (:func:`meanfield.fast_path.closed_form_of`); needs ``second``
        (and uses ``affine`` where set).
    sw2, sb2 : float or array_like
        :math:`\sigma_w^2` and :math:`\sigma_b^2`, broadcast together and flattened.
    q0 : float
        The starting variance :math:`q^1 > 0`.

    Returns
    -------
    q : numpy.ndarray
        :math:`q^*` per point (flattened); ``inf`` where the orbit diverges, 0 where it
        decays to 0, NaN where V is not finite at q0.
    status : numpy.ndarray of int
        :class:`~meanfield.codes.Status` values: ``OK``, ``Q_ZERO``, ``Q_DIVERGES``,
        ``Q_UNRESOLVED`` (signs not certifiable), ``NONFINITE`` or ``NOT_CONVERGED``.
    """
    sw2, sb2 = np.broadcast_arrays(np.asarray(sw2, dtype=float), np.asarray(sb2, dtype=float))
    sw2, sb2 = sw2.ravel().copy(), sb2.ravel().copy()
    n = sw2.size
    q = np.full(n, np.nan)
    status = np.full(n, int(Status.OK))
    q0a = np.full(n, float(q0))
    f0, cert0 = _probe(cf, sw2, sb2, q0a)
    bad = ~np.isfinite(f0)
    status[bad] = Status.NONFINITE
    at_q0 = ~bad & (np.abs(f0) <= 1e-13 * q0)
    q[at_q0] = q0
    lo, f_lo, hi, f_hi = (np.full(n, np.nan) for _ in range(4))
    bracketed = np.zeros(n, dtype=bool)
    if cf.affine is not None:
        # V(q) = s q + sb2: away from the marginal s = 1 the search's answer is known outright
        # (q* = sb2/(1-s) below 1e14, reached from either side with certified signs; 0 where
        # sb2 = 0; growth without bound for s > 1); the marginal points take the search below
        s = sw2 * cf.affine
        todo = ~bad & ~at_q0
        with np.errstate(divide="ignore", invalid="ignore"):
            fixed = sb2 / (1.0 - s)
        ok = todo & (s < 1 - 1e-12) & (sb2 > 0) & (fixed <= 1e14)
        q[ok] = fixed[ok]
        zero = todo & (s < 1 - 1e-12) & (sb2 == 0)
        q[zero], status[zero] = 0.0, Status.Q_ZERO
        grows = todo & (s > 1 + 1e-12)
        q[grows], status[grows] = np.inf, Status.Q_DIVERGES
        bad = bad | ok | zero | grows
    # upwards: the orbit grows to the first certified sign change above q0.  The loops work on
    # compacted copies of the running points (idx) and write back where a point finishes.
    idx = np.nonzero(~bad & ~at_q0 & (f0 > 0))[0]
    w2, b2 = sw2[idx], sb2[idx]
    l, fl = np.full(idx.size, float(q0)), f0[idx]
    h = _step_up(l, fl)
    unres = ~cert0[idx]
    while idx.size:
        fh, cert = _probe(cf, w2, b2, h)
        nonfinite = ~np.isfinite(fh)
        found = ~nonfinite & cert & (fh <= 0.0)
        j = idx[found]
        lo[j], f_lo[j], hi[j], f_hi[j] = l[found], fl[found], h[found], fh[found]
        bracketed[j] = True
        j = idx[nonfinite]
        q[j], status[j] = l[nonfinite], Status.Q_UNRESOLVED
        go = ~nonfinite & ~found
        move = go & cert
        l, fl = np.where(move, h, l), np.where(move, fh, fl)
        unres |= go & ~cert
        h = _step_up(h, fh)
        top = go & (h > 1e15)
        j = idx[top]
        q[j] = np.where(unres[top], l[top], np.inf)
        status[j] = np.where(unres[top], Status.Q_UNRESOLVED, Status.Q_DIVERGES)
        keep = go & ~top
        idx, w2, b2, l, fl, h, unres = (a[keep] for a in (idx, w2, b2, l, fl, h, unres))
    # downwards: the orbit shrinks to the first certified sign change below q0 (or to 0)
    v0, _e = length_map(cf, sw2, sb2, np.zeros(n))
    idx = np.nonzero(~bad & ~at_q0 & (f0 < 0))[0]
    w2, b2, zero_ok = sw2[idx], sb2[idx], (sb2[idx] == 0.0) & (v0[idx] == 0.0)
    h, fh = np.full(idx.size, float(q0)), f0[idx]
    l = _step_down(h, fh)
    while idx.size:
        fl, cert = _probe(cf, w2, b2, l)
        found = cert & (fl >= 0.0)
        j = idx[found]
        lo[j], f_lo[j], hi[j], f_hi[j] = l[found], fl[found], h[found], fh[found]
        bracketed[j] = True
        move = ~found & cert
        h, fh = np.where(move, l, h), np.where(move, fl, fh)
        l = _step_down(l, fl)
        zero = ~found & (l < 1e-30) & zero_ok
        q[idx[zero]], status[idx[zero]] = 0.0, Status.Q_ZERO
        lost = ~found & ~zero & (l < 1e-300)
        q[idx[lost]], status[idx[lost]] = 0.0, Status.NOT_CONVERGED
        keep = ~(found | zero | lost)
        if not keep.all():
            idx, w2, b2, zero_ok, l, h, fh = (a[keep] for a in (idx, w2, b2, zero_ok, l, h, fh))
    k = np.nonzero(bracketed)[0]
    if k.size:
        def fn(idx, x):
            return length_map(cf, sw2[k[idx]], sb2[k[idx]], x)[0] - x
        x, ok = refine(fn, lo[k], f_lo[k], hi[k], f_hi[k], 4e-16, 4e-16)
        q[k] = x
        status[k] = np.where(ok, Status.OK, Status.NOT_CONVERGED)
    return q, status


def length_map_slope(cf: ClosedForm, sw2, q):
    r"""dV/dq = sw2 E[phi^2 (z^2 - 1)] / (2q) at q > 0 (Stein's identity).

    The slope of the length map (Poole et al. 2016, eq. 3), which decides the stability of
    :math:`q^*`.

    Parameters
    ----------
    cf : ClosedForm
        The closed-form averages of phi (:func:`meanfield.fast_path.closed_form_of`); needs ``second_zz``.
    sw2 : float or numpy.ndarray
        :math:`\sigma_w^2`.
    q : float or array_like
        Variance :math:`q > 0` (q = 0 gives NaN or inf: the formula divides by q).

    Returns
    -------
    numpy.ndarray
        :math:`d\mathcal{V}/dq` at each q.
    """
    q = np.asarray(q, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sw2 * cf.second_zz(q) / (2.0 * q)


def convergence_depth(cf: ClosedForm, sw2, sb2, q0: float, qs, tol: float, max_depth: int):
    r"""Layers until |q^l - q*| <= tol q* from q^1 = q0, or -1 (the kernels' ``convergence_depth``).

    Iterates the length map (Poole et al. 2016, eq. 3; the depth of their Fig. 1D).

    Parameters
    ----------
    cf : ClosedForm
        The closed-form averages of phi (:func:`meanfield.fast_path.closed_form_of`); needs ``second``.
    sw2, sb2 : float or array_like
        :math:`\sigma_w^2` and :math:`\sigma_b^2`.
    q0 : float
        The starting variance :math:`q^1`.
    qs : float or array_like
        The fixed points :math:`q^*` (e.g. from :func:`q_star`); all three broadcast together.
    tol : float
        Relative tolerance, e.g. 0.01 for Poole's 1 %.
    max_depth : int
        Most layers iterated.

    Returns
    -------
    numpy.ndarray of int64
        Number of applications of V after which the orbit is within ``tol``, flattened;
        -1 where ``q*`` is not finite or the orbit is not within ``tol`` after ``max_depth``
        applications.
    """
    sw2, sb2, qs = (np.asarray(v, dtype=float).ravel() for v in np.broadcast_arrays(sw2, sb2, qs))
    depth = np.full(qs.size, -1, dtype=np.int64)
    i = np.nonzero(np.isfinite(qs))[0]
    q = np.full(i.size, float(q0))
    for layer in range(1, int(max_depth) + 1):
        there = np.abs(q - qs[i]) <= tol * qs[i]
        depth[i[there]] = layer - 1
        i, q = i[~there], q[~there]
        if i.size == 0:
            break
        q = length_map(cf, sw2[i], sb2[i], q)[0]
    there = np.abs(q - qs[i]) <= tol * qs[i]          # converged at the last layer tried
    depth[i[there]] = int(max_depth)
    return depth


def stable_below(cf: ClosedForm, sw2, sb2, q0: float):
    r"""True where V(q) < q (certified) at some q0 / SCAN_STEP^j > 1e-10 (the kernels' ``stable_below_block``).

    Such a point has a stable fixed point of the length map (Poole et al. 2016, eq. 3) below q0.

    Parameters
    ----------
    cf : ClosedForm
        The closed-form averages of phi (:func:`meanfield.fast_path.closed_form_of`); needs ``second``.
    sw2, sb2 : float or array_like
        :math:`\sigma_w^2` and :math:`\sigma_b^2`, broadcast together and flattened.
    q0 : float
        The top of the scan; probed at ``q0 / SCAN_STEP**j``, j >= 1, until a probe is below
        1e-10 (only the two ends of the scan where V is affine in q).

    Returns
    -------
    numpy.ndarray of bool
        One per point (all False if the scan is empty, i.e. ``q0 <= 1e-10``).
    """
    sw2, sb2 = (np.asarray(v, dtype=float).ravel() for v in np.broadcast_arrays(sw2, sb2))
    qs = []
    q = float(q0)
    while q > 1e-10:
        q = q / SCAN_STEP
        qs.append(q)
    if not qs:
        return np.zeros(sw2.size, dtype=bool)
    if cf.affine is not None:       # V(q) - q is affine in q: its least value on the scan is at an end
        qs = [qs[0], qs[-1]]
    grid = np.array(qs)[None, :]
    f, cert = _probe(cf, sw2[:, None], sb2[:, None], grid)
    return np.any(cert & (f < 0.0), axis=1)


def c_star(cf: ClosedForm, sw2, q, chi1):
    r"""(c*, 1 - c*, chi_c at c*, status) arrays (the kernels' ``c_star_and_chi``, Poole eq. 6).

    Ordered (chi1 <= 1): c* = 1, chi_c = chi1.  Chaotic: the root e = 1 - c* of
    H(e) = sw2 gap(q, 1 - e)/q - e, bracketed from e = 1 down by factors of 100 and refined to
    1e-13 relative in e; marginal (no sign change above e = 1e-14): c* = 1 to rounding.

    Parameters
    ----------
    cf : ClosedForm
        The closed-form averages of phi (:func:`meanfield.fast_path.closed_form_of`); needs ``gap`` (and
        ``cross_slope`` for chi_c; without it chi_c is NaN in the chaotic phase).
    sw2 : float or array_like
        :math:`\sigma_w^2`.
    q : float or array_like
        The fixed point :math:`q^*` of the length map.
    chi1 : float or array_like
        :math:`\chi_1` at :math:`q^*` (Poole et al. 2016, eq. 7); decides ordered vs chaotic.
        All three broadcast together and are flattened.

    Returns
    -------
    c_star : numpy.ndarray
        The stable fixed point :math:`c^*` of the C-map (eq. 6); exactly 0 where
        :math:`H(1) \ge 0`, i.e. the C-map sends c = 0 to c <= 0 (e.g. odd phi at sigma_b = 0).
    one_minus_c : numpy.ndarray
        :math:`1 - c^*`, accurate where :math:`c^*` is near 1.
    chi_c : numpy.ndarray
        The C-map slope :math:`\sigma_w^2 E[\phi'(u_1)\phi'(u_2)]` at :math:`c^*`.
    status : numpy.ndarray of int
        :class:`~meanfield.codes.Status` values: ``OK`` or ``NOT_CONVERGED``.
    """
    sw2, q, chi1 = (np.asarray(v, dtype=float).ravel() for v in np.broadcast_arrays(sw2, q, chi1))
    n = q.size
    cs, omc, chic = np.ones(n), np.zeros(n), chi1.copy()
    status = np.full(n, int(Status.OK))

    def H(idx, e):
        return sw2[idx] * cf.gap(q[idx], 1.0 - e, e) / q[idx] - e

    i = np.nonzero(chi1 > 1.0)[0]
    if i.size == 0:
        return cs, omc, chic, status
    h1 = H(i, np.ones(i.size))
    zero = h1 >= 0.0
    cs[i[zero]], omc[i[zero]] = 0.0, 1.0
    i, e_hi, h_hi = i[~zero], np.ones(int((~zero).sum())), h1[~zero]
    e_lo = np.full(i.size, 1e-2)
    lo_b, flo_b, hi_b, fhi_b, idx_b = [], [], [], [], []
    while i.size:
        h = H(i, e_lo)
        found = h > 0.0
        lo_b.append(e_lo[found]), flo_b.append(h[found]), hi_b.append(e_hi[found])
        fhi_b.append(h_hi[found]), idx_b.append(i[found])
        i, e_hi, h_hi, e_lo = i[~found], e_lo[~found], h[~found], e_lo[~found] * 1e-2
        marginal = e_lo < 1e-14
        cs[i[marginal]], omc[i[marginal]] = 1.0, 0.0
        i, e_hi, h_hi, e_lo = i[~marginal], e_hi[~marginal], h_hi[~marginal], e_lo[~marginal]
    k = np.concatenate(idx_b) if idx_b else np.zeros(0, dtype=np.int64)
    if k.size:
        e, ok = refine(lambda idx, x: H(k[idx], x), np.concatenate(lo_b), np.concatenate(flo_b),
                       np.concatenate(hi_b), np.concatenate(fhi_b), 0.0, 1e-13)
        cs[k], omc[k] = 1.0 - e, e
        status[k] = np.where(ok, Status.OK, Status.NOT_CONVERGED)
    j = np.nonzero((chi1 > 1.0) & (omc > 0.0))[0]
    if cf.cross_slope is None:
        chic[j] = np.nan
    elif j.size:
        chic[j] = sw2[j] * cf.cross_slope(q[j], q[j], cs[j], omc[j])
    return cs, omc, chic, status


#: most roots kept per sigma_b (the kernels' CRIT_MAX_ROOTS)
CRIT_MAX_ROOTS = 16
#: the scan of the kernels' ``critical_roots``: q in [1e-8, 1e8], 8 points per decade
CRIT_SCAN = 1e-8 * 10.0 ** (np.arange(129) / 8.0)


def critical_roots(cf: ClosedForm, sb2):
    r"""Every q in [1e-8, 1e8] with chi1 = 1 and sigma_b^2 = sb2 on the critical line, for each sb2.

    g(q) = q - E[phi^2]/E[phi'^2] - sb2 is scanned on :data:`CRIT_SCAN` and each sign change
    refined to 1e-15 relative (the kernels' ``critical_roots``).  On the critical line
    :math:`\chi_1(q^*) = 1` (Poole et al. 2016, eq. 7) with :math:`q^*` a fixed point of the
    length map (eq. 3), so :math:`\sigma_w^2 = 1/E[\phi'^2]` and
    :math:`\sigma_b^2 = q - E[\phi^2]/E[\phi'^2]`.

    Parameters
    ----------
    cf : ClosedForm
        The closed-form averages of phi (:func:`meanfield.fast_path.closed_form_of`); needs ``second`` and ``slope``.
    sb2 : float or array_like
        The :math:`\sigma_b^2` values (flattened to 1-d).

    Returns
    -------
    list of numpy.ndarray
        One ascending array of roots q per sb2, at most :data:`CRIT_MAX_ROOTS` (the lowest).
    """
    sb2 = np.atleast_1d(np.asarray(sb2, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        g0 = CRIT_SCAN - cf.second(CRIT_SCAN) / cf.slope(CRIT_SCAN)
    g = g0[None, :] - sb2[:, None]
    fin = np.isfinite(g[:, :-1]) & np.isfinite(g[:, 1:])
    change = fin & ((g[:, 1:] == 0.0) | (g[:, :-1] * g[:, 1:] < 0.0))
    r, k = np.nonzero(change)
    roots = np.full(r.size, np.nan)
    exact = g[r, k + 1] == 0.0
    roots[exact] = CRIT_SCAN[k[exact] + 1]
    m = np.nonzero(~exact)[0]
    if m.size:
        def fn(idx, x):
            with np.errstate(divide="ignore", invalid="ignore"):
                return x - cf.second(x) / cf.slope(x) - sb2[r[m[idx]]]
        roots[m], ok = refine(fn, CRIT_SCAN[k[m]], g[r[m], k[m]], CRIT_SCAN[k[m] + 1], g[r[m], k[m] + 1],
                              0.0, 1e-15)
        if not ok.all():     # never silently: the kernels' search reports NOT_CONVERGED the same way
            bad = sb2[r[m[~ok]]]
            raise NotConvergedError(f"critical-line search: the root refinement did not converge at "
                                    f"sigma_b^2 = {', '.join(f'{v:g}' for v in bad[:3])}")
    # at most CRIT_MAX_ROOTS per sigma_b, the lowest, as the kernels keep (a linear phi at sigma_b = 0
    # has g = 0 on the whole scan)
    return [np.sort(roots[r == j])[:CRIT_MAX_ROOTS] for j in range(sb2.size)]
