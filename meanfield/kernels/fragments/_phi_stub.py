"""A stand-in nonlinearity for running the fragments on their own: :data:`STUB`.

Every kernel takes the nonlinearity as its first argument ``P``, a
:class:`meanfield.codes.PhiCode` of C callbacks (how :func:`meanfield.kernels.kernels_for`
builds it for a real phi).  The stand-in is the cubic

    phi(x) = 1/4 + x - x^2/2 + x^3/6,

smooth (no kinks), with Gaussian moments in closed form, so every fragment can be checked
against an independent reference (tests/test_kernel_fragments.py).
"""
import math

from numba import cfunc

from ...codes import PhiCode

#: Coefficients of the stand-in phi, lowest degree first (for tests' closed forms).
COEFFICIENTS = (0.25, 1.0, -0.5, 1.0 / 6.0)
SIGNATURE = "float64(float64)"


@cfunc(SIGNATURE, cache=True, error_model="numpy")
def phi(x):
    """The stand-in phi(x) = 1/4 + x - x^2/2 + x^3/6."""
    return 0.25 + x * (1.0 + x * (-0.5 + x / 6.0))


@cfunc(SIGNATURE, cache=True, error_model="numpy")
def dphi(x):
    """phi'(x) = 1 - x + x^2/2."""
    return 1.0 + x * (-1.0 + 0.5 * x)


@cfunc(SIGNATURE, cache=True, error_model="numpy")
def d2phi(x):
    """phi''(x) = x - 1."""
    return -1.0 + x


@cfunc(SIGNATURE, cache=True, error_model="numpy")
def d3phi(x):
    """phi'''(x) = 1."""
    return 1.0 + 0.0 * math.fabs(x)


#: The stand-in as the kernels take it (no kinks; phi''' smooth).
STUB = PhiCode.of(phi, dphi, d2phi, d3phi, (), smooth3=True)
