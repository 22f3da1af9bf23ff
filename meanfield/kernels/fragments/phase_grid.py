"""Every quantity of one phase-diagram point (Poole Figs. 1C-D, 2C-D), and blocks of points for
:func:`meanfield.phase_diagram`.  The layout of a point is :class:`meanfield.codes.PhaseField`."""
import numpy as np
from numba import njit

from ...codes import N_PHASE_FIELDS, Moment, PhaseField, Status
from .c_star import c_star_and_chi
from .gk15 import workspace
from .q_star import convergence_depth, length_map_slope, q_star
from .tables import moment


@njit(cache=True)
def phase_point(P, T, sw2, sb2, q0, tol_depth, rtol, want_c, out):
    """Everything of one (sigma_w^2, sigma_b^2) point into out[PhaseField].

    q* (Poole et al. 2016, eq. 3; Fig. 1C), status_q, dV/dq at q* (docs/derivations.md eq. D4),
    chi1 (eq. 7; Fig. 2D), chi2 (eq. 9), c*, 1 - c*, chi_c at c* (eq. 6; Fig. 2C), convergence
    depth (Fig. 1D, at most 1000 layers), status_c.  Fields that are not computed stay NaN.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : float
        sigma_w^2, the weight variance.
    sb2 : float
        sigma_b^2, the bias variance.
    q0 : float
        The starting squared length q^1 of the orbit whose fixed point is q*.
    tol_depth : float
        Relative distance from q* at which the convergence depth counts q as converged.
    rtol : float
        Relative tolerance.
    want_c : bool
        Also compute c*, 1 - c*, chi_c and status_c (:func:`c_star_and_chi`; C_STATUS is
        Status.NEEDS_NESTED where the nested quadrature must finish).
    out : numpy.ndarray of shape (len(PhaseField),)
        Output, in the layout :class:`meanfield.codes.PhaseField`; statuses as floats of
        :class:`meanfield.codes.Status` values, DEPTH -1 where the orbit did not converge.
    """
    W = workspace()
    for i in range(N_PHASE_FIELDS):
        out[i] = np.nan
    qs, st = q_star(P, W, T, sw2, sb2, q0, rtol)
    out[PhaseField.Q_STAR] = qs
    out[PhaseField.Q_STATUS] = np.int64(st)   # a Status member is not cast to float implicitly
    if st != Status.OK:
        return
    out[PhaseField.SLOPE], _st2 = length_map_slope(P, W, T, sw2, qs, rtol)
    v, _e, st1 = moment(P, W, T, Moment.DPHI2, qs, rtol)
    out[PhaseField.CHI1] = sw2 * v if st1 == Status.OK else np.nan
    v, _e, st3 = moment(P, W, T, Moment.D2PHI2, qs, rtol)
    out[PhaseField.CHI2] = sw2 * v if st3 == Status.OK else np.nan
    out[PhaseField.DEPTH] = convergence_depth(P, W, T, sw2, sb2, q0, qs, tol_depth, 1000, rtol)
    if not want_c or st1 != Status.OK:
        return
    cs, omc, chic, stc, _method = c_star_and_chi(P, W, T, sw2, qs, out[PhaseField.CHI1], rtol)
    out[PhaseField.C_STAR] = cs
    out[PhaseField.ONE_MINUS_C] = omc
    out[PhaseField.CHI_C] = chic
    out[PhaseField.C_STATUS] = np.int64(stc)


@njit(cache=True, nogil=True)
def phase_block(P, T, sw2, sb2, q0, tol_depth, rtol, want_c, out, k0, k1):
    """phase_point at the flat indices k0..k1-1 of the grid sw2[i] x sb2[j] into out[i, j, :]
    (without the GIL: meanfield.kernels.run_blocks runs blocks in threads).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : numpy.ndarray of shape (n_w,)
        The sigma_w^2 axis of the grid.
    sb2 : numpy.ndarray of shape (n_b,)
        The sigma_b^2 axis of the grid.
    q0, tol_depth, rtol : float
        As for :func:`phase_point`.
    want_c : bool
        As for :func:`phase_point`.
    out : numpy.ndarray of shape (n_w, n_b, len(PhaseField))
        Output, in the layout :class:`meanfield.codes.PhaseField`.
    k0, k1 : int
        The block: flat indices k = i n_b + j from k0 to k1 - 1.
    """
    nb = sb2.size
    for k in range(k0, k1):
        i = k // nb
        j = k % nb
        phase_point(P, T, sw2[i], sb2[j], q0, tol_depth, rtol, want_c, out[i, j])
