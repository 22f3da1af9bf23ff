"""Typed errors: every one is a ``ValueError`` that names the problem and the fix."""


class MeanFieldError(ValueError):
    """Base class of meanfield's errors."""


class ExpressionError(MeanFieldError):
    """An expression string that is not a valid, safe nonlinearity."""


class NoFixedPointError(MeanFieldError):
    """The length map has no finite stable fixed point (q grows without bound)."""


class UndefinedQuantityError(MeanFieldError):
    """A quantity involves a Dirac delta of phi' or phi'' (piecewise-linear phi)."""


class DivergentIntegralError(MeanFieldError):
    """A Gaussian expectation diverges (the integrand outgrows the Gaussian)."""


class NotConvergedError(MeanFieldError):
    """The adaptive quadrature or a root finder did not reach its tolerance."""


class NoCriticalPointError(NoFixedPointError):
    """No stable fixed point reached from q0 has chi1 = 1 at this sigma_b (chi1 = 1 may hold at
    an unstable one)."""


class MultipleCriticalPointsError(MeanFieldError):
    """chi1 = 1 at the stable q* reached from q0 for several sigma_w at this sigma_b."""
