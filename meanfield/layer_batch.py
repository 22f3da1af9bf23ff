"""One layer of the two-input maps on arrays of points: q', c', chi_c (Poole et al. eqs. 3, 5).

:func:`layer_map` evaluates, for inputs of squared length q per neuron and correlation c,

    q'    = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2                          (eq. 3)
    c'    = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q'                    (eq. 5)
    chi_c = sigma_w^2 E[phi'(u1) phi'(u2)]                   (slope of the C-map)

at every point of the broadcast arrays (sigma_w, sigma_b, q, c), from the closed form of phi
where it has one (:mod:`meanfield.fast_path`), else by the compiled kernels' ``layer_block``
(Mehler series or adaptive quadrature to ``rtol``, on all cores).  c' is computed as
1 - sigma_w^2 E[(phi(u1) - phi(u2))^2]/(2 q'), so it keeps full accuracy as c -> 1.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .codes import Evaluation, LayerField, Status
from .fast_path import closed_form_of, describe
from .nonlinearity import as_nonlinearity
from .quadrature import RTOL


class LayerMap(NamedTuple):
    r"""q', c', chi_c and a :class:`~meanfield.codes.Status` per point (arrays of the broadcast shape).

    ``chi_c`` is NaN everywhere where phi jumps (phi' has a Dirac delta).  ``one_minus_c`` is
    1 - c' computed directly on the closed-form path (on the quadrature path, 1 - c').  ``evaluation`` says
    which path produced the numbers, ``source`` names it in one line.

    Attributes
    ----------
    q : numpy.ndarray
        q' of the next layer, the length map (Poole et al. 2016, eq. 3).
    c : numpy.ndarray
        c' = q12'/q' of the next layer (eq. 5 divided by q').
    chi_c : numpy.ndarray
        :math:`\sigma_w^2 E[\phi'(u_1)\phi'(u_2)]`, the slope of the C-map (eq. 6) at (q, c).
    status : numpy.ndarray of int
        :class:`~meanfield.codes.Status` value per point (``OK``, ``NONFINITE``,
        ``NOT_CONVERGED``, ...).
    one_minus_c : numpy.ndarray
        1 - c'.
    evaluation : Evaluation
        ``Evaluation.CLOSED_FORM`` or ``Evaluation.QUADRATURE``.
    source : str
        The path line (:func:`meanfield.fast_path.describe`).
    """
    q: np.ndarray
    c: np.ndarray
    chi_c: np.ndarray
    status: np.ndarray
    one_minus_c: np.ndarray     # 1 - c', to full relative accuracy as c -> 1 on the closed-form path
    evaluation: Evaluation
    source: str


def layer_map(phi, sigma_w, sigma_b, q, c, rtol: float = RTOL, closed_form=True) -> LayerMap:
    """q', c' and chi_c of one layer at arrays of points (Poole et al. eqs. 3 and 5).

    Parameters
    ----------
    phi : str, sympy expression or Nonlinearity
        The nonlinearity.
    sigma_w, sigma_b : float or array_like
        Standard deviations (>= 0) of weights (times sqrt(N)) and biases.
    q : float or array_like
        Squared length per neuron of both inputs, > 0.
    c : float or array_like
        Their correlation, in [-1, 1].
    rtol : float
        Relative tolerance of the quadrature path (the closed forms are good to a few ulps).
    closed_form : bool or "derive"
        False forces the quadrature; see :class:`meanfield.MeanField`.

    Returns
    -------
    LayerMap
        Arrays of the broadcast shape, the status of each point and the path used.

    Raises
    ------
    ValueError
        If an input is not finite, sigma_w or sigma_b < 0, q <= 0, |c| > 1, or rtol not in (0, 1).
    """
    nl = as_nonlinearity(phi)
    sw, sb, qa, ca = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(sigma_w, sigma_b, q, c))
    for name, a, lo, hi in (("sigma_w", sw, 0.0, np.inf), ("sigma_b", sb, 0.0, np.inf), ("q", qa, 0.0, np.inf),
                            ("c", ca, -1.0, 1.0)):
        # two reductions per array (NaN fails every comparison); q > 0 and |c| <= 1 checked exactly
        if a.size and not (a.min() >= lo and a.max() <= hi and a.max() < np.inf and (name != "q" or a.min() > 0)):
            want = {"q": "> 0", "c": "in [-1, 1]"}.get(name, ">= 0 (a standard deviation)")
            raise ValueError(f"layer_map: every {name} must be finite and {want}")
    if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise ValueError(f"rtol must be a number in (0, 1), got {rtol!r}")
    shape = qa.shape
    sw2, sb2, qa, ca = (np.ascontiguousarray(v.ravel()) for v in (sw ** 2, sb ** 2, qa, ca))
    cf = closed_form_of(nl, closed_form)
    if cf is not None and cf.has("second", "gap"):
        omc = 1.0 - ca
        if cf.layer is not None:
            e2, g, x = cf.layer(qa, ca, omc)
        else:
            e2, g = cf.second(qa), cf.gap(qa, ca, omc)
            x = cf.cross_slope(qa, qa, ca, omc) if cf.has("cross_slope") else np.full(qa.shape, np.nan)
        qn = sw2 * e2 + sb2
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = sw2 * g / qn
        chic = sw2 * x
        status = np.where(np.isfinite(qn + gap), Status.OK, Status.NONFINITE).astype(int)
        res = (qn, 1.0 - gap, chic, status, gap)
        ev = Evaluation.CLOSED_FORM
    else:
        res = _quadrature(nl, sw2, sb2, qa, ca, float(rtol))
        ev = Evaluation.QUADRATURE
        cf = None
    return LayerMap(*(np.reshape(a, shape) for a in res), evaluation=ev, source=describe(cf))


def _quadrature(nl, sw2, sb2, q, c, rtol):
    """The kernels' layer_block on all cores, with Chebyshev tables over the q range at grid tolerances."""
    from .kernels import run_blocks
    from .kernels.tables import build_table, empty_table

    K = nl.kernels.module
    out = np.full((q.size, len(LayerField)), np.nan)
    if q.size == 0:
        return out[:, 0], out[:, 1], out[:, 2], np.zeros(0, dtype=int), out[:, 1]
    lo, hi = float(q.min()), float(q.max())
    table = build_table(K, lo, max(hi, lo * (1 + 1e-9))) if rtol >= K.TAB_USE_RTOL else empty_table(K)
    run_blocks(K.layer_block, q.size, table, sw2, sb2, q, c, rtol, out)
    status = np.where(np.isnan(out[:, LayerField.STATUS]), Status.NOT_CONVERGED, out[:, LayerField.STATUS])
    chic = out[:, LayerField.CHI_C] if not nl.delta_in_d1 else np.full(q.size, math.nan)
    return out[:, LayerField.Q], out[:, LayerField.C], chic, status.astype(int), 1.0 - out[:, LayerField.C]
