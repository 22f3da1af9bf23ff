"""Bracketed secant steps with the Illinois rule: the one root finder of the kernels (q*, c*, the
critical line)."""
from numba import njit


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
