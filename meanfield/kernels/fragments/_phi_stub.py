"""Stand-in for the generated header of a kernel module: phi, its derivatives, its kinks.

The fragments import phi and friends from here, so that each is a real module (a linter and
an IDE resolve every name, and tests can run a fragment on its own).  Generation
(:func:`meanfield.kernels.module_source`) drops that import and puts the nonlinearity's own
definitions, printed by sympy, in front of the fragments.  The stand-in is the cubic

    phi(x) = 1/4 + x - x^2/2 + x^3/6,

smooth (no kinks), with Gaussian moments in closed form, so every fragment can be checked
against an independent reference (tests/test_kernel_fragments.py).
"""
import math

from numba import njit

#: Points where phi or a derivative is not smooth (none for the cubic).
KINKS = ()
#: True when the third derivative has no Dirac delta.
SMOOTH3 = True
#: Coefficients of the stand-in phi, lowest degree first (for tests' closed forms).
COEFFICIENTS = (0.25, 1.0, -0.5, 1.0 / 6.0)


@njit(cache=True)
def phi(x):
    return 0.25 + x * (1.0 + x * (-0.5 + x / 6.0))


@njit(cache=True)
def dphi(x):
    return 1.0 + x * (-1.0 + 0.5 * x)


@njit(cache=True)
def d2phi(x):
    return -1.0 + x


@njit(cache=True)
def d3phi(x):
    return 1.0 + 0.0 * math.fabs(x)
