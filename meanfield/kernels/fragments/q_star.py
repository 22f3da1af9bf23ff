"""The length map V(q) (Poole eq. 3), its slope, and the fixed point q* reached from q0.

Status.Q_UNRESOLVED: V(q) > q certified up to the returned q; above it V(q) - q is not resolved
(quadrature fails or |V - q| is below V's error): meanfield decides from the asymptotic slope
of V (MeanField.asymptotic_slope).
"""
import numpy as np
from numba import njit

from ...codes import Moment, Status
from .gk15 import workspace
from .phi_call import dphi
from .roots import _illinois, _secant_point
from .tables import moment, no_table, tab_locate

V_ROUNDING = 2e-15   # relative rounding floor added to V's error bound when certifying a sign

@njit(cache=True)
def length_map(P, W, T, sw2, sb2, q, rtol):
    """The length map V(q) = sw2 E[phi(sqrt(q) z)^2] + sb2 (Poole et al. 2016, eq. 3).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : float
        sigma_w^2, the weight variance.
    sb2 : float
        sigma_b^2, the bias variance.
    q : float
        The squared length q^(l-1) (>= 0).
    rtol : float
        Relative tolerance of the integrals (a table serves rtol >= 1e-12).

    Returns
    -------
    value : float
        V(q) = q^l.
    error : float
        Its error bound, sw2 times that of E[phi^2].
    status : Status
        Status of the moment (:class:`meanfield.codes.Status`).
    """
    v, e, st = moment(P, W, T, Moment.PHI2, q, rtol)
    return sw2 * v + sb2, sw2 * e, st


@njit(cache=True)
def length_map_slope(P, W, T, sw2, q, rtol):
    """Slope of the length map, dV/dq = sw2 E[phi^2 (z^2 - 1)] / (2q).

    docs/derivations.md eq. D4 (Stein's identity applied to Poole et al. 2016, eq. 3), exact at
    kinks too; at q = 0 it is sw2 (phi'(0+)^2 + phi'(0-)^2) / 2 (docs/derivations.md Sec. 1).  At q*
    it gives the depth scale xi_q (Schoenholz et al. 2017, eq. S1 of docs/derivations.md).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : float
        sigma_w^2, the weight variance.
    q : float
        The squared length (>= 0).
    rtol : float
        Relative tolerance of the integrals (a table serves rtol >= 1e-12).

    Returns
    -------
    slope : float
        dV/dq at q.
    status : Status
        Status of the moment (:class:`meanfield.codes.Status`).
    """
    if q == 0.0:
        # the limit q -> 0 of E[phi'(sqrt(q) z)^2]: the mean of the one-sided slopes squared (a kink
        # at 0, as ReLU's, has phi'(0+) != phi'(0-)); the smallest subnormals pick each side
        dp, dm = dphi(P, 5e-324), dphi(P, -5e-324)
        return sw2 * 0.5 * (dp * dp + dm * dm), Status.OK
    v, _e, st = moment(P, W, T, Moment.PHI2_ZZ, q, rtol)
    return sw2 * v / (2.0 * q), st


@njit(cache=True)
def _probe(P, W, T, sw2, sb2, q, rtol):
    """F(q) = V(q) - q for bracketing a fixed point, and whether its sign is certified
    (|F| above V's error bound plus rounding); where the bound at rtol does not decide it,
    V is integrated again at 1e-15.  Returns (F, certified, status)."""
    v, e, st = length_map(P, W, T, sw2, sb2, q, rtol)
    if st != Status.OK:
        return v - q, False, st
    if abs(v - q) <= e + V_ROUNDING * abs(v):
        v2, e2, st2 = length_map(P, W, T, sw2, sb2, q, 1e-15)
        if st2 == Status.OK:
            v, e = v2, e2
    return v - q, abs(v - q) > e + V_ROUNDING * abs(v), st


SCAN_STEP = 10.0 ** 0.125     # 8 probes per decade, as MeanField.fixed_points scans


@njit(cache=True)
def _step_up(q, f):
    """Next probe above q (F(q) = f > 0): twice the move of a slope-1/2 map, at least x1.05 so
    that a marginal map (V = q + 0.04) does not crawl, at most x SCAN_STEP inside [1e-10, 1e10]."""
    x = max(q + 2.0 * f, 1.05 * q)
    if q < 1e10:
        return min(x, SCAN_STEP * q)
    return max(x, 2.0 * q)


@njit(cache=True)
def _step_down(q, f):
    """Next probe below q (F(q) = f < 0), mirroring _step_up (near a marginal map F ~ -q^2 the
    secant step alone would crawl, hence the minimum ratio)."""
    x = min(q + 2.0 * f, q / 1.05)
    if q > 1e-10:
        return max(x, q / SCAN_STEP)
    return max(min(x, 0.5 * q), 0.25 * q)


@njit(cache=True)
def q_star(P, W, T, sw2, sb2, q0, rtol):
    """The fixed point q* = V(q*) of the length map (Poole et al. 2016, eq. 3) reached by iterating
    from q0.

    The orbit moves monotonically towards the nearest fixed point in the direction of
    V(q0) - q0: bracketed by probes whose sign of V(q) - q is certified, then refined by
    :func:`refine_fixed_point`.  When table T served q*, its error there, dV / |1 - V'(q*)|,
    must be below rtol q*; otherwise (a nearly marginal map, e.g. q* ~ 1e14 where
    V(q) - q ~ 1) the search is repeated with quadrature alone (docs/derivations.md Sec. 7,
    method 5).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : float
        sigma_w^2, the weight variance.
    sb2 : float
        sigma_b^2, the bias variance.
    q0 : float
        The starting squared length q^1 (> 0).
    rtol : float
        Relative tolerance of the integrals (a table serves rtol >= 1e-12).

    Returns
    -------
    q_star : float
        The fixed point; for Status.Q_UNRESOLVED the largest q up to which V(q) > q is
        certified; inf for Status.Q_DIVERGES; 0 for Status.Q_ZERO; NaN on a quadrature failure.
    status : Status
        Status.OK; Status.Q_DIVERGES (q grows past 1e15 with V(q) > q certified all the way);
        Status.Q_UNRESOLVED (V(q) > q certified up to the returned q, unresolved above);
        Status.Q_ZERO (sb2 = 0 and the orbit goes to 0); Status.NOT_CONVERGED; or a
        quadrature failure (:class:`meanfield.codes.Status`).
    """
    qs, st = _q_star_search(P, W, T, sw2, sb2, q0, rtol)
    if st != Status.OK or tab_locate(T.moments, qs, rtol)[0] < 0:
        return qs, st
    _v, e, _st2 = length_map(P, W, T, sw2, sb2, qs, rtol)
    slope, _st3 = length_map_slope(P, W, T, sw2, qs, rtol)
    if e <= rtol * qs * abs(1.0 - slope):
        return qs, st
    return _q_star_search(P, W, no_table(), sw2, sb2, q0, rtol)


@njit(cache=True)
def _q_star_search(P, W, T, sw2, sb2, q0, rtol):
    """The search of q_star.

    The map is increasing for the nonlinearities of interest, so the orbit from q0
    moves monotonically to the nearest fixed point in the direction of V(q0) - q0:
    bracket it by doubling/halving, then bracketed secant (Illinois) steps on
    F(q) = V(q) - q, one integral per step, to 4e-16 relative.
    """
    f0, cert, st = _probe(P, W, T, sw2, sb2, q0, rtol)
    if st != Status.OK:
        return np.nan, st
    if abs(f0) <= 1e-13 * q0:
        return q0, Status.OK
    # Every bracket end has a certified sign of F, so a bracket always holds a sign change of
    # F (a fixed point), never a stretch where F is below the resolution of V (V(q) = q + 0.04
    # at q = 1e14 looked like a fixed point before).  Probes step by at most SCAN_STEP (the
    # resolution of MeanField.fixed_points) inside [1e-10, 1e10], so the first sign change met
    # is the fixed point the orbit from q0 reaches, not one beyond a pair of fixed points
    # jumped over (a multistable map); outside that range they double or halve.
    if f0 > 0.0:
        lo, f_lo = q0, f0
        hi = _step_up(q0, f0)
        unresolved = not cert
        while True:
            f_hi, cert, st = _probe(P, W, T, sw2, sb2, hi, rtol)
            if st != Status.OK:
                return lo, Status.Q_UNRESOLVED     # e.g. oscillating phi at large q: quadrature gives up
            if cert and f_hi <= 0.0:
                break
            if cert:
                lo, f_lo = hi, f_hi
            else:
                unresolved = True
            hi = _step_up(hi, f_hi)
            if hi > 1e15:
                return (lo, Status.Q_UNRESOLVED) if unresolved else (np.inf, Status.Q_DIVERGES)
    else:
        hi, f_hi = q0, f0
        lo = _step_down(q0, f0)
        while True:
            f_lo, cert, st = _probe(P, W, T, sw2, sb2, lo, rtol)
            if st != Status.OK:
                return np.nan, st
            if cert and f_lo >= 0.0:
                break
            if cert:
                hi, f_hi = lo, f_lo
            lo = _step_down(lo, f_lo)
            if lo < 1e-30 and sb2 == 0.0:
                # V(0) = 0 makes 0 a fixed point; below 1e-30 V(q)/q is its limit to rounding,
                # so V(lo) < lo leaves no other fixed point in (0, lo): the orbit goes to 0
                v0, _e, st = length_map(P, W, T, sw2, sb2, 0.0, rtol)
                if v0 == 0.0:
                    return 0.0, Status.Q_ZERO
            if lo < 1e-300:
                return 0.0, Status.NOT_CONVERGED
    return refine_fixed_point(P, W, T, sw2, sb2, lo, f_lo, hi, f_hi, rtol)


@njit(cache=True)
def refine_fixed_point(P, W, T, sw2, sb2, lo, f_lo, hi, f_hi, rtol):
    """The fixed point of V in the bracket [lo, hi] where F = V(q) - q changes sign (F(lo) = f_lo,
    F(hi) = f_hi): bracketed secant (Illinois) steps, one integral per step, to 4e-16 relative.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : float
        sigma_w^2, the weight variance.
    sb2 : float
        sigma_b^2, the bias variance.
    lo, hi : float
        The bracket, lo < hi.
    f_lo, f_hi : float
        F(lo) and F(hi), of opposite signs (or one of them 0).
    rtol : float
        Relative tolerance of the integrals (a table serves rtol >= 1e-12).

    Returns
    -------
    q : float
        The fixed point (NaN on a quadrature failure).
    status : Status
        Status.OK; Status.NOT_CONVERGED after 200 steps; or the quadrature's failure
        (:class:`meanfield.codes.Status`).
    """
    if f_lo == 0.0:
        return lo, Status.OK
    if f_hi == 0.0:
        return hi, Status.OK
    side = np.int64(0)
    q = lo
    for _it in range(200):
        q = _secant_point(lo, f_lo, hi, f_hi)
        f, _e, st = length_map(P, W, T, sw2, sb2, q, rtol)
        if st != Status.OK:
            return np.nan, st
        f -= q
        if f == 0.0 or abs(f) <= 4e-16 * q:
            return q, Status.OK
        lo, f_lo, hi, f_hi, side = _illinois(q, f, lo, f_lo, hi, f_hi, side)
        if hi - lo <= 4e-16 * hi:
            return q, Status.OK
    return q, Status.NOT_CONVERGED


@njit(cache=True)
def fixed_point_between(P, W, T, sw2, sb2, lo, hi, rtol):
    """The fixed point of V (Poole et al. 2016, eq. 3) between lo and hi, where V(q) - q changes
    sign (:func:`refine_fixed_point`).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : float
        sigma_w^2, the weight variance.
    sb2 : float
        sigma_b^2, the bias variance.
    lo, hi : float
        The interval, lo < hi.
    rtol : float
        Relative tolerance of the integrals (a table serves rtol >= 1e-12).

    Returns
    -------
    q : float
        The fixed point (NaN on failure).
    status : Status
        Status.OK; Status.NOT_CONVERGED if V(q) - q does not change sign on [lo, hi] or the
        refinement did not converge; or the quadrature's failure
        (:class:`meanfield.codes.Status`).
    """
    f_lo, _e, st = length_map(P, W, T, sw2, sb2, lo, rtol)
    if st != Status.OK:
        return np.nan, st
    f_hi, _e, st = length_map(P, W, T, sw2, sb2, hi, rtol)
    if st != Status.OK:
        return np.nan, st
    f_lo -= lo
    f_hi -= hi
    if f_lo * f_hi > 0.0:
        return np.nan, Status.NOT_CONVERGED
    return refine_fixed_point(P, W, T, sw2, sb2, lo, f_lo, hi, f_hi, rtol)


@njit(cache=True, nogil=True)
def stable_below_block(P, T, sw2, sb2, q0, rtol, flag, k0, k1):
    """flag[k] = 1 where V(q) < q (certified) somewhere on the scan q0 / SCAN_STEP^j > 1e-10 at
    (sw2[k], sb2[k]): for a point whose orbit from q0 diverges, a stable fixed point lies below q0
    (the orbit from a smaller q0 stops there; Status.Q_DIVERGES_FROM_Q0).  Blocks as phase_block.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2, sb2 : numpy.ndarray of shape (n,)
        sigma_w^2 and sigma_b^2 of each point.
    q0 : float
        The starting squared length from which the orbits diverged.
    rtol : float
        Relative tolerance of the integrals (a table serves rtol >= 1e-12).
    flag : numpy.ndarray of int, shape (n,)
        Output: 1 where a certified V(q) < q lies below q0, else 0.
    k0, k1 : int
        The block: points k0..k1-1 (:func:`meanfield.kernels.run_blocks`).
    """
    W = workspace()
    for k in range(k0, k1):
        flag[k] = 0
        q = q0
        while q > 1e-10:
            q = q / SCAN_STEP
            f, cert, st = _probe(P, W, T, sw2[k], sb2[k], q, rtol)
            if st == Status.OK and cert and f < 0.0:
                flag[k] = 1
                break


@njit(cache=True)
def convergence_depth(P, W, T, sw2, sb2, q0, qs, tol, max_depth, rtol):
    """Layers until |q^l - q*| <= tol q* starting from q^1 = q0 (Poole et al. 2016, Fig. 1D).

    Iterates the length map (eq. 3) from q0 and counts its applications.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : float
        sigma_w^2, the weight variance.
    sb2 : float
        sigma_b^2, the bias variance.
    q0 : float
        The starting squared length q^1.
    qs : float
        The fixed point q* (from :func:`q_star`).
    tol : float
        Relative distance from q* counted as converged (0.01 in Poole Fig. 1D).
    max_depth : int
        Most layers to try.
    rtol : float
        Relative tolerance of the integrals (a table serves rtol >= 1e-12).

    Returns
    -------
    int
        Number of applications of V until q is within tol q* of q* (0 if q0 already is); -1 if
        not within max_depth layers or if a quadrature fails.
    """
    q = q0
    for layer in range(1, max_depth + 1):
        if abs(q - qs) <= tol * qs:
            return layer - 1
        q, _e, st = length_map(P, W, T, sw2, sb2, q, rtol)
        if st != Status.OK:
            return -1
    if abs(q - qs) <= tol * qs:         # converged at the last layer tried
        return max_depth
    return -1
