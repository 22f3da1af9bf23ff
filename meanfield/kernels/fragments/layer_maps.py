"""One layer of the two-input maps (q', c', chi_c) at given (q, c), and blocks of points.  The
layout of a point is :class:`meanfield.codes.LayerField`."""
import numpy as np
from numba import njit

from ...codes import Kind, LayerField, Order, Status
from .c_star import MEHLER_ORDERS
from .gk15 import workspace
from .integrands import ROT_MIN_RTOL, worse_status
from .mehler import mehler_chi, mehler_gap, mehler_series, tab_serves_series
from .nested2d import PRODUCT, expect2
from .q_star import length_map
from .rotated import expect_rotated


@njit(cache=True)
def layer_point(P, W, T, sw2, sb2, q, c, rtol, out):
    """One layer of the two-input maps at variances q11 = q22 = q and correlation c.

    out[LayerField] = q' (Poole et al. 2016, eq. 3), c' = q12'/q' (eqs. 5, 6),
    chi_c = sw2 E[phi'(u1) phi'(u2)] (the slope of the C-map at c, docs/derivations.md eq. D6),
    status.  Mehler series (method 3 of docs/derivations.md Sec. 7) when its certified error is
    below rtol, else adaptive quadrature (rotated coordinates, method 6, for smooth phi and
    c > 0; else nested, method 2).

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
        The squared length of both inputs (> 0).
    c : float
        Their correlation, in [-1, 1].
    rtol : float
        Relative tolerance.
    out : numpy.ndarray of shape (len(LayerField),)
        Output, in the layout :class:`meanfield.codes.LayerField`; the status as the float of a
        :class:`meanfield.codes.Status` value (C and CHI_C left as they were if the length map
        failed).
    """
    qn, _e, st = length_map(P, W, T, sw2, sb2, q, rtol)
    out[LayerField.Q] = qn
    out[LayerField.STATUS] = np.int64(st)   # a Status member is not cast to float implicitly
    if st != Status.OK:
        return
    e2 = (qn - sb2) / sw2 if sw2 > 0.0 else 0.0
    for nmax in MEHLER_ORDERS:
        # direct coefficients cost O(N^2): skip orders whose truncation cannot be small
        if abs(c) ** (nmax + 1) > 1e-3 and not tab_serves_series(T, q, nmax, rtol):
            continue
        S, st = mehler_series(P, W, T, q, nmax, rtol)
        if st != Status.OK:
            break
        gap, gb = mehler_gap(S, c, 1.0 - c)
        x, xb = mehler_chi(S, q, c)
        q12 = sw2 * (e2 - gap) + sb2
        if sw2 * gb <= rtol * abs(q12) and xb <= rtol * abs(x):
            out[LayerField.C] = q12 / qn
            out[LayerField.CHI_C] = sw2 * x
            return
    if P.n_kinks == 0 and rtol >= ROT_MIN_RTOL and c > 0.0:
        gap, _e, st = expect_rotated(P, W, Kind.ROT_GAP, q, 1.0 - c, rtol)
        x, _e, st2 = expect_rotated(P, W, Kind.ROT_CHI, q, 1.0 - c, rtol)
        if st == Status.OK and st2 == Status.OK:
            out[LayerField.C] = (sw2 * (e2 - gap) + sb2) / qn
            out[LayerField.CHI_C] = sw2 * x
            return
    v, _e, st = expect2(P, Order.PHI, Order.PHI, PRODUCT, q, q, c, 1.0 - c, rtol)
    x, _e, st2 = expect2(P, Order.DPHI, Order.DPHI, PRODUCT, q, q, c, 1.0 - c, rtol)
    out[LayerField.C] = (sw2 * v + sb2) / qn
    out[LayerField.CHI_C] = sw2 * x
    out[LayerField.STATUS] = worse_status(st, st2)


@njit(cache=True, nogil=True)
def layer_block(P, T, sw2, sb2, q, c, rtol, out, i0, i1):
    """layer_point at points i0..i1-1 into out[i, LayerField] (without the GIL, as phase_block).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2, sb2, q, c : numpy.ndarray of shape (n,)
        Per point: sigma_w^2, sigma_b^2, the squared length and the correlation, as for
        :func:`layer_point`.
    rtol : float
        Relative tolerance.
    out : numpy.ndarray of shape (n, len(LayerField))
        Output, in the layout :class:`meanfield.codes.LayerField`.
    i0, i1 : int
        The block: points i0..i1-1 (:func:`meanfield.kernels.run_blocks`).
    """
    W = workspace()
    for i in range(i0, i1):
        layer_point(P, W, T, sw2[i], sb2[i], q[i], c[i], rtol, out[i])
