# Quadrature kernels for one nonlinearity.
#
# This file is a template, not an importable module: meanfield.kernels writes a
# module that starts with the nonlinearity's scalar functions `phi`, `dphi`,
# `d2phi` and the tuple `KINKS`, followed by this text, and imports it.  Numba then
# caches the compiled code on disk, keyed by that file.
#
# Method.  Every Gaussian expectation E[g(m + s z)], z ~ N(0, 1), is computed by
# globally adaptive Gauss-Kronrod (7/15) quadrature in z on [-Z, Z]:
#   * initial panel edges at the kinks of g (mapped to z), at the scale points
#     (t - m)/s for t in +-{1/4, ..., 64} (so that features of width ~1/s in z are
#     resolved even when s = sqrt(q) is large) and every 4.5 units of z;
#   * the panel with the largest |K15 - G7| is bisected until the summed error
#     estimate is below max(rtol |I|, atol_scale * int |integrand|);
#   * Z starts at 9 and grows while the integrand at +-Z is not negligible (heavy
#     or shifted tails); beyond ZMAX the integral is reported as divergent.
# Two-dimensional expectations E[A(u1) B(u2)] integrate z1 adaptively with an
# adaptive inner integral over z2 given z1 (u2 | u1 is Gaussian), so that kinks of
# B are split exactly in the inner integral.  Near c = 1 and for smooth phi, the
# C-map is integrated in rotated coordinates instead (expect_rotated).
#
# The C-map at equal variances, c* and chi_c come from Mehler's series with an exact
# truncation bound where it certifies them, and grids evaluate one-dimensional
# quantities from Chebyshev tables in ln q (meanfield/kernels/tables.py).  The
# sections below follow that order; docs/derivations.md Sec. 7 has the mathematics.
#
# Status codes: 0 ok, 1 not converged, 2 non-finite integrand, 3 tail not
# negligible at ZMAX (divergent or too heavy-tailed); for fixed points also 4 q diverges,
# 5 q* = 0, 7 unresolved growth (see "fixed points and phase-diagram points").

import math

import numpy as np
from numba import njit

XGK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                0.207784955007898467600689403773245, 0.000000000000000000000000000000000])
WGK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
               0.381830050505118944950369775488975, 0.417959183673469387755102040816327])
# Geometric, up to where a residual decaying like e^{-|u|} (sigmoid, swish) is below
# rounding: a panel's first GK15 node lies 0.43 % of its width inside, so a boundary layer
# of width 1/s at the start of a much wider panel would go unseen, error estimate included.
SCALES = np.array([0.25, 1.0, 4.0, 16.0, 64.0])
KINK_ARR = np.array(KINKS, dtype=np.float64)
UNIFORM_STEP = 4.5
INV_SQRT_2PI = 0.3989422804014327
Z0 = 9.0
ZMAX = 45.0
MAXPANELS = 400
INNER_RTOL = 0.1   # inner integrals 10x tighter, so their errors don't use up the outer budget
EDGES, FV, PA, PB, PV, PE, PABS = 0, 1, 2, 3, 4, 5, 6   # workspace rows

# Integer switches are np.int64, not Python ints: Numba compiles a separate copy of a
# function (and of everything it calls) for every Python int literal it is passed.
# integrand kinds for one-dimensional expectations
PHI2, DPHI2, D2PHI2, PHI_D2PHI, PHI, DPHI, D2PHI, PHI2_ZZ, DIFF2, D3PHI2 = np.arange(10)
ROT_GAP, ROT_CHI = np.arange(10, 12)   # outer integrands in rotated coordinates (see _rotated_inner)
ORDER0, ORDER1 = np.arange(2)          # phi, phi' in two-dimensional expectations
GAP, PRODUCT = np.bool_(True), np.bool_(False)


@njit(cache=True)
def _sigmoid(t):
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


@njit(cache=True)
def _softplus(t):
    return max(t, 0.0) + math.log1p(math.exp(-abs(t)))


@njit(cache=True)
def deriv(order, u):
    """phi, phi' or phi'' at u."""
    if order == 0:
        return phi(u)
    if order == 1:
        return dphi(u)
    return d2phi(u)


@njit(cache=True)
def g1(kind, u, z, p1, p2):
    """One-dimensional integrands g(u).

    PHI2_ZZ is phi^2 (z^2 - 1) (Stein's identity, for dV/dq); DIFF2 is
    (phi(u) - p1)^2 (the inner integral of 1 - c, free of cancellation); ROT_GAP and
    ROT_CHI are inner integrals in rotated coordinates (p1 = sb, p2 = tau, see
    _rotated_inner).
    """
    if kind == PHI2:
        v = phi(u)
        return v * v
    if kind == DPHI2:
        v = dphi(u)
        return v * v
    if kind == D2PHI2:
        v = d2phi(u)
        return v * v
    if kind == PHI_D2PHI:
        return phi(u) * d2phi(u)
    if kind == PHI:
        return phi(u)
    if kind == DPHI:
        return dphi(u)
    if kind == D2PHI:
        return d2phi(u)
    if kind == PHI2_ZZ:
        v = phi(u)
        return v * v * (z * z - 1.0)
    if kind == D3PHI2:
        v = d3phi(u)
        return v * v
    if kind >= ROT_GAP:
        return _rotated_inner(kind, u, z, p1, p2)
    v = phi(u) - p1
    return v * v


# Rotated coordinates for u1, u2 of variance q and correlation c = 1 - omc:
#     u1 = a + b, u2 = a - b,  a ~ N(0, q (2 - omc)/2), b ~ N(0, q omc/2) independent.
# Near c = 1 the spread sb of b is small next to the scale on which smooth phi varies,
# so the integral over b is done by Gauss-Hermite rules, checked against each other
# at every a, and the integral over a by the adaptive 1D quadrature.
_GH1 = np.polynomial.hermite_e.hermegauss(24)
_GH2 = np.polynomial.hermite_e.hermegauss(32)
ROT_X1 = _GH1[0][12:].copy()                      # the integrands are even in b: positive half
ROT_W1 = 2.0 * _GH1[1][12:] / math.sqrt(2.0 * math.pi)
ROT_X2 = _GH2[0][16:].copy()
ROT_W2 = 2.0 * _GH2[1][16:] / math.sqrt(2.0 * math.pi)
ROT_AGREE = 1e-12   # above rounding in phi(a+b) - phi(a-b); so the path serves rtol >= 1e-11
ROT_MIN_RTOL = 1e-11


@njit(cache=True)
def _rotated_f(kind, a, b):
    if kind == ROT_GAP:
        d = phi(a + b) - phi(a - b)
        return 0.5 * d * d
    return dphi(a + b) * dphi(a - b)


@njit(cache=True)
def _rotated_inner(kind, a, z, sb, tau):
    """E_b[f(a, b)], b ~ N(0, sb^2), for f = (phi(a+b) - phi(a-b))^2 / 2 (ROT_GAP) or
    phi'(a+b) phi'(a-b) (ROT_CHI), at a = sa z.  Gauss-Hermite with 24 and 32 nodes; NaN
    (which makes the caller fall back) unless they agree to ROT_AGREE of E_b|f| or, where
    the Gaussian weight of z makes the point negligible (rounding in phi may dominate
    there), to tau e^{z^2/2}, tau being ROT_AGREE times the size of the whole integral."""
    v1 = 0.0
    for i in range(ROT_X1.size):
        v1 += ROT_W1[i] * _rotated_f(kind, a, sb * ROT_X1[i])
    v2 = 0.0
    s2 = 0.0
    for i in range(ROT_X2.size):
        f = _rotated_f(kind, a, sb * ROT_X2[i])
        v2 += ROT_W2[i] * f
        s2 += ROT_W2[i] * abs(f)
    if abs(v2 - v1) > ROT_AGREE * s2 and abs(v2 - v1) > tau * math.exp(min(0.5 * z * z, 700.0)):
        return np.nan
    return v2


@njit(cache=True)
def expect_rotated(W, kind, q, omc, rtol):
    """E[(phi(u1) - phi(u2))^2]/2 (ROT_GAP) or E[phi'(u1) phi'(u2)] (ROT_CHI) at variance q,
    correlation 1 - omc, in rotated coordinates; (value, error, status), status 2 where the
    Gauss-Hermite rules across the diagonal disagree (sb too wide for phi).

    Size of the result, for the inner rules' absolute floor: E[phi'^2] for ROT_CHI, and
    (1 - c) q E[phi'^2] (its first order in 1 - c) for ROT_GAP.
    """
    sa = math.sqrt(0.5 * q * (2.0 - omc))
    sb = math.sqrt(0.5 * q * omc)
    d1, e, vabs, st = expect1w(W, DPHI2, 0.0, math.sqrt(q), 0.0, 0.0, 1e-3, 1e-15, 0.0)
    size = d1 if kind == ROT_CHI else omc * q * d1
    v, e, vabs, st = expect1w(W, kind, 0.0, sa, sb, ROT_AGREE * size, rtol, 1e-15, 0.0)
    return v, e, st


@njit(cache=True)
def workspace():
    """Scratch memory for one adaptive integration (allocated once, reused)."""
    return np.empty((7, MAXPANELS))


@njit(cache=True)
def _add_edge(W, n, z, Z):
    if -Z < z < Z:
        W[EDGES, n] = z
        return n + 1
    return n


@njit(cache=True)
def _edges(W, m, s, Z, extra, n_extra):
    """Sorted initial panel edges in z (into W[EDGES]) for features located in u = m + s z.

    Features: the kinks, 0 and +-SCALES in u, extra points in z, and a uniform
    grid in z.  Returns the number of edges.
    """
    n = 0
    W[EDGES, n] = -Z
    n += 1
    t = -Z + UNIFORM_STEP
    while t < Z - 1e-9:
        W[EDGES, n] = t
        n += 1
        t += UNIFORM_STEP
    W[EDGES, n] = Z
    n += 1
    if s > 0.0:
        for k in KINK_ARR:
            n = _add_edge(W, n, (k - m) / s, Z)
        n = _add_edge(W, n, -m / s, Z)
        for sc in SCALES:
            n = _add_edge(W, n, (sc - m) / s, Z)
            n = _add_edge(W, n, (-sc - m) / s, Z)
    for i in range(n_extra):
        n = _add_edge(W, n, extra[i], Z)
    # insertion sort (n is small), then drop near-duplicates
    for i in range(1, n):
        v = W[EDGES, i]
        j = i - 1
        while j >= 0 and W[EDGES, j] > v:
            W[EDGES, j + 1] = W[EDGES, j]
            j -= 1
        W[EDGES, j + 1] = v
    k = 1
    for i in range(1, n):
        if W[EDGES, i] - W[EDGES, k - 1] > 1e-12 * Z:
            W[EDGES, k] = W[EDGES, i]
            k += 1
    W[EDGES, k - 1] = Z
    return k


@njit(cache=True)
def _combine(fv):
    """GK15 sum, QUADPACK error estimate and sum of |f| from 15 values (pairs, then centre).

    The error estimate is that of QUADPACK's qk15 (Piessens et al. 1983):
    resasc * min(1, (200 |K15 - G7| / resasc)^1.5).
    """
    resk = WGK[7] * fv[14]
    resg = WG[3] * fv[14]
    resabs = WGK[7] * abs(fv[14])
    for j in range(7):
        pair = fv[2 * j] + fv[2 * j + 1]
        resk += WGK[j] * pair
        resabs += WGK[j] * (abs(fv[2 * j]) + abs(fv[2 * j + 1]))
        if j % 2 == 1:
            resg += WG[j // 2] * pair
    mean = 0.5 * resk
    asc = WGK[7] * abs(fv[14] - mean)
    for j in range(7):
        asc += WGK[j] * (abs(fv[2 * j] - mean) + abs(fv[2 * j + 1] - mean))
    err = abs(resk - resg)
    if asc != 0.0 and err != 0.0:
        err = asc * min(1.0, (200.0 * err / asc) ** 1.5)
    return resk, err, resabs


@njit(cache=True)
def _node(i, c, h):
    """z of the i-th GK15 node on the panel centred at c with half-width h."""
    if i == 14:
        return c
    return c + (2 * (i % 2) - 1) * h * XGK[i // 2]


@njit(cache=True)
def _weight(i):
    return WGK[7] if i == 14 else WGK[i // 2]


@njit(cache=True)
def _gk15_1d(W, kind, m, s, p1, p2, a, b):
    """(K15, error estimate, K15 of |g|) of g(m + s z) pdf(z) on [a, b]."""
    c = 0.5 * (a + b)
    h = 0.5 * (b - a)
    for i in range(15):
        z = _node(i, c, h)
        W[FV, i] = g1(kind, m + s * z, z, p1, p2) * math.exp(-0.5 * z * z)
    resk, err, resabs = _combine(W[FV])
    scale = h * INV_SQRT_2PI
    return resk * scale, err * scale, resabs * scale


@njit(cache=True)
def _store(W, i, a, b, v, e, ab):
    W[PA, i] = a
    W[PB, i] = b
    W[PV, i] = v
    W[PE, i] = e
    W[PABS, i] = ab


@njit(cache=True)
def _totals(W, n):
    """Sum of panel values, errors and |values|, and the panel with the largest error."""
    tot = 0.0
    err = 0.0
    tabs = 0.0
    worst = 0
    for i in range(n):
        tot += W[PV, i]
        err += W[PE, i]
        tabs += W[PABS, i]
        if W[PE, i] > W[PE, worst]:
            worst = i
    return tot, err, tabs, worst


@njit(cache=True)
def _adapt_1d(W, kind, m, s, p1, p2, n_edges, rtol, atol_scale, atol):
    """Globally adaptive GK15 over the panels in W[EDGES]; returns (I, err, Iabs, status)."""
    n = n_edges - 1
    for i in range(n):
        a = W[EDGES, i]
        b = W[EDGES, i + 1]
        v, e, ab = _gk15_1d(W, kind, m, s, p1, p2, a, b)
        _store(W, i, a, b, v, e, ab)
    while True:
        tot, err, tabs, worst = _totals(W, n)
        if not math.isfinite(tot):
            return np.nan, np.inf, np.nan, 2
        if err <= max(rtol * abs(tot), atol_scale * tabs, atol):
            return tot, err, tabs, 0
        a = W[PA, worst]
        b = W[PB, worst]
        mid = 0.5 * (a + b)
        if n + 1 > MAXPANELS or mid <= a or mid >= b:
            return tot, err, tabs, 1
        v1, e1, ab1 = _gk15_1d(W, kind, m, s, p1, p2, a, mid)
        v2, e2, ab2 = _gk15_1d(W, kind, m, s, p1, p2, mid, b)
        _store(W, worst, a, mid, v1, e1, ab1)
        _store(W, n, mid, b, v2, e2, ab2)
        n += 1


@njit(cache=True)
def _tail_negligible(kind, m, s, p1, p2, Z, total_abs, tol, atol):
    """Is the mass of g(m + s z) pdf(z) beyond |z| = Z below tol * total?  (Mills ratio.)"""
    for sign in (-1.0, 1.0):
        z = sign * Z
        f = abs(g1(kind, m + s * z, z, p1, p2)) * math.exp(-0.5 * z * z) * INV_SQRT_2PI
        if not math.isfinite(f):
            return False
        # a slowly varying g has tail mass about f / Z; a g growing faster than the
        # Gaussian decays (f_out > f) is not negligible however small f is
        zo = z + sign
        f_out = abs(g1(kind, m + s * zo, zo, p1, p2)) * math.exp(-0.5 * zo * zo) * INV_SQRT_2PI
        if not math.isfinite(f_out) or f_out > f:
            return False
        if f / Z > max(tol * total_abs, atol, 1e-300):
            return False
    return True


@njit(cache=True)
def expect1w(W, kind, m, s, p1, p2, rtol, atol_scale, atol):
    """E[g(m + s z)], z ~ N(0,1), using workspace W; returns (value, error, E|g|, status).

    p1, p2: parameters of the integrand (see g1).  Converged when the error estimate is below max(rtol |I|, atol_scale E|g|, atol).
    """
    Z = Z0
    extra = np.empty(0)
    while True:
        n_edges = _edges(W, m, s, Z, extra, extra.size)
        v, err, vabs, status = _adapt_1d(W, kind, m, s, p1, p2, n_edges, rtol, atol_scale, atol)
        if status == 2:
            return v, err, vabs, 2
        if _tail_negligible(kind, m, s, p1, p2, Z, vabs, 0.1 * rtol, 0.1 * atol):
            return v, err, vabs, status
        if Z >= ZMAX:
            return v, err, vabs, 3
        Z = min(ZMAX, Z + 6.0)


@njit(cache=True)
def expect1(kind, m, s, rtol, atol_scale):
    """E[g(m + s z)], z ~ N(0,1); returns (value, error estimate, status)."""
    v, err, vabs, status = expect1w(workspace(), kind, m, s, 0.0, 0.0, rtol, atol_scale, 0.0)
    return v, err, status


# --- two-dimensional expectations --------------------------------------------

@njit(cache=True)
def _outer_f(Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, z1, rtol, atol):
    """Outer integrand at z1 (without the Gaussian weight): (value, error, |.| scale, status).

    diff=False: A(u1) E[B(u2) | u1].  diff=True: E[(phi(u2) - phi(u1))^2 | u1] / 2,
    integrated as such (never as a difference of large terms).  u2 | u1 is
    Gaussian with mean sq22 c z1 and standard deviation sq22 sc, so the inner
    integral is a one-dimensional expectation whose kinks are split exactly.
    """
    u1 = sq11 * z1
    mu = sq22 * c * z1
    sig = sq22 * sc
    if not diff:
        a = deriv(kind_a, u1)
        if a == 0.0:
            return 0.0, 0.0, 0.0, 0
        if sig == 0.0:
            v = deriv(kind_b, mu)
            return a * v, 0.0, abs(a * v), 0
        v, e, vabs, st = expect1w(Wi, PHI + kind_b, mu, sig, 0.0, 0.0, INNER_RTOL * rtol, 1e-15,
                                  INNER_RTOL * atol / abs(a))
        return a * v, abs(a) * e, abs(a) * vabs, st
    p1 = phi(u1)
    if sig == 0.0:
        d = phi(mu) - p1
        return 0.5 * d * d, 0.0, 0.5 * d * d, 0
    v, e, vabs, st = expect1w(Wi, DIFF2, mu, sig, p1, 0.0, INNER_RTOL * rtol, 1e-15, 2.0 * INNER_RTOL * atol)
    return 0.5 * v, 0.5 * e, 0.5 * vabs, st


@njit(cache=True)
def _gk15_2d(Wo, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, a, b, rtol, atol):
    """One outer GK15 panel; inner error estimates are added to the panel's error."""
    cc = 0.5 * (a + b)
    h = 0.5 * (b - a)
    inner_err = 0.0
    resabs = 0.0
    status = 0
    for i in range(15):
        z = _node(i, cc, h)
        f, fe, fabs, st = _outer_f(Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, z, rtol, atol)
        status = max(status, st)
        wz = math.exp(-0.5 * z * z)
        Wo[FV, i] = f * wz
        inner_err += _weight(i) * fe * wz
        resabs += _weight(i) * fabs * wz
    resk, err, _ = _combine(Wo[FV])
    scale = h * INV_SQRT_2PI
    if not math.isfinite(resk):
        status = 2
    return resk * scale, (err + inner_err) * scale, resabs * scale, status


TAYLOR_MAX_OMC = 1e-3


@njit(cache=True)
def _gap_taylor(W, q, e, rtol):
    """E[(phi(u1) - phi(u2))^2]/2 at correlation c = 1 - e, to second order in e.

    From Mehler's series, gap = sum_n (1 - (1-e)^n) a_n^2 with
    1 - (1-e)^n = n e - C(n,2) e^2 + R_n, 0 <= R_n <= C(n,3) e^3, and Stein's identity
    sum_n n!/(n-k)! a_n^2 = q^k E[phi^(k)(u)^2]:
        gap = e q E[phi'^2] - e^2 q^2 E[phi''^2] / 2 + R,  0 <= R <= e^3 q^3 E[phi'''^2] / 6.
    Every term is a one-dimensional integral, so nearly equal values of phi are never
    subtracted.  Returns (value, certified error bound, accepted).
    """
    s = math.sqrt(q)
    r = 0.01 * rtol
    d1, e1, a1, st1 = expect1w(W, DPHI2, 0.0, s, 0.0, 0.0, r, 1e-15, 0.0)
    d2, e2, a2, st2 = expect1w(W, D2PHI2, 0.0, s, 0.0, 0.0, r, 1e-15, 0.0)
    d3, e3, a3, st3 = expect1w(W, D3PHI2, 0.0, s, 0.0, 0.0, 1e-3, 1e-15, 0.0)
    if st1 != 0 or st2 != 0 or st3 != 0:
        return 0.0, np.inf, False
    val = e * q * d1 - 0.5 * e * e * q * q * d2
    rem = e ** 3 * q ** 3 * d3 * (1.0 + 1e-2) / 6.0
    bound = 0.5 * rem + 0.02 * rtol * abs(val)
    return val + 0.5 * rem, bound, val > 0.0 and bound <= rtol * val


@njit(cache=True)
def _scale2(W, kind_a, kind_b, diff, sq11, sq22, omc):
    """Size of the 2D result, for absolute tolerances of the inner integrals.

    Product mode: sqrt(E[A^2] E[B^2]) (Cauchy-Schwarz bound).  Difference mode:
    min(E[phi^2] of both, (1 - c) sqrt(q11 q22) sqrt(E[phi'^2] E[phi'^2])), the size of
    E[(phi(u1) - phi(u2))^2]/2 for nearby points, so 1 - c' keeps relative accuracy.
    """
    r = 1e-3
    if not diff:
        a, e, aa, st = expect1w(W, kind_a, 0.0, sq11, 0.0, 0.0, r, 1e-15, 0.0)
        b, e, ab, st = expect1w(W, kind_b, 0.0, sq22, 0.0, 0.0, r, 1e-15, 0.0)
        return math.sqrt(abs(a * b))
    p1, e, a1, st = expect1w(W, PHI2, 0.0, sq11, 0.0, 0.0, r, 1e-15, 0.0)
    p2, e, a2, st = expect1w(W, PHI2, 0.0, sq22, 0.0, 0.0, r, 1e-15, 0.0)
    d1, e, a3, st = expect1w(W, DPHI2, 0.0, sq11, 0.0, 0.0, r, 1e-15, 0.0)
    d2, e, a4, st = expect1w(W, DPHI2, 0.0, sq22, 0.0, 0.0, r, 1e-15, 0.0)
    return min(0.5 * (p1 + p2), omc * sq11 * sq22 * math.sqrt(d1 * d2))


@njit(cache=True)
def _expect2_independent(W, kind_a, kind_b, diff, q11, q22, rtol):
    """c = 0: u1, u2 independent, so the double integral factorises into 1D ones."""
    s1 = math.sqrt(q11)
    s2 = math.sqrt(q22)
    if not diff:
        a, ea, aa, sta = expect1w(W, PHI + kind_a, 0.0, s1, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
        b, eb, ab, stb = expect1w(W, PHI + kind_b, 0.0, s2, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
        return a * b, abs(a) * eb + abs(b) * ea + ea * eb + 1e-16 * aa * ab, max(sta, stb)
    # E[(phi(u1) - phi(u2))^2]/2 = (E phi(u1)^2 + E phi(u2)^2)/2 - E phi(u1) E phi(u2)
    m1, e1, a1, st1 = expect1w(W, PHI, 0.0, s1, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
    m2, e2, a2, st2 = expect1w(W, PHI, 0.0, s2, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
    p1, f1, b1, st3 = expect1w(W, PHI2, 0.0, s1, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
    p2, f2, b2, st4 = expect1w(W, PHI2, 0.0, s2, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
    v = 0.5 * (p1 + p2) - m1 * m2
    err = 0.5 * (f1 + f2) + abs(m1) * e2 + abs(m2) * e1 + 1e-16 * (p1 + p2)
    return v, err, max(st1, st2, st3, st4)


@njit(cache=True)
def expect2(kind_a, kind_b, diff, q11, q22, c, omc, rtol):
    """E[A(u1) B(u2)] (or E[(phi(u1)-phi(u2))^2]/2 if diff) for u ~ N(0, [[q11, r], [r, q22]]).

    r = c sqrt(q11 q22); ``omc`` = 1 - c supplied separately so that the
    conditional width sqrt(q22 (1-c)(1+c)) keeps full relative accuracy near c = 1.
    Returns (value, error estimate, status).
    """
    Wo = workspace()
    Wi = workspace()
    if diff and q11 == q22 and omc < TAYLOR_MAX_OMC and SMOOTH3:
        v, bound, ok = _gap_taylor(Wi, q11, omc, rtol)
        if ok:
            return v, bound, 0
    if c == 0.0:
        return _expect2_independent(Wo, kind_a, kind_b, diff, q11, q22, rtol)
    sq11 = math.sqrt(q11)
    sq22 = math.sqrt(q22)
    sc = math.sqrt(max(omc, 0.0) * (2.0 - omc))
    sig = sq22 * sc
    atol = rtol * _scale2(Wi, kind_a, kind_b, diff, sq11, sq22, omc)
    # outer breakpoints: kinks of A at k/sq11, and where the inner mean crosses a
    # kink (the inner integral changes over a width ~ sig there)
    extra = np.empty(6 * KINK_ARR.size)
    ne = np.int64(0)
    for k in KINK_ARR:
        if sq11 > 0.0:
            extra[ne] = k / sq11
            ne += 1
        if c != 0.0 and sq22 > 0.0:
            for off in (0.0, -2.0, 2.0, -8.0, 8.0):
                extra[ne] = (k + off * sig) / (sq22 * c)
                ne += 1
    n = _edges(Wo, 0.0, sq11, Z0, extra, ne) - 1
    status = 0
    for i in range(n):
        a = Wo[EDGES, i]
        b = Wo[EDGES, i + 1]
        v, e, ab, st = _gk15_2d(Wo, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, a, b, rtol, atol)
        status = max(status, st)
        _store(Wo, i, a, b, v, e, ab)
    while True:
        tot, err, tabs, worst = _totals(Wo, n)
        if status == 2 or not math.isfinite(tot):
            return np.nan, np.inf, 2
        if err <= max(rtol * abs(tot), 1e-15 * tabs, 0.1 * atol):
            return tot, err, status
        a = Wo[PA, worst]
        b = Wo[PB, worst]
        mid = 0.5 * (a + b)
        if n + 1 > MAXPANELS or mid <= a or mid >= b:
            return tot, err, max(status, 1)
        v1, e1, ab1, st1 = _gk15_2d(Wo, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, a, mid, rtol, atol)
        v2, e2, ab2, st2 = _gk15_2d(Wo, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, mid, b, rtol, atol)
        status = max(status, st1, st2)
        _store(Wo, worst, a, mid, v1, e1, ab1)
        _store(Wo, n, mid, b, v2, e2, ab2)
        n += 1


# --- fixed points and phase-diagram points ------------------------------------
# status codes of a phase point (documented in meanfield.phase)
OK, Q_DIVERGES, Q_ZERO, NOT_CONVERGED, NONFINITE, DIVERGENT = 0, 4, 5, 1, 2, 3
NEEDS_NESTED = 6     # internal: c* must come from c_star_nested
Q_DIVERGES_FROM_Q0 = 8   # (set by meanfield.phase) q diverges from q0 but a stable fixed point lies below
Q_UNRESOLVED = 7     # V(q) > q certified up to the returned q; above it V(q) - q is not resolved
#                      (quadrature fails or |V - q| is below V's error): meanfield decides from
#                      the asymptotic slope of V (meanfield.mean_field.growth_verdict)
V_ROUNDING = 2e-15   # relative rounding floor added to V's error bound when certifying a sign


# --- Chebyshev tables in t = ln q ----------------------------------------------
# A grid of phase-diagram points asks for the same one-dimensional expectations at
# thousands of q values.  They are smooth functions of t = ln q (also for kinked phi:
# the Gaussian smooths the kinks), so meanfield.kernels.tables builds, once per grid,
# piecewise Chebyshev interpolants of degree TAB_DEG on panels of ln q, each panel
# accepted only when its last Chebyshev coefficients and the interpolant at two
# points off the nodes (checked against quadrature) agree to TAB_TOL times the scale
# of each function.  A table T = (moments, hermite); each part (edges, err, coef)
# holds coef[panel, k, row] and the panel's relative error bound err[panel] (inf: not
# tabulated there):
#   moments, rows 0..3: E[g(sqrt(q) z)] for g = phi^2, phi'^2, phi''^2, phi^2 (z^2 - 1)
#                       (scale E|g|);
#   hermite, rows 0..TAB_HERMITE: Hermite coefficients a_n (scale sqrt(E[phi^2])), for
#                       smooth phi only (for kinked phi a_n(q) oscillates in ln q once n
#                       is large, and the series needs more terms than tabulated anyway).
# A table serves callers whose rtol is at least TAB_USE_RTOL; everything else (and
# q outside the table, panels that failed) goes to the adaptive quadrature.
TAB_DEG = 32
TAB_TOL = 3e-14
TAB_USE_RTOL = 1e-12
TAB_KINDS = np.array([PHI2, DPHI2, D2PHI2, PHI2_ZZ])
TAB_NMOM = 4
TAB_HERMITE = 0 if KINKS else 256
TAB_E2, TAB_D1, TAB_D2, TAB_ZZ = np.arange(4)


@njit(cache=True)
def tab_sample(q, hermite, vals, scales):
    """One table row at q (moments, or Hermite coefficients if ``hermite``) into vals,
    with the scale of each entry; returns a status."""
    W = workspace()
    s = math.sqrt(q)
    if hermite:
        v, e, vabs, st = expect1w(W, PHI2, 0.0, s, 0.0, 0.0, 1e-14, 1e-16, 0.0)
        if st != 0 or not math.isfinite(v):
            return max(st, 2)
        hermite_coefficients(W, q, vals.size - 1, vals)
        for r in range(vals.size):
            scales[r] = math.sqrt(v)
        return 0
    for r in range(TAB_NMOM):
        v, e, vabs, st = expect1w(W, TAB_KINDS[r], 0.0, s, 0.0, 0.0, 1e-14, 1e-16, 0.0)
        if st != 0 or not math.isfinite(v):
            return max(st, 2)
        vals[r] = v
        scales[r] = vabs
    return 0


@njit(cache=True, nogil=True)
def tab_sample_block(q, hermite, vals, scales, status, i0, i1):
    """tab_sample at q[i0:i1] (without the GIL: meanfield.kernels.run_blocks runs blocks in threads)."""
    for i in range(i0, i1):
        status[i] = tab_sample(q[i], hermite, vals[i], scales[i])


@njit(cache=True)
def tab_locate(T, q, rtol):
    """(panel, x in [-1, 1], relative error bound) of q in table part T = (edges, err, coef),
    or (-1, 0, inf) when T does not serve q at this rtol."""
    edges, err, coef = T
    n = edges.size - 1
    if rtol < TAB_USE_RTOL or not q > 0.0:
        return -1, 0.0, np.inf
    t = math.log(q)
    if not (edges[0] <= t <= edges[n]):
        return -1, 0.0, np.inf
    lo = 0
    hi = n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if edges[mid] <= t:
            lo = mid
        else:
            hi = mid
    if not err[lo] < np.inf:
        return -1, 0.0, np.inf
    a = edges[lo]
    b = edges[lo + 1]
    return lo, (2.0 * t - a - b) / (b - a), err[lo]


@njit(cache=True)
def tab_values(T, p, x, r0, r1, out):
    """Rows r0..r1-1 of table part T on panel p at x into out[0:r1-r0] (sum_k c_k T_k(x))."""
    coef = T[2]
    m = r1 - r0
    t0 = 1.0
    t1 = x
    for j in range(m):
        out[j] = coef[p, 0, r0 + j] + coef[p, 1, r0 + j] * x
    for k in range(2, TAB_DEG + 1):
        t2 = 2.0 * x * t1 - t0
        for j in range(m):
            out[j] += coef[p, k, r0 + j] * t2
        t0 = t1
        t1 = t2


@njit(cache=True)
def moment(W, T, row, q, rtol):
    """E[g(sqrt(q) z)] for g = TAB_KINDS[row]: from T where it serves q, else by quadrature.

    Returns (value, error bound, status); the error is relative to E|g|, which for the
    positive rows (phi^2, phi'^2, phi''^2) is the value itself.
    """
    p, x, err = tab_locate(T[0], q, rtol)
    if p >= 0:
        v = np.empty(1)
        tab_values(T[0], p, x, row, row + 1, v)
        return v[0], err * abs(v[0]), 0
    v, e, vabs, st = expect1w(W, TAB_KINDS[row], 0.0, math.sqrt(q), 0.0, 0.0, rtol, 1e-15, 0.0)
    return v, e, st


@njit(cache=True)
def no_table():
    """A table that serves nothing (the kernels' form of tables.empty_table)."""
    part = (np.full(2, np.inf), np.full(1, np.inf), np.zeros((1, TAB_DEG + 1, 0)))
    return part, part


@njit(cache=True)
def length_map(W, T, sw2, sb2, q, rtol):
    """V(q) = sw2 E[phi(sqrt(q) z)^2] + sb2 (Poole eq. 3); returns (V, error bound, status)."""
    v, e, st = moment(W, T, TAB_E2, q, rtol)
    return sw2 * v + sb2, sw2 * e, st


@njit(cache=True)
def length_slope(W, T, sw2, q, rtol):
    """dV/dq = sw2 E[phi^2 (z^2 - 1)] / (2q) (Stein's identity; valid at kinks too)."""
    if q == 0.0:
        d = dphi(0.0)
        return sw2 * d * d, 0
    v, e, st = moment(W, T, TAB_ZZ, q, rtol)
    return sw2 * v / (2.0 * q), st


@njit(cache=True)
def _probe(W, T, sw2, sb2, q, rtol):
    """F(q) = V(q) - q for bracketing a fixed point, and whether its sign is certified
    (|F| above V's error bound plus rounding); where the bound at rtol does not decide it,
    V is integrated again at 1e-15.  Returns (F, certified, status)."""
    v, e, st = length_map(W, T, sw2, sb2, q, rtol)
    if st != 0:
        return v - q, False, st
    if abs(v - q) <= e + V_ROUNDING * abs(v):
        v2, e2, st2 = length_map(W, T, sw2, sb2, q, 1e-15)
        if st2 == 0:
            v, e = v2, e2
    return v - q, abs(v - q) > e + V_ROUNDING * abs(v), st


@njit(cache=True)
def _secant_point(lo, f_lo, hi, f_hi):
    """Secant point of the bracket [lo, hi], or its midpoint if the secant leaves it."""
    x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
    if not (lo < x < hi):
        x = 0.5 * (lo + hi)
    return x


@njit(cache=True)
def _illinois(x, f, lo, f_lo, hi, f_hi, side):
    """Move the bracket end whose value has the sign of f to x; when the same end moves
    twice running, halve the other end's value (the Illinois rule: superlinear, never stalls)."""
    if (f > 0.0) == (f_lo > 0.0):
        lo, f_lo = x, f
        if side == 1:
            f_hi *= 0.5
        side = 1
    else:
        hi, f_hi = x, f
        if side == -1:
            f_lo *= 0.5
        side = -1
    return lo, f_lo, hi, f_hi, side


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
def q_star(W, T, sw2, sb2, q0, rtol):
    """Fixed point of the length map reached by iterating from q0; returns (q*, status).

    When table T served q*, its error there, dV / |1 - V'(q*)|, must be below rtol q*;
    otherwise (a nearly marginal map, e.g. q* ~ 1e14 where V(q) - q ~ 1) the search is
    repeated with quadrature alone.
    """
    qs, st = _q_star_search(W, T, sw2, sb2, q0, rtol)
    if st != OK or tab_locate(T[0], qs, rtol)[0] < 0:
        return qs, st
    v, e, st2 = length_map(W, T, sw2, sb2, qs, rtol)
    slope, st3 = length_slope(W, T, sw2, qs, rtol)
    if e <= rtol * qs * abs(1.0 - slope):
        return qs, st
    return _q_star_search(W, no_table(), sw2, sb2, q0, rtol)


@njit(cache=True)
def _q_star_search(W, T, sw2, sb2, q0, rtol):
    """The search of q_star.

    The map is increasing for the nonlinearities of interest, so the orbit from q0
    moves monotonically to the nearest fixed point in the direction of V(q0) - q0:
    bracket it by doubling/halving, then bracketed secant (Illinois) steps on
    F(q) = V(q) - q, one integral per step, to 4e-16 relative.
    """
    f0, cert, st = _probe(W, T, sw2, sb2, q0, rtol)
    if st != 0:
        return np.nan, st
    if abs(f0) <= 1e-13 * q0:
        return q0, OK
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
            f_hi, cert, st = _probe(W, T, sw2, sb2, hi, rtol)
            if st != 0:
                return lo, Q_UNRESOLVED     # e.g. oscillating phi at large q: quadrature gives up
            if cert and f_hi <= 0.0:
                break
            if cert:
                lo, f_lo = hi, f_hi
            else:
                unresolved = True
            hi = _step_up(hi, f_hi)
            if hi > 1e15:
                return (lo, Q_UNRESOLVED) if unresolved else (np.inf, Q_DIVERGES)
    else:
        hi, f_hi = q0, f0
        lo = _step_down(q0, f0)
        while True:
            f_lo, cert, st = _probe(W, T, sw2, sb2, lo, rtol)
            if st != 0:
                return np.nan, st
            if cert and f_lo >= 0.0:
                break
            if cert:
                hi, f_hi = lo, f_lo
            lo = _step_down(lo, f_lo)
            if lo < 1e-30 and sb2 == 0.0:
                # V(0) = 0 makes 0 a fixed point; below 1e-30 V(q)/q is its limit to rounding,
                # so V(lo) < lo leaves no other fixed point in (0, lo): the orbit goes to 0
                v0, e, st = length_map(W, T, sw2, sb2, 0.0, rtol)
                if v0 == 0.0:
                    return 0.0, Q_ZERO
            if lo < 1e-300:
                return 0.0, NOT_CONVERGED
    if f_lo == 0.0:
        return lo, OK
    if f_hi == 0.0:
        return hi, OK
    side = np.int64(0)
    q = lo
    for it in range(200):
        q = _secant_point(lo, f_lo, hi, f_hi)
        f, e, st = length_map(W, T, sw2, sb2, q, rtol)
        if st != 0:
            return np.nan, st
        f -= q
        if f == 0.0 or abs(f) <= 4e-16 * q:
            return q, OK
        lo, f_lo, hi, f_hi, side = _illinois(q, f, lo, f_lo, hi, f_hi, side)
        if hi - lo <= 4e-16 * hi:
            return q, OK
    return q, NOT_CONVERGED


@njit(cache=True, nogil=True)
def stable_below_block(T, sw2, sb2, q0, rtol, flag, k0, k1):
    """flag[k] = 1 where V(q) < q (certified) somewhere on the scan q0 / SCAN_STEP^j > 1e-10 at
    (sw2[k], sb2[k]): for a point whose orbit from q0 diverges, a stable fixed point lies below q0
    (the orbit from a smaller q0 stops there).  Blocks as phase_block."""
    W = workspace()
    for k in range(k0, k1):
        flag[k] = 0
        q = q0
        while q > 1e-10:
            q = q / SCAN_STEP
            f, cert, st = _probe(W, T, sw2[k], sb2[k], q, rtol)
            if st == 0 and cert and f < 0.0:
                flag[k] = 1
                break


@njit(cache=True)
def convergence_depth(W, T, sw2, sb2, q0, qs, tol, max_depth, rtol):
    """Layers until |q^l - q*| <= tol q* starting from q^1 = q0 (Poole Fig. 1D)."""
    q = q0
    for l in range(1, max_depth + 1):
        if abs(q - qs) <= tol * qs:
            return l - 1
        q, e, st = length_map(W, T, sw2, sb2, q, rtol)
        if st != 0:
            return -1
    return -1


@njit(cache=True)
def phase_point(T, sw2, sb2, q0, tol_depth, rtol, want_c, out):
    """Everything of one (sigma_w^2, sigma_b^2) point into out[0:10]:

    q*, status_q, dV/dq at q*, chi1, chi2, c*, 1 - c*, chi_c at c*, convergence depth,
    status_c.  T: a table (tab_locate) or an empty one.
    """
    W = workspace()
    for i in range(10):
        out[i] = np.nan
    qs, st = q_star(W, T, sw2, sb2, q0, rtol)
    out[0] = qs
    out[1] = st
    if st != OK:
        return
    out[2], st2 = length_slope(W, T, sw2, qs, rtol)
    v, e, st1 = moment(W, T, TAB_D1, qs, rtol)
    out[3] = sw2 * v if st1 == 0 else np.nan
    v, e, st3 = moment(W, T, TAB_D2, qs, rtol)
    out[4] = sw2 * v if st3 == 0 else np.nan
    out[8] = convergence_depth(W, T, sw2, sb2, q0, qs, tol_depth, 1000, rtol)
    if not want_c or st1 != 0:
        return
    cs, omc, chic, stc, method = c_star_and_chi(W, T, sw2, qs, out[3], rtol)
    out[5] = cs
    out[6] = omc
    out[7] = chic
    out[9] = stc


@njit(cache=True, nogil=True)
def phase_block(T, sw2, sb2, q0, tol_depth, rtol, want_c, out, k0, k1):
    """phase_point at the flat indices k0..k1-1 of the grid sw2[i] x sb2[j] into out[i, j, :]
    (without the GIL: meanfield.kernels.run_blocks runs blocks in threads)."""
    nb = sb2.size
    for k in range(k0, k1):
        i = k // nb
        j = k % nb
        phase_point(T, sw2[i], sb2[j], q0, tol_depth, rtol, want_c, out[i, j])


# --- Mehler (Hermite) series of the C-map at equal variances ------------------
# For u1, u2 of variance q and correlation c (Mehler's formula),
#     E[phi(u1) phi(u2)] = sum_n c^n a_n^2,   a_n = E[phi(sqrt(q) z) He_n(z)] / sqrt(n!),
# and Parseval gives the exact tail mass T_N = E[phi^2] - sum_{n<=N} a_n^2 >= 0, so
# the truncation error of the series at c is at most |c|^(N+1) T_N: a certificate,
# not an estimate.  By Stein's identity E[phi'(u1) phi'(u2)] = sum_m m c^(m-1) a_m^2 / q.
GL_X, GL_W = np.polynomial.legendre.leggauss(20)
HERMITE_Z = 12.5        # h_n(z) e^{-z^2/4} <= 1, so e^{-z^2/4} < 1e-16 bounds the rest


@njit(cache=True)
def hermite_coefficients(W, q, nmax, coef):
    """a_0..a_nmax of phi(sqrt(q) z) into coef[0:nmax+1] (composite 20-point Gauss-Legendre).

    Panels: the edges of expect1 (kinks, scales 1/sqrt(q)) refined to width
    <= 12/sqrt(2 nmax + 1), so that h_n (local wavenumber <= sqrt(2n+1)) is resolved.
    The normalised Hermite recurrence h_{n+1} = (z h_n - sqrt(n) h_{n-1}) / sqrt(n+1)
    runs over all nodes at once (independent lanes vectorise; one node alone would
    wait on each step's latency).
    """
    s = math.sqrt(q)
    none = np.empty(0)
    n_edges = _edges(W, 0.0, s, HERMITE_Z, none, none.size)
    dmax = 12.0 / math.sqrt(2.0 * nmax + 1.0)
    npieces = 0
    for p in range(n_edges - 1):
        npieces += max(1, int(math.ceil((W[EDGES, p + 1] - W[EDGES, p]) / dmax)))
    nodes = npieces * GL_X.size
    z = np.empty(nodes)
    f = np.empty(nodes)
    k = 0
    for p in range(n_edges - 1):
        a = W[EDGES, p]
        b = W[EDGES, p + 1]
        m = max(1, int(math.ceil((b - a) / dmax)))
        for piece in range(m):
            lo = a + (b - a) * piece / m
            hi = a + (b - a) * (piece + 1) / m
            c = 0.5 * (lo + hi)
            hw = 0.5 * (hi - lo)
            for j in range(GL_X.size):
                zz = c + hw * GL_X[j]
                z[k] = zz
                f[k] = phi(s * zz) * GL_W[j] * hw * math.exp(-0.5 * zz * zz) * INV_SQRT_2PI
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
    return 0


# A series S = (a_0..a_N, T_N, error bound of T_N, error bound of each a_n).


@njit(cache=True)
def mehler_gap(S, c, omc):
    """(sum_n (1 - c^n) a_n^2 + T_N, certified error bound) = E[(phi(u1)-phi(u2))^2]/2.

    1 - c^n by the recurrence x_n = c x_{n-1} + (1 - c): no cancellation near c = 1.
    """
    coef, tail, tail_err, dcoef = S
    nmax = coef.size - 1
    val = tail
    dev = 0.0
    x = 0.0
    for n in range(1, nmax + 1):
        x = c * x + omc
        val += x * coef[n] * coef[n]
        dev += abs(x * coef[n])
    return val, abs(c) ** (nmax + 1) * (tail + tail_err) + tail_err + 2.0 * dcoef * dev


@njit(cache=True)
def mehler_chi(S, q, c):
    """(E[phi'(u1) phi'(u2)], certified error bound) = sum_m m c^(m-1) a_m^2 / q."""
    coef, tail, tail_err, dcoef = S
    nmax = coef.size - 1
    val = 0.0
    dev = 0.0
    cp = 1.0
    for m in range(1, nmax + 1):
        w = m * cp
        val += w * coef[m] * coef[m]
        dev += abs(w * coef[m])
        cp *= c
    ac = abs(c)
    # max over m > N of m |c|^(m-1): at m = N+1 when the sequence already decreases there
    if ac == 0.0:
        bound = 0.0
    elif (nmax + 1) * math.log(ac) < -1.0:
        bound = (nmax + 1) * ac ** nmax
    else:
        bound = np.inf
    return val / q, (bound * (tail + tail_err) + 2.0 * dcoef * dev) / q


@njit(cache=True)
def tab_serves_series(T, q, nmax, rtol):
    """Does table T hold a_0..a_nmax at q for this rtol?"""
    p, x, err = tab_locate(T[1], q, rtol)
    return p >= 0 and nmax + 1 <= T[1][2].shape[2]


@njit(cache=True)
def mehler_series(W, T, q, nmax, rtol):
    """The series S of phi(sqrt(q) z) to order nmax, and a status (NOT_CONVERGED if the
    Parseval tail comes out negative beyond the coefficients' errors).

    From table T where it serves q (with the panels' error bounds), else by
    hermite_coefficients and adaptive quadrature of E[phi^2].
    """
    coef = np.empty(nmax + 1)
    p, x, err = tab_locate(T[0], q, rtol)
    if p >= 0:
        tab_values(T[0], p, x, TAB_E2, TAB_E2 + 1, coef)
        e2 = coef[0]
        e2_err = err * abs(e2)
    else:
        # E[phi^2] enters the tail T_N = E[phi^2] - sum a_n^2 additively, and near the
        # critical line c* needs T_N to ~1e-15 E[phi^2]: integrate it that tightly
        e2, e2_err, vabs, st = expect1w(W, PHI2, 0.0, math.sqrt(q), 0.0, 0.0, 1e-15, 1e-16, 0.0)
        if st == 1:
            e2, e2_err, vabs, st = expect1w(W, PHI2, 0.0, math.sqrt(q), 0.0, 0.0, 0.01 * rtol, 1e-15, 0.0)
        if st != 0:
            return (coef, 0.0, 0.0, 0.0), st
    p, x, err = tab_locate(T[1], q, rtol)
    if p >= 0 and nmax + 1 <= T[1][2].shape[2]:
        tab_values(T[1], p, x, np.int64(0), nmax + 1, coef)
        dcoef = err * math.sqrt(abs(e2))
    else:
        hermite_coefficients(W, q, nmax, coef)
        dcoef = 0.0
    # sum a_n^2 is then off by at most 2 dcoef sum |a_n|
    abs_sum = 0.0
    for n in range(nmax + 1):
        abs_sum += abs(coef[n])
    tail_err = e2_err + 2.0 * dcoef * abs_sum + 2e-16 * abs(e2)
    tail = e2
    for n in range(nmax + 1):
        tail -= coef[n] * coef[n]
    if tail < -tail_err - 1e-13 * e2:   # the coefficients were not integrated accurately
        return (coef, 0.0, 0.0, 0.0), NOT_CONVERGED
    return (coef, max(tail, 0.0), tail_err, dcoef), 0


# The C-map's gap D(c) = 1 - c' = sw2 E[(phi(u1) - phi(u2))^2] / (2q), three ways, chosen by
# the types of two arguments: S, a Mehler series or None, and nested, None or True.  Numba
# drops the branches that `is None` rules out, so a kernel compiles only the ways it uses
# (grids of smooth phi never compile the nested two-dimensional quadrature).


@njit(cache=True)
def _gap(S, nested, sw2, q, c, omc, rtol):
    """(D(c), error bound, status): from the Mehler series S (certified bound); if S is None,
    by the certified expansion near c = 1, else in rotated coordinates (smooth phi); or, if
    nested is True, by nested adaptive quadrature (any phi)."""
    if S is not None:
        v, b = mehler_gap(S, c, omc)
        return sw2 * v / q, sw2 * b / q, 0
    if nested is None:
        W = workspace()
        if c == 0.0:
            v, e, st = _expect2_independent(W, ORDER0, ORDER0, GAP, q, q, rtol)
            return sw2 * v / q, sw2 * e / q, st
        if omc < TAYLOR_MAX_OMC and SMOOTH3:
            v, e, ok = _gap_taylor(W, q, omc, rtol)
            if ok:
                return sw2 * v / q, sw2 * e / q, 0
        v, e, st = expect_rotated(W, ROT_GAP, q, omc, rtol)
        return sw2 * v / q, sw2 * e / q, st
    v, e, st = expect2(ORDER0, ORDER0, GAP, q, q, c, omc, rtol)
    return sw2 * v / q, sw2 * e / q, st


@njit(cache=True)
def _c_star_bracket(S, nested, sw2, q, rtol, guess):
    """A bracket (e_lo, H(e_lo) > 0, e_hi, H(e_hi) < 0) of e = 1 - c*, and a status.

    From a good guess of e (5% either side) if given (guess > 0) and it brackets; else
    from e = 1 downwards by factors of 100.  A bracket of zero width is the answer
    itself: e = 1 (c* = 0) or e = 0 (marginal, c* = 1 to rounding).
    """
    if guess > 0.0:
        e_lo = 0.95 * guess
        e_hi = min(1.0, 1.05 * guess)
        h_lo, err, st1 = _gap(S, nested, sw2, q, 1.0 - e_lo, e_lo, rtol)
        h_hi, err, st2 = _gap(S, nested, sw2, q, 1.0 - e_hi, e_hi, rtol)
        if st1 == 0 and st2 == 0 and h_lo - e_lo > 0.0 and h_hi - e_hi < 0.0:
            return e_lo, h_lo - e_lo, e_hi, h_hi - e_hi, OK
    e_hi = 1.0
    h_hi, err, st = _gap(S, nested, sw2, q, 0.0, 1.0, rtol)
    if st != 0:
        return np.nan, np.nan, np.nan, np.nan, st
    h_hi -= 1.0
    if h_hi >= 0.0:
        return 1.0, h_hi, 1.0, h_hi, OK         # c* = 0: the map sends c = 0 to >= 0
    e_lo = 1e-2
    while True:
        h_lo, err, st = _gap(S, nested, sw2, q, 1.0 - e_lo, e_lo, rtol)
        if st != 0:
            return np.nan, np.nan, np.nan, np.nan, st
        h_lo -= e_lo
        if h_lo > 0.0:
            return e_lo, h_lo, e_hi, h_hi, OK
        e_hi = e_lo
        h_hi = h_lo
        e_lo *= 1e-2
        if e_lo < 1e-14:
            # marginal (chi1 = 1 within rounding): the fixed point lies within 1e-14 of 1
            return 0.0, 0.0, 0.0, 0.0, OK


@njit(cache=True)
def _c_star_search(S, nested, sw2, q, rtol, guess):
    """Root e = 1 - c* of H(e) = D(1 - e) - e in (0, 1] (chaotic phase); (c*, 1 - c*, status).

    H > 0 just below c = 1 (slope chi1 > 1 there), H(1) = -c'(0) <= 0.  Bracketed
    secant (Illinois) steps from the bracket of _c_star_bracket (guess: a good estimate
    of 1 - c*, or 0).  S, nested: the way D is evaluated, as in _gap.
    """
    e_lo, h_lo, e_hi, h_hi, st = _c_star_bracket(S, nested, sw2, q, rtol, guess)
    if st != 0:
        return np.nan, np.nan, st
    if e_lo == e_hi:                 # the bracket is a point: c* = 1 - e_lo
        return 1.0 - e_lo, e_lo, OK
    side = np.int64(0)
    e = 0.5 * (e_lo + e_hi)
    for it in range(200):
        e = _secant_point(e_lo, h_lo, e_hi, h_hi)
        h, err, st = _gap(S, nested, sw2, q, 1.0 - e, e, rtol)
        if st != 0:
            return np.nan, np.nan, st
        h -= e
        e_lo, h_lo, e_hi, h_hi, side = _illinois(e, h, e_lo, h_lo, e_hi, h_hi, side)
        if e_hi - e_lo <= 1e-13 * e_hi or h == 0.0:
            return 1.0 - e, e, OK
    return 1.0 - e, e, NOT_CONVERGED


MEHLER_ORDERS = (64, 256, 1024)


@njit(cache=True)
def c_star_and_chi(W, T, sw2, q, chi1, rtol):
    """(c*, 1 - c*, chi_c at c*, status, method) of the C-map at q (Poole eq. 6, Fig. 2C).

    Ordered phase (chi1 <= 1): c* = 1, chi_c = chi1.  Chaotic phase: the Mehler series
    with N = 64, 256, then 1024 terms; accepted when the certified error of c*,
    |dD| / (1 - chi_c), is below rtol max(c*, 1 - c*) and that of chi_c (its series
    bound plus its change over that error of c*) below rtol chi_c.  Otherwise (a slowly
    converging series: c* near 1, kinks) adaptive quadrature of D to rtol relative, in
    rotated coordinates for smooth phi, else nested; c* is then good to about
    rtol (1 - c*) / (1 - chi_c), which near the critical line is rtol in absolute terms.
    method: 0 ordered, 1 series, 2 nested adaptive, 3 rotated adaptive.
    """
    if chi1 <= 1.0:
        return 1.0, 0.0, chi1, OK, 0
    guess = 0.0           # 1 - c* from the longest series, certified or not
    for nmax in MEHLER_ORDERS:
        S, st = mehler_series(W, T, q, nmax, rtol)
        if st != 0:
            break
        cs, omc, st = _c_star_search(S, None, sw2, q, rtol, guess)
        if st != 0:
            continue
        guess = omc
        d, dbound = mehler_gap(S, cs, omc)
        x, xbound = mehler_chi(S, q, cs)
        chic = sw2 * x
        if not chic < 1.0:
            continue
        # c* is the fixed point of a map with slope chi_c, so an error dD of the map
        # moves it by dD / (1 - chi_c); chi_c moves with it by at most what the series
        # gives over [c* - dc, c* + dc]
        dc = sw2 * dbound / q / (1.0 - chic)
        if dc <= rtol * max(omc, cs):
            xp, b = mehler_chi(S, q, min(cs + dc, 1.0))
            xm, b = mehler_chi(S, q, cs - dc)
            if sw2 * (xbound + max(abs(xp - x), abs(xm - x))) <= rtol * abs(chic):
                return cs, omc, chic, OK, 1
    if not KINKS and rtol >= ROT_MIN_RTOL:
        cs, omc, st = _c_star_search(None, None, sw2, q, rtol, guess)
        if st == OK and omc == 0.0:
            return cs, omc, chi1, OK, 3
        if st == OK:
            v, e, st = expect_rotated(W, ROT_CHI, q, omc, rtol)
            if st == OK:
                return cs, omc, sw2 * v, OK, 3
    return guess, np.nan, np.nan, NEEDS_NESTED, 2


@njit(cache=True)
def c_star_nested(sw2, q, chi1, rtol, guess):
    """c_star_and_chi by nested adaptive quadrature (method 2), where it returned NEEDS_NESTED
    (with its guess of 1 - c* in place of c*).  A separate entry point, so that grids of smooth
    phi, which rarely need it, do not pay for compiling the two-dimensional quadrature."""
    cs, omc, st = _c_star_search(None, True, sw2, q, rtol, guess)
    if st != OK:
        return cs, omc, np.nan, st, 2
    if omc == 0.0:
        return cs, omc, chi1, OK, 2
    v, e, st = expect2(ORDER1, ORDER1, PRODUCT, q, q, cs, omc, rtol)
    return cs, omc, sw2 * v, st, 2


@njit(cache=True, nogil=True)
def c_star_nested_block(sw2, q, chi1, rtol, guess, out, i0, i1):
    """c_star_nested for points i0..i1-1 into out[i, 0:4] = c*, 1 - c*, chi_c, status."""
    for i in range(i0, i1):
        cs, omc, chic, st, method = c_star_nested(sw2[i], q[i], chi1[i], rtol, guess[i])
        out[i, 0] = cs
        out[i, 1] = omc
        out[i, 2] = chic
        out[i, 3] = st


@njit(cache=True)
def layer_point(W, T, sw2, sb2, q, c, rtol, out):
    """One layer of the two-input maps at variances q11 = q22 = q and correlation c.

    out[0:4] = q' (eq. 3), c' = q12'/q' (eq. 5), chi_c = sw2 E[phi'(u1) phi'(u2)], status.
    Mehler series when its certified error is below rtol, else adaptive quadrature
    (rotated coordinates for smooth phi and c > 0, else nested).
    """
    qn, e, st = length_map(W, T, sw2, sb2, q, rtol)
    out[0] = qn
    out[3] = st
    if st != 0:
        return
    e2 = (qn - sb2) / sw2 if sw2 > 0.0 else 0.0
    for nmax in MEHLER_ORDERS:
        # direct coefficients cost O(N^2): skip orders whose truncation cannot be small
        if abs(c) ** (nmax + 1) > 1e-3 and not tab_serves_series(T, q, nmax, rtol):
            continue
        S, st = mehler_series(W, T, q, nmax, rtol)
        if st != 0:
            break
        gap, gb = mehler_gap(S, c, 1.0 - c)
        x, xb = mehler_chi(S, q, c)
        q12 = sw2 * (e2 - gap) + sb2
        if sw2 * gb <= rtol * abs(q12) and xb <= rtol * abs(x):
            out[1] = q12 / qn
            out[2] = sw2 * x
            return
    if not KINKS and rtol >= ROT_MIN_RTOL and c > 0.0:
        gap, e, st = expect_rotated(W, ROT_GAP, q, 1.0 - c, rtol)
        x, e, st2 = expect_rotated(W, ROT_CHI, q, 1.0 - c, rtol)
        if st == 0 and st2 == 0:
            out[1] = (sw2 * (e2 - gap) + sb2) / qn
            out[2] = sw2 * x
            return
    v, e, st = expect2(ORDER0, ORDER0, PRODUCT, q, q, c, 1.0 - c, rtol)
    x, e, st2 = expect2(ORDER1, ORDER1, PRODUCT, q, q, c, 1.0 - c, rtol)
    out[1] = (sw2 * v + sb2) / qn
    out[2] = sw2 * x
    out[3] = max(st, st2)


@njit(cache=True, nogil=True)
def layer_block(T, sw2, sb2, q, c, rtol, out, i0, i1):
    """layer_point at points i0..i1-1 into out[i, 0:4] (without the GIL, as phase_block)."""
    W = workspace()
    for i in range(i0, i1):
        layer_point(W, T, sw2[i], sb2[i], q[i], c[i], rtol, out[i])


# --- the critical line chi1 = 1 -------------------------------------------------

@njit(cache=True)
def _critical_gap(W, T, q, sb2, rtol):
    """g(q) = q - E[phi^2]/E[phi'^2] - sb2: zero where the critical line has sigma_b^2 = sb2."""
    e2, e, st1 = moment(W, T, TAB_E2, q, rtol)
    d2, e, st2 = moment(W, T, TAB_D1, q, rtol)
    if st1 != 0 or st2 != 0 or d2 == 0.0:
        return np.nan
    return q - e2 / d2 - sb2


CRIT_MAX_ROOTS = 16


@njit(cache=True)
def critical_roots(W, T, sb2, rtol, roots):
    """Every q in [1e-8, 1e8] on the critical line (sigma_w^2 = 1/E[phi'^2],
    sigma_b^2 = q - sigma_w^2 E[phi^2]) with sigma_b^2 = sb2, into roots[0:n], ascending.

    Scans q (8 points per decade, from table T where it serves) for every sign change of
    g, refined by bracketed secant (Illinois) steps at rtol.  Returns (n, status); the
    status is NOT_CONVERGED if a refinement did not converge (its root is still listed).
    """
    scan_rtol = max(rtol, TAB_USE_RTOL)
    n = 0
    status = OK
    q_prev = 1e-8
    g_prev = _critical_gap(W, T, q_prev, sb2, scan_rtol)
    for k in range(1, 129):
        q = 1e-8 * 10.0 ** (k / 8.0)
        g = _critical_gap(W, T, q, sb2, scan_rtol)
        if not (math.isfinite(g) and math.isfinite(g_prev)):
            q_prev, g_prev = q, g
            continue
        if (g == 0.0 or g_prev * g < 0.0) and n < roots.size:
            lo, hi = q_prev, q
            g_lo = _critical_gap(W, T, lo, sb2, rtol)
            g_hi = _critical_gap(W, T, hi, sb2, rtol)
            if g_hi == 0.0:
                roots[n] = hi
                n += 1
            elif g_lo * g_hi < 0.0:     # else the table's sign was within its error of zero
                side = np.int64(0)
                m = lo
                done = False
                for it in range(200):
                    m = _secant_point(lo, g_lo, hi, g_hi)
                    gm = _critical_gap(W, T, m, sb2, rtol)
                    if gm == 0.0 or hi - lo <= 1e-15 * hi:
                        done = True
                        break
                    lo, g_lo, hi, g_hi, side = _illinois(m, gm, lo, g_lo, hi, g_hi, side)
                if not done:
                    status = NOT_CONVERGED
                roots[n] = m
                n += 1
            g = g_hi
        q_prev, g_prev = q, g
    return n, status
