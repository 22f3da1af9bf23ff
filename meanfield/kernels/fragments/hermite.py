"""Method 3 of docs/derivations.md Sec. 7, first half: the Hermite coefficients of phi(sqrt(q) z).

For u1, u2 of variance q and correlation c (Mehler's formula),
    E[phi(u1) phi(u2)] = sum_n c^n a_n^2,   a_n = E[phi(sqrt(q) z) He_n(z)] / sqrt(n!),
and Parseval gives the exact tail mass T_N = E[phi^2] - sum_{n<=N} a_n^2 >= 0, so the
truncation error of the series at c is at most |c|^(N+1) T_N: a certificate, not an estimate.
By Stein's identity E[phi'(u1) phi'(u2)] = sum_m m c^(m-1) a_m^2 / q.  The series itself is in
:mod:`.mehler`.
"""
import math

import numpy as np
from numba import njit

from .gk15 import EDGES, INV_SQRT_2PI, _edges
from .phi_call import phi

GL_X, GL_W = np.polynomial.legendre.leggauss(20)
HERMITE_Z = 12.5        # h_n(z) e^{-z^2/4} <= 1, so e^{-z^2/4} < 1e-16 bounds the rest


@njit(cache=True)
def hermite_coefficients(P, W, q, nmax, coef):
    """a_0..a_nmax of phi(sqrt(q) z) into coef[0:nmax+1] (composite 20-point Gauss-Legendre).

    a_n = E[phi(sqrt(q) z) He_n(z)] / sqrt(n!), the coefficients of Mehler's series (method 3 of
    docs/derivations.md Sec. 7).  Panels: the edges of expect1 (kinks, scales 1/sqrt(q)) on
    |z| <= HERMITE_Z = 12.5, refined to width <= 12/sqrt(2 nmax + 1), so that h_n (local
    wavenumber <= sqrt(2n+1)) is resolved.  The normalised Hermite recurrence
    h_{n+1} = (z h_n - sqrt(n) h_{n-1}) / sqrt(n+1) runs over all nodes at once (independent
    lanes vectorise; one node alone would wait on each step's latency).  No error estimate: the
    callers check the coefficients through Parseval's identity (:func:`mehler_series`).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    q : float
        The variance of the argument sqrt(q) z (>= 0).
    nmax : int
        The highest order N (>= 0).
    coef : numpy.ndarray of shape (>= nmax + 1,)
        Output: coef[n] = a_n for n = 0..nmax.
    """
    s = math.sqrt(q)
    none = np.empty(0)
    n_edges = _edges(P, W, 0.0, s, HERMITE_Z, none, none.size)
    dmax = 12.0 / math.sqrt(2.0 * nmax + 1.0)
    npieces = 0
    for p in range(n_edges - 1):
        npieces += max(1, math.ceil((W[EDGES, p + 1] - W[EDGES, p]) / dmax))
    nodes = npieces * GL_X.size
    z = np.empty(nodes)
    f = np.empty(nodes)
    k = 0
    for p in range(n_edges - 1):
        a = W[EDGES, p]
        b = W[EDGES, p + 1]
        m = max(1, math.ceil((b - a) / dmax))
        for piece in range(m):
            lo = a + (b - a) * piece / m
            hi = a + (b - a) * (piece + 1) / m
            c = 0.5 * (lo + hi)
            hw = 0.5 * (hi - lo)
            for j in range(GL_X.size):
                zz = c + hw * GL_X[j]
                z[k] = zz
                f[k] = phi(P, s * zz) * GL_W[j] * hw * math.exp(-0.5 * zz * zz) * INV_SQRT_2PI
                k += 1
    h0 = np.ones(nodes)
    h1 = z.copy()
    coef[0] = np.sum(f)
    if nmax >= 1:
        coef[1] = np.sum(f * z)
    for n in range(1, nmax):
        a_n = math.sqrt(n)
        b_n = 1.0 / math.sqrt(n + 1.0)
        acc = 0.0
        for i in range(nodes):
            h2 = (z[i] * h1[i] - a_n * h0[i]) * b_n
            h0[i] = h1[i]
            h1[i] = h2
            acc += f[i] * h2
        coef[n + 1] = acc
