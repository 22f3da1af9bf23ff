"""Codes and layouts shared by the compiled kernels and the Python layer.

Everything that crosses the boundary between :mod:`meanfield.kernels` (Numba) and the
Python modules is named here: statuses, integrand kinds, the layout of a phase-diagram
point and of a Chebyshev table.  Numba compiles ``IntEnum`` members and ``NamedTuple``
instances directly, so the kernels use these very classes; nothing is a bare number.
:data:`STATUS_ERRORS` maps each failure status to the exception the Python layer raises.
"""
from __future__ import annotations

import math
from enum import Enum, IntEnum
from typing import NamedTuple

import numpy as np

from .errors import DivergentIntegralError, MeanFieldError, NoFixedPointError, NotConvergedError


class Status(IntEnum):
    """Status of a kernel result, and of a phase-diagram grid point (``PhaseDiagram.status``)."""
    OK = 0
    NOT_CONVERGED = 1         # adaptive quadrature or a root finder missed its tolerance
    NONFINITE = 2             # the integrand is not finite (overflow, singularity of phi)
    DIVERGENT = 3             # the integrand still matters at |z| = ZMAX: the expectation diverges
    Q_DIVERGES = 4            # no finite fixed point: q grows without bound
    Q_ZERO = 5                # q* = 0
    NEEDS_NESTED = 6          # internal: c* must come from the nested quadrature (kernels' c_star_nested)
    Q_UNRESOLVED = 7          # V(q) > q certified up to the returned q, unresolved above
    Q_DIVERGES_FROM_Q0 = 8    # (set by meanfield.phase) q diverges from q0, a stable fixed point lies below


#: Why each failure status arises, for messages and the legend of phase-diagram plots.
STATUS_REASONS = {
    Status.OK: "ok",
    Status.NOT_CONVERGED: "quadrature or root finding did not reach its tolerance",
    Status.NONFINITE: "integrand not finite (overflow of phi)",
    Status.DIVERGENT: "Gaussian integral diverges",
    Status.Q_DIVERGES: "no finite fixed point: q grows without bound with depth",
    Status.Q_ZERO: "q* = 0: inputs shrink to the origin, correlations undefined",
    Status.Q_UNRESOLVED: "V(q) > q as far as V is resolved, and V(q)/q -> slope < 1: a fixed point lies beyond",
    Status.Q_DIVERGES_FROM_Q0: "q grows without bound from q0, but a stable fixed point lies below q0 "
                               "(reached from a smaller q0)",
}

#: The exception the Python layer raises for each failure status of a kernel.
STATUS_ERRORS: dict[Status, type[MeanFieldError]] = {
    Status.NOT_CONVERGED: NotConvergedError,
    Status.NONFINITE: DivergentIntegralError,
    Status.DIVERGENT: DivergentIntegralError,
    Status.Q_DIVERGES: NoFixedPointError,
    Status.Q_DIVERGES_FROM_Q0: NoFixedPointError,
    Status.Q_UNRESOLVED: NotConvergedError,
    Status.NEEDS_NESTED: NotConvergedError,
}


class Kind(IntEnum):
    """Integrand g of a one-dimensional expectation E[g(m + s z)] (kernels' ``g1``)."""
    PHI2 = 0          # phi^2
    DPHI2 = 1         # phi'^2
    D2PHI2 = 2        # phi''^2
    PHI = 3           # phi (inner integrals of two-dimensional expectations)
    DPHI = 4          # phi'
    PHI2_ZZ = 5       # phi^2 (z^2 - 1): Stein's identity, for dV/dq
    DIFF2 = 6         # (phi(u) - p1)^2: inner integral of the gap 1 - c, free of cancellation
    D3PHI2 = 7        # phi'''^2: remainder bound of the Taylor gap
    ROT_GAP = 8       # E_b[(phi(a+b) - phi(a-b))^2 / 2] in rotated coordinates
    ROT_CHI = 9       # E_b[phi'(a+b) phi'(a-b)] in rotated coordinates


class Evaluation(Enum):
    """Which path produced a number (:mod:`meanfield.fast_path`): a closed form of the Gaussian
    averages of phi, or the certified adaptive quadrature of the compiled kernels."""
    CLOSED_FORM = "closed form"
    QUADRATURE = "certified quadrature"


class Order(IntEnum):
    """Which derivative of phi enters a two-dimensional expectation E[A(u1) B(u2)]."""
    PHI = 0
    DPHI = 1


class Moment(IntEnum):
    """Rows of a table's moments part: E[g(sqrt(q) z)] for these g."""
    PHI2 = 0          # E[phi^2]: the length map
    DPHI2 = 1         # E[phi'^2]: chi1
    D2PHI2 = 2        # E[phi''^2]: chi2
    PHI2_ZZ = 3       # E[phi^2 (z^2 - 1)]: the slope of the length map


class Method(IntEnum):
    """How c* and chi_c were computed (kernels' ``c_star_and_chi``)."""
    ORDERED = 0       # chi1 <= 1: c* = 1
    SERIES = 1        # Mehler series with a certified bound
    NESTED = 2        # nested adaptive quadrature
    ROTATED = 3       # adaptive quadrature in rotated coordinates


class PhaseField(IntEnum):
    """Layout of one phase-diagram point as the kernels' ``phase_point`` writes it (out[..., field])."""
    Q_STAR = 0
    Q_STATUS = 1
    SLOPE = 2             # dV/dq at q*
    CHI1 = 3
    CHI2 = 4
    C_STAR = 5
    ONE_MINUS_C = 6
    CHI_C = 7
    DEPTH = 8             # convergence depth of q
    C_STATUS = 9


N_PHASE_FIELDS = len(PhaseField)


class LayerField(IntEnum):
    """Layout of one layer-map point as the kernels' ``layer_point`` writes it."""
    Q = 0                 # q' (Poole eq. 3)
    C = 1                 # c' = q12'/q' (eq. 5)
    CHI_C = 2             # sigma_w^2 E[phi'(u1) phi'(u2)]
    STATUS = 3


class NestedField(IntEnum):
    """Layout of one point of the kernels' ``c_star_nested_block``."""
    C_STAR = 0
    ONE_MINUS_C = 1
    CHI_C = 2
    STATUS = 3


class TablePart(NamedTuple):
    """One part of a Chebyshev table in t = ln q (see :mod:`meanfield.kernels.tables`).

    ``coef[panel, k, row]`` is the k-th Chebyshev coefficient of row ``row`` on the panel
    [edges[panel], edges[panel + 1]]; ``err[panel]`` its relative error bound (inf: not tabulated).
    """
    edges: np.ndarray
    err: np.ndarray
    coef: np.ndarray

    @property
    def rows(self) -> int:
        """Number of tabulated functions (Hermite coefficients a_0..a_{rows-1} for the hermite part)."""
        return self.coef.shape[2]


class Table(NamedTuple):
    """A table of one nonlinearity: the four moments (:class:`Moment`) and the Hermite coefficients."""
    moments: TablePart
    hermite: TablePart


class MehlerSeries(NamedTuple):
    """Mehler series of phi(sqrt(q) z) to order N (kernels' ``mehler_series``)."""
    coef: np.ndarray      # Hermite coefficients a_0..a_N
    tail: float           # Parseval tail T_N = E[phi^2] - sum a_n^2 >= 0
    tail_err: float       # error bound of T_N
    dcoef: float          # error bound of each a_n


#: Most kinks (points where phi or a derivative is not smooth) a phi may have.
MAX_KINKS = 16


class PhiCode(NamedTuple):
    """One nonlinearity as the compiled kernels take it: the first argument ``P`` of every kernel.

    phi and its derivatives are Numba C callbacks of signature ``float64(float64)``, held here as
    their addresses: every phi then has the same type, so the kernels compile once for all of them
    and call phi through a pointer (:mod:`meanfield.kernels.fragments.phi_call`).  Built by
    :func:`meanfield.kernels.kernels_for`, whose module keeps the callbacks alive.
    """
    phi: int              # address of phi(x)
    dphi: int             # of phi'(x)
    d2phi: int            # of phi''(x)
    d3phi: int            # of phi'''(x), its regular part
    kinks: tuple          # MAX_KINKS floats: kinks[:n_kinks] are where phi or a derivative is not smooth
    n_kinks: int
    smooth3: bool         # phi''' has no Dirac delta

    @classmethod
    def of(cls, phi, dphi, d2phi, d3phi, kinks, smooth3: bool) -> PhiCode:
        """From four Numba ``cfunc`` objects (phi, phi', phi'', phi'''), the kinks, and whether
        phi''' is free of Dirac deltas.

        The kinks go into a fixed-size tuple so that every phi has the same type; a tuple rather
        than an array because the kernels pass ``P`` to every call (an array would cost a
        reference-count update on each, and converting it from Python more).

        Parameters
        ----------
        phi, dphi, d2phi, d3phi : numba.core.ccallback.CFunc
            Compiled ``float64(float64)`` callbacks of phi and its first three classical
            derivatives (d3phi: its regular part); only their ``address`` is kept, so the
            caller must keep them alive.
        kinks : sequence of float
            Points where phi or one of its derivatives is not smooth, at most :data:`MAX_KINKS`.
        smooth3 : bool
            True if phi''' has no Dirac delta.

        Returns
        -------
        PhiCode
            With ``kinks`` padded with NaN to :data:`MAX_KINKS` entries and ``n_kinks`` the
            number given.

        Raises
        ------
        ValueError
            If more than :data:`MAX_KINKS` kinks are given.
        """
        kinks = tuple(float(k) for k in kinks)
        if len(kinks) > MAX_KINKS:
            raise MeanFieldError(f"phi has {len(kinks)} kinks (points where it or a derivative is not smooth); the "
                                 f"compiled kernels take at most {MAX_KINKS} (meanfield.codes.MAX_KINKS): write phi "
                                 f"with fewer pieces")
        return cls(phi.address, dphi.address, d2phi.address, d3phi.address,
                   kinks + (math.nan,) * (MAX_KINKS - len(kinks)), len(kinks), bool(smooth3))
