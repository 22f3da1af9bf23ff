"""The critical line chi1 = 1 (Poole eq. 7): every q on it with a given sigma_b^2."""
import math

import numpy as np
from numba import njit

from ...codes import Moment, Status
from .roots import _illinois, _secant_point
from .tables import TAB_USE_RTOL, moment


@njit(cache=True)
def _critical_gap(P, W, T, q, sb2, rtol):
    """g(q) = q - E[phi^2]/E[phi'^2] - sb2: zero where the critical line has sigma_b^2 = sb2."""
    e2, _e, st1 = moment(P, W, T, Moment.PHI2, q, rtol)
    d2, _e, st2 = moment(P, W, T, Moment.DPHI2, q, rtol)
    if st1 != Status.OK or st2 != Status.OK or d2 == 0.0:
        return np.nan
    return q - e2 / d2 - sb2


CRIT_MAX_ROOTS = 16


@njit(cache=True)
def critical_roots(P, W, T, sb2, rtol, roots):
    """Every q in [1e-8, 1e8] on the critical line (sigma_w^2 = 1/E[phi'^2],
    sigma_b^2 = q - sigma_w^2 E[phi^2]) with sigma_b^2 = sb2, into roots[0:n], ascending.

    chi1 = 1 (Poole et al. 2016, eq. 7) and q = V(q) (eq. 3) at once (docs/derivations.md
    Sec. 3).  Scans q (8 points per decade, from table T where it serves) for every sign change
    of g(q) = q - E[phi^2]/E[phi'^2] - sb2, refined by bracketed secant (Illinois) steps at
    rtol.  Whether each q is a stable fixed point reached from q0 is left to the caller.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sb2 : float
        sigma_b^2, the bias variance of the points sought.
    rtol : float
        Relative tolerance of the moments in the refinement (the scan uses at least 1e-12).
    roots : numpy.ndarray of shape (CRIT_MAX_ROOTS,)
        Output: roots[0:n] are the q found; at most roots.size are listed.

    Returns
    -------
    n : int
        Number of roots written.
    status : Status
        Status.OK, or Status.NOT_CONVERGED if a refinement did not converge within 200 steps
        (its root is still listed) (:class:`meanfield.codes.Status`).
    """
    scan_rtol = max(rtol, TAB_USE_RTOL)
    n = 0
    status = Status.OK
    q_prev = 1e-8
    g_prev = _critical_gap(P, W, T, q_prev, sb2, scan_rtol)
    for k in range(1, 129):
        q = 1e-8 * 10.0 ** (k / 8.0)
        g = _critical_gap(P, W, T, q, sb2, scan_rtol)
        if not (math.isfinite(g) and math.isfinite(g_prev)):
            q_prev, g_prev = q, g
            continue
        if (g == 0.0 or g_prev * g < 0.0) and n < roots.size:
            lo, hi = q_prev, q
            g_lo = _critical_gap(P, W, T, lo, sb2, rtol)
            g_hi = _critical_gap(P, W, T, hi, sb2, rtol)
            if g_hi == 0.0:
                roots[n] = hi
                n += 1
            elif g_lo * g_hi < 0.0:     # else the table's sign was within its error of zero
                side = np.int64(0)
                m = lo
                done = False
                for _it in range(200):
                    m = _secant_point(lo, g_lo, hi, g_hi)
                    gm = _critical_gap(P, W, T, m, sb2, rtol)
                    if gm == 0.0 or hi - lo <= 1e-15 * hi:
                        done = True
                        break
                    lo, g_lo, hi, g_hi, side = _illinois(m, gm, lo, g_lo, hi, g_hi, side)
                if not done:
                    status = Status.NOT_CONVERGED
                roots[n] = m
                n += 1
            g = g_hi
        q_prev, g_prev = q, g
    return n, status
