"""How the machinery calls phi: through the addresses in ``P`` (a :class:`meanfield.codes.PhiCode`).

phi and its derivatives are compiled per nonlinearity as C callbacks of signature
``double(double)`` (:func:`meanfield.kernels.module_source`); ``P`` carries their addresses as
integers.  Every kernel takes ``P`` as its first argument, so the machinery has one type
signature for all nonlinearities and compiles once; calling phi costs one indirect call.
(Numba's first-class function objects would do the same, but converting them at each call
from Python costs ~100 us, more than most kernels take.)
"""
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _call_c(typingctx, address, x):
    """f(x) for the C function ``double f(double)`` at ``address`` (an integer)."""
    sig = types.float64(address, types.float64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [args[1]])

    return sig, codegen


@njit(cache=True)
def phi(P, x):
    """phi(x) of the nonlinearity P, called through the address ``P.phi``.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    x : float
        The argument.

    Returns
    -------
    float
        phi(x).
    """
    return _call_c(P.phi, x)


@njit(cache=True)
def dphi(P, x):
    """phi'(x) of the nonlinearity P, called through the address ``P.dphi``.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    x : float
        The argument.

    Returns
    -------
    float
        phi'(x).
    """
    return _call_c(P.dphi, x)


@njit(cache=True)
def d2phi(P, x):
    """phi''(x) of the nonlinearity P, called through the address ``P.d2phi``.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    x : float
        The argument.

    Returns
    -------
    float
        phi''(x); where phi' jumps, its regular part (the Dirac delta is left out).
    """
    return _call_c(P.d2phi, x)


@njit(cache=True)
def d3phi(P, x):
    """phi'''(x) of the nonlinearity P, called through the address ``P.d3phi``.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    x : float
        The argument.

    Returns
    -------
    float
        phi'''(x), its regular part (Dirac deltas, if any, are left out; ``P.smooth3`` says whether there are any).
    """
    return _call_c(P.d3phi, x)
