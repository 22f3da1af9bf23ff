"""Mean-field signal propagation through a deep random network (Poole et al. 2016).

One object per (phi, sigma_w, sigma_b): the length map and its fixed points, the
correlation map and its fixed point, chi1, chi2, the depth scales and the
curvature recursion.  sigma_w and sigma_b are standard deviations:
W_ij ~ N(0, sigma_w^2 / N), b_i ~ N(0, sigma_b^2).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import fast_solvers
from .codes import Evaluation, Kind, Order, Status
from .depth_scale import depth_scale
from .errors import DivergentIntegralError, MeanFieldError, NoFixedPointError, NotConvergedError, UndefinedQuantityError
from .fast_path import closed_form_of, describe
from .nonlinearity import as_nonlinearity
from .quadrature import RTOL, CStar

#: where fixed_points() scans V(q) - q (log grid, 8 points per decade)
Q_SCAN_RANGE = (1e-10, 1e10)
_Q_SCAN = np.logspace(-10, 10, 161)
#: relative rounding floor added to V's error bound when the sign of V(q) - q is certified
_V_ROUNDING = 2e-15
#: |asymptotic slope - 1| below which the length map counts as marginal at infinity
_MARGINAL = 1e-9


@dataclass(frozen=True)
class FixedPoint:
    r"""A fixed point q = V(q) of the length map (Poole eq. 3).

    ``slope`` is dV/dq there and ``chi1`` is chi1 at q (NaN where phi' has a Dirac delta).
    ``stable`` means that the orbits q^{l+1} = V(q^l) started next to q, on at least one
    side, converge to it (|slope| < 1, or slope = 1 with V(q) - q changing sign from + to -
    or, at q = 0, negative above).  ``basin`` = (lo, hi): for a stable point, the open
    interval of starting lengths q0 whose orbit reaches q (lo = q where it attracts from
    above only, hi = q where from below only, inf where nothing stops the orbit above);
    None for an unstable point.  Basins assume V increasing between the fixed points, as
    it is when phi^2 grows with |x| (see ``FixedPoints.monotone``).

    Attributes
    ----------
    q : float
        The fixed point, >= 0.
    slope : float
        :math:`d\mathcal{V}/dq` at q.
    stable : bool
        Whether nearby orbits converge to q (see above).
    basin : tuple of (float, float) or None
        Open interval of q0 whose orbit reaches q; None for an unstable point.
    chi1 : float
        :math:`\chi_1 = \sigma_w^2 E[\phi'(\sqrt q z)^2]` at q (Poole et al. 2016, eq. 7); NaN
        where phi' has a Dirac delta.
    """
    q: float
    slope: float
    stable: bool
    basin: tuple[float, float] | None = None
    chi1: float = math.nan


@dataclass(frozen=True)
class FixedPoints:
    """Every fixed point of the length map found on ``scanned``, ascending in q.

    ``above`` says what the orbit does above the last fixed point (or from any q0 if there
    is none): ``"contracts"`` (V(q) < q up to the top of the scan), ``"grows"`` (V(q) > q
    there and q grows without bound: asymptotic slope of V >= 1) or ``"unresolved"`` (V
    could not be evaluated above ``scanned[1]``, e.g. quadrature of an oscillating phi at
    large q; ``notes`` says what is known).  Iterating gives the FixedPoint objects.

    Attributes
    ----------
    points : tuple of FixedPoint
        The fixed points, ascending in q.
    scanned : tuple of (float, float)
        The range of q where V(q) - q was scanned (top lower than 1e10 where V failed).
    above : str
        ``"contracts"``, ``"grows"`` or ``"unresolved"`` (see above).
    monotone : bool
        Whether V increased on the scan (else basins are only indicative).
    notes : tuple of str
        What was not scanned or could not be decided, in words.
    """
    points: tuple[FixedPoint, ...]
    scanned: tuple[float, float]
    above: str
    monotone: bool = True
    notes: tuple[str, ...] = ()

    def __iter__(self):
        return iter(self.points)

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i):
        return self.points[i]

    @property
    def stable(self) -> tuple[FixedPoint, ...]:
        """The stable fixed points (several: the q* reached depends on q0)."""
        return tuple(p for p in self.points if p.stable)

    @property
    def multistable(self) -> bool:
        """True if there is more than one stable fixed point (q* then depends on q0)."""
        return len(self.stable) > 1

    def basin_of(self, q0: float) -> FixedPoint | None:
        """The stable fixed point whose basin holds q0.

        Parameters
        ----------
        q0 : float
            Squared length per neuron of the input.

        Returns
        -------
        FixedPoint or None
            None where q0 is a fixed point that is not stable, or its orbit grows without bound.
        """
        for p in self.points:
            if p.q == q0 and not p.stable:
                return None
            if p.stable and (p.q == q0 or p.basin[0] < q0 < p.basin[1]):
                return p
        return None


@dataclass(frozen=True)
class DepthScales:
    r"""Depth scales of Schoenholz et al. (2017), eqs. 7 and 9 there.

    xi_q^{-1} = -log(chi1 + sigma_w^2 E[phi'' phi])  (= -log dV/dq at q*),
    xi_c^{-1} = -log(sigma_w^2 E[phi'(u1) phi'(u2)])  at c*.
    ``inf`` where the log vanishes (criticality).
    """
    xi_q: float
    xi_c: float


@dataclass(frozen=True)
class Curvature:
    """Per-layer geometry of the circle of radius sqrt(q*) (Poole eq. 8, Sec. 4).

    Layers 1..depth.  ``g_E`` is the normalised metric g^E/N, ``kappa2`` the
    normalised squared curvature N kappa^2, ``L_E = 2 pi sqrt(g_E)`` the normalised
    Euclidean length L^E/sqrt(N), ``L_G = 2 pi sqrt(kappa2 g_E)`` the Grassmannian
    (Gauss-map) length.
    """
    layer: np.ndarray
    g_E: np.ndarray
    kappa2: np.ndarray
    L_E: np.ndarray
    L_G: np.ndarray


class MeanField:
    """Mean-field theory of a deep random network with nonlinearity ``phi``.

    Parameters
    ----------
    phi : Nonlinearity or spec
        Anything :class:`meanfield.Nonlinearity` accepts.
    sigma_w, sigma_b : float
        Standard deviations of weights (times sqrt(N)) and biases.
    rtol : float
        Relative tolerance of every Gaussian expectation (default 1e-13).
    q0 : float
        Squared length per neuron of the input, q^1 (default 1).  q* is the stable fixed
        point of the length map that the orbit from q0 reaches; where the map has several
        stable fixed points (e.g. x tanh x at small sigma_b) q0 selects one, and chi1,
        chi2, c*, the depth scales and the curvature are those at that q*.
    closed_form : bool or "derive"
        True (default): where phi has a known closed-form kernel (:func:`meanfield.known_kernel`),
        every average comes from it (:mod:`meanfield.fast_path`, good to a few ulps) and nothing is
        compiled; ``evaluation`` says which path is used.  False: the certified quadrature always.
        ``"derive"``: also closed forms found by :func:`meanfield.derive`, once verified against
        the quadrature (:mod:`meanfield.derived_path`).
    """

    def __init__(self, phi, sigma_w: float, sigma_b: float, rtol: float = RTOL, q0: float = 1.0,
                 closed_form=True):
        self.phi = as_nonlinearity(phi)
        for name, v in (("sigma_w", sigma_w), ("sigma_b", sigma_b)):
            if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} is a standard deviation: a finite number >= 0, got {v!r}")
        self.sigma_w = float(sigma_w)
        self.sigma_b = float(sigma_b)
        self.rtol = float(rtol)
        self.q0 = _check_q0(q0)
        self._cf = closed_form_of(self.phi, closed_form)   # None: quadrature
        self._q_star_cache: dict[float, float] = {}   # q* by q0 (the parameters are fixed)

    def __repr__(self) -> str:
        q0 = "" if self.q0 == 1.0 else f", q0={self.q0:g}"
        return f"MeanField({self.phi.name!r}, sigma_w={self.sigma_w:g}, sigma_b={self.sigma_b:g}{q0})"

    @cached_property
    def _kernels(self):
        """The compiled kernels, built once per phi, only when the quadrature path needs them."""
        return self.phi.kernels

    @property
    def evaluation(self) -> Evaluation:
        """Which path produces this MeanField's numbers (:class:`meanfield.codes.Evaluation`)."""
        return Evaluation.CLOSED_FORM if self._cf is not None else Evaluation.QUADRATURE

    @property
    def evaluation_source(self) -> str:
        """One line naming the path, e.g. ``closed form: Williams 1997; ...`` or ``certified quadrature``."""
        return describe(self._cf)

    def _has(self, *names) -> bool:
        return self._cf is not None and self._cf.has(*names)

    @property
    def sw2(self) -> float:
        return self.sigma_w ** 2

    @property
    def sb2(self) -> float:
        return self.sigma_b ** 2

    # --- length map ------------------------------------------------------------
    def length_map(self, q):
        r"""V(q) = sigma_w^2 \int Dz phi(\sqrt{q} z)^2 + sigma_b^2  (Poole eq. 3).

        Parameters
        ----------
        q : float or array_like
            Squared length per neuron, >= 0.

        Returns
        -------
        float or numpy.ndarray
            V(q), of the shape of ``q``, to ``rtol`` relative.
        """
        qa = np.asarray(q, dtype=float)
        if self._has("second"):
            out = self.sw2 * self._cf.second(qa) + self.sb2
            return float(out) if out.ndim == 0 else out
        out = np.array([self.sw2 * self._kernels.expect(Kind.PHI2, v, self.rtol) + self.sb2
                        for v in qa.ravel()]).reshape(qa.shape)
        return float(out) if out.ndim == 0 else out

    def length_map_slope(self, q: float) -> float:
        r"""dV/dq = sigma_w^2 E[phi'^2 + phi phi''] = sigma_w^2 E[phi(\sqrt q z)^2 (z^2-1)]/(2q).

        The second form (Stein's identity) needs no derivatives, so it also holds at kinks.

        Parameters
        ----------
        q : float
            Squared length per neuron, >= 0 (at 0: sigma_w^2 phi'(0)^2).

        Returns
        -------
        float
            dV/dq; at a fixed point its log is -1/xi_q.
        """
        q = float(q)
        if q == 0.0:
            return self.sw2 * self._dphi2_at_origin()
        if self._has("second_zz"):
            return float(self.sw2 * self._cf.second_zz(q) / (2 * q))
        return self.sw2 * self._kernels.expect(Kind.PHI2_ZZ, q, self.rtol) / (2 * q)

    def asymptotic_slope(self) -> float:
        r"""lim V(q)/q = sigma_w^2 (a_+^2 + a_-^2)/2 as q -> infinity, a_+- = lim phi(x)/x at +-infinity.

        E[phi(\sqrt q z)^2]/q -> E[z^2 (a_+^2 [z > 0] + a_-^2 [z < 0])].  Above 1 the length
        grows without bound from large q0; below 1 it contracts there; at 1 the sign of
        V(q) - q at large q decides.  ``inf`` for phi growing faster than linearly.
        Read off phi at |x| = 1e8 and 1e12 (no quadrature, so it holds for oscillating phi).
        This is the large-q slope of the length map (Poole et al. 2016, eq. 3).

        Returns
        -------
        float
            :math:`\lim_{q\to\infty} \mathcal{V}(q)/q` (>= 0), or ``inf`` where phi grows faster
            than linearly.
        """
        return self._asymptotic_slope

    @cached_property
    def _asymptotic_slope(self) -> float:
        with np.errstate(all="ignore"):
            x = np.array([-1e12, -1e8, 1e8, 1e12])
            r = self.phi.phi(x) / np.abs(x)
        a_far = (r[0] ** 2 + r[3] ** 2) / 2
        a_near = (r[1] ** 2 + r[2] ** 2) / 2
        if not np.isfinite(a_far) or a_far > a_near * (1 + 1e-3) + 1e-9:
            a_far = math.inf        # phi / x still growing: faster than linear
        return self.sw2 * float(a_far)

    def _f_certified(self, q: float):
        """(F = V(q) - q, whether its sign is certified by V's error bound plus rounding)."""
        if self._has("second"):
            v, e = (float(a) for a in fast_solvers.length_map(self._cf, self.sw2, self.sb2, float(q)))
            return v - q, abs(v - q) > e + _V_ROUNDING * abs(v)
        v, e = self._kernels.length_map(self.sw2, self.sb2, float(q), min(self.rtol, 1e-14))
        return v - q, abs(v - q) > e + _V_ROUNDING * abs(v)

    def fixed_points(self) -> FixedPoints:
        """Every fixed point q = V(q), with slope, chi1, stability and basin (see FixedPoints).

        V(q) - q is scanned on a log grid of q in Q_SCAN_RANGE = [1e-10, 1e10] (8 points per
        decade), upwards, stopping where V cannot be evaluated (quadrature of an oscillating
        phi at large q: what was not scanned is stated in ``notes`` and ``scanned``); q = 0
        is included when V(0) = 0.  Only certified signs of V(q) - q count, so a map that
        differs from the identity by less than its quadrature error (V(q) = q + 0.04 at
        q = 1e14) shows no spurious fixed point.  Each sign change is refined by the root finder
        of the q* search (bracketed secant steps, Illinois rule) to 4e-16 relative.
        The map is the length map of Poole et al. 2016, eq. (3); chi1 is their eq. (7).

        Returns
        -------
        FixedPoints
            ``points`` (ascending :class:`FixedPoint` objects with slope, chi1, stability and
            basin), ``scanned`` (the q range actually scanned), ``above`` (``"contracts"``,
            ``"grows"`` or ``"unresolved"``), ``monotone`` (whether V increases on the scan)
            and ``notes``.  Computed once per instance.

        Raises
        ------
        NotConvergedError
            If V(q) cannot be evaluated even at the bottom of the scan (q = 1e-10).
        """
        return self._fixed_points

    @cached_property
    def _fixed_points(self) -> FixedPoints:
        notes = []
        qs, fs, cs = [], [], []
        for q in _Q_SCAN:
            try:
                f, cert = self._f_certified(q)
            except (NotConvergedError, DivergentIntegralError) as err:
                notes.append(f"V(q) not resolved for q >= {q:.3g} ({type(err).__name__}: quadrature fails "
                             f"there, e.g. for an oscillating phi); not scanned above q = {qs[-1] if qs else 0:.3g}")
                break
            qs.append(float(q))
            fs.append(f)
            cs.append(cert)
        if not qs:
            raise NotConvergedError(f"{self}: V(q) cannot be evaluated even at q = {_Q_SCAN[0]:g}")
        qs, fs, cs = np.array(qs), np.array(fs), np.array(cs)
        top = qs[-1]
        vs = fs + qs
        monotone = bool(np.all(np.diff(vs) >= -1e-12 * np.abs(vs[1:])))
        if not monotone:
            notes.append("V(q) decreases somewhere on the scan: orbits may overshoot, so the basins "
                         "(computed for an increasing V) are only indicative")
        roots = []
        if self.length_map(0.0) == 0.0:
            roots.append(0.0)
        ic = np.nonzero(cs)[0]
        for a, b in itertools.pairwise(ic):
            if np.sign(fs[a]) != np.sign(fs[b]):
                roots.append(self._fixed_point_between(qs[a], qs[b]))
        if ic.size == 0 and roots == []:
            notes.append("V(q) = q to within quadrature error on the whole scan: the identity map, every "
                         "q is a fixed point")
        roots = sorted({float(r) for r in roots})

        def side_sign(lo, hi):
            """Certified sign of F on (lo, hi) from the scan, else at the geometric midpoint."""
            inside = [fs[k] for k in ic if lo < qs[k] < hi]
            if inside:
                return float(np.sign(inside[0]))
            mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
            f, cert = self._f_certified(mid)
            return float(np.sign(f)) if cert else 0.0

        # what happens above the scan
        s_inf = self.asymptotic_slope()
        f_top = side_sign(roots[-1] if roots else 0.0, math.inf) if ic.size else 0.0
        if notes and notes[0].startswith("V(q) not resolved"):
            above = "unresolved"
            if f_top > 0 and s_inf >= 1 - _MARGINAL:
                above = "grows"
                notes.append(f"V(q) > q up to q = {top:.3g} and V(q)/q -> {s_inf:.6g} >= 1: q grows without "
                             f"bound from above the last fixed point")
            elif f_top > 0:
                notes.append(f"V(q) > q up to q = {top:.3g} but V(q)/q -> {s_inf:.6g} < 1: a further fixed "
                             f"point lies above the scan")
            elif s_inf < 1 - _MARGINAL:
                notes.append(f"V(q) < q at q = {top:.3g} and V(q)/q -> {s_inf:.6g} < 1: no sign of growth "
                             f"above the scan (not proven: V was not evaluated there)")
        elif f_top > 0:
            above = "grows"
        else:
            above = "contracts"

        pts = []
        for k, r in enumerate(roots):
            lo = roots[k - 1] if k > 0 else 0.0
            hi = roots[k + 1] if k + 1 < len(roots) else math.inf
            f_left = side_sign(lo, r) if r > 0 else 0.0
            f_right = side_sign(r, hi) if hi < math.inf else f_top
            slope = self.length_map_slope(r)
            from_below = f_left > 0
            from_above = f_right < 0
            stable = bool((from_below or from_above) and slope > -1 and slope <= 1 + 1e-9)
            basin = None
            if stable:
                b_hi = hi if from_above else r
                if from_above and hi == math.inf and above == "unresolved":
                    b_hi = top
                basin = (float(lo if from_below else r), float(b_hi))
            pts.append(FixedPoint(q=r, slope=float(slope), stable=stable, basin=basin,
                                  chi1=self._chi1_at(r)))
        return FixedPoints(points=tuple(pts), scanned=(0.0 if roots[:1] == [0.0] else float(qs[0]), float(top)),
                           above=above, monotone=monotone, notes=tuple(notes))

    def _fixed_point_between(self, lo: float, hi: float) -> float:
        if not self._has("second"):
            return self._kernels.fixed_point_between(self.sw2, self.sb2, lo, hi, self.rtol)
        f = [self.length_map(v) - v for v in (lo, hi)]
        if f[0] * f[1] > 0:
            raise NotConvergedError(f"{self}: V(q) - q does not change sign on [{lo:g}, {hi:g}]")
        x, ok = fast_solvers.refine(lambda _i, v: self.sw2 * self._cf.second(v) + self.sb2 - v,
                                    [lo], [f[0]], [hi], [f[1]], 4e-16, 4e-16)
        if not ok[0]:
            raise NotConvergedError(f"{self}: fixed point of V in [{lo:g}, {hi:g}] not converged")
        return float(x[0])

    def _chi1_at(self, q: float) -> float:
        if self.phi.delta_in_d1:
            return math.nan
        if q == 0.0:
            return self.sw2 * self._dphi2_at_origin()
        if self._has("slope"):
            return float(self.sw2 * self._cf.slope(q))
        return self.sw2 * self._kernels.expect(Kind.DPHI2, q, self.rtol)

    def _dphi2_at_origin(self) -> float:
        """lim_{q -> 0+} E[phi'(sqrt(q) z)^2] = (phi'(0+)^2 + phi'(0-)^2)/2 (ReLU: 1/2, not phi'(0)^2)."""
        d = self.phi.dphi(np.array([-1e-300, 1e-300]))
        return float(d[0] ** 2 + d[1] ** 2) / 2

    def q_star(self, q0: float | None = None) -> float:
        """q*: the stable fixed point of the length map reached by iterating from q^1 = q0.

        ``q0`` defaults to the ``q0`` of this MeanField.  q* is returned only inside a
        bracket [lo, hi] of q* with 1 - lo/hi <= 4e-16 on which V(q) - q changes sign, with
        both signs certified by the error bound of V (so a map that only comes within its
        quadrature error of the identity is never reported as having a fixed point), or
        where |V(q0) - q0| <= 1e-13 q0; q* = 0 exactly where V(0) = 0 and the orbit
        shrinks to 0 (e.g. odd phi, sigma_b = 0, sigma_w |phi'(0)| <= 1).

        Parameters
        ----------
        q0 : float, optional
            Squared length per neuron of the input, > 0 (default: this MeanField's q0).

        Returns
        -------
        float
            q*, the fixed point of V (Poole eq. 3, Fig. 1C) that the orbit from q0 reaches.

        Raises
        ------
        NoFixedPointError
            If q grows without bound from q0 (e.g. ReLU with sigma_w^2 > 2, or = 2 with
            sigma_b > 0; V(q) - q certified > 0 up to where V is resolved and asymptotic
            slope of V >= 1).  The message names any stable fixed point and its basin.
        NotConvergedError
            If V(q) > q as far as V can be evaluated although V(q)/q -> slope < 1 (a fixed
            point exists above, where the quadrature of phi fails).
        """
        return self._q_star(self.q0 if q0 is None else _check_q0(q0))

    def _q_star(self, q0: float) -> float:
        if q0 in self._q_star_cache:
            return self._q_star_cache[q0]
        if self._has("second", "second_zz"):
            qa, sta = fast_solvers.q_star(self._cf, self.sw2, self.sb2, q0)
            q, status = float(qa[0]), Status(int(sta[0]))
            if status not in (Status.OK, Status.Q_DIVERGES, Status.Q_UNRESOLVED, Status.Q_ZERO):
                raise NotConvergedError(f"{self}: q* search from q0 = {q0:g} failed ({status.name})")
        else:
            q, status = self._kernels.q_star(self.sw2, self.sb2, q0, self.rtol)
        if status == Status.Q_UNRESOLVED:
            s_inf = self.asymptotic_slope()
            if s_inf < 1 - _MARGINAL:
                raise NotConvergedError(
                    f"{self}: V(q) > q from q0 = {q0:g} up to q = {q:.3g}, where V stops being resolved "
                    f"(quadrature of phi fails or V - q is below its error); V(q)/q -> {s_inf:.6g} < 1, so a "
                    f"fixed point lies above. Use a smaller sigma_w or a phi that is smooth at large |x|")
            status = Status.Q_DIVERGES
        if status == Status.Q_DIVERGES:
            raise NoFixedPointError(self._divergence_message(q0))
        if status == Status.Q_ZERO:
            q = 0.0
        if q > 0 and self.length_map_slope(q) > 1 + 1e-9:
            raise NoFixedPointError(f"{self}: the fixed point q = {q:g} reached from q0 = {q0:g} is unstable")
        self._q_star_cache[q0] = float(q)
        return float(q)

    def _divergence_message(self, q0: float) -> str:
        s_inf = self.asymptotic_slope()
        msg = (f"{self}: no finite fixed point is reached from q0 = {q0:g}: V(q) > q above q0 and "
               f"V(q)/q -> sigma_w^2 (a+^2 + a-^2)/2 = {s_inf:.6g} as q -> infinity "
               f"({'> 1' if s_inf > 1 + _MARGINAL else '= 1 with V(q) - q > 0'}), so q grows without bound "
               f"with depth.")
        try:
            stable = self.fixed_points().stable
        except MeanFieldError:
            stable = ()
        if stable:
            lst = "; ".join(f"q = {p.q:.6g} for q0 in ({p.basin[0]:.6g}, {p.basin[1]:.6g})" for p in stable)
            return msg + f" Stable fixed points: {lst}. Start there (q0), or lower sigma_w."
        return msg + " Lower sigma_w."

    def length_trajectory(self, q0: float, depth: int) -> np.ndarray:
        """The orbit of the length map, q^{l+1} = V(q^l) (Poole eq. 3).

        Parameters
        ----------
        q0 : float
            q^1, the squared length per neuron of the input.
        depth : int
            Number of layers.

        Returns
        -------
        numpy.ndarray
            [q^1, ..., q^depth].
        """
        q = np.empty(int(depth))
        q[0] = q0
        for l in range(1, int(depth)):
            q[l] = self.length_map(q[l - 1])
        return q

    def convergence_depth(self, q0: float | None = None, tol: float = 0.01, max_depth: int = 1000) -> int:
        """Layers until |q^l - q*| <= tol q* from q^1 = q0 (Poole Fig. 1D).

        Parameters
        ----------
        q0 : float, optional
            q^1 (default: this MeanField's q0).
        tol : float
            Relative distance to q* that counts as arrived (Fig. 1D: 1%).
        max_depth : int
            Give up after this many layers.

        Returns
        -------
        int
            The first l with |q^l - q*| <= tol q* (0 if q0 is already there).

        Raises
        ------
        NotConvergedError
            If not reached within ``max_depth`` layers.
        """
        q0 = self.q0 if q0 is None else _check_q0(q0)
        qs = self.q_star(q0)
        if self._has("second"):
            d = int(fast_solvers.convergence_depth(self._cf, self.sw2, self.sb2, q0, qs, tol, max_depth)[0])
        else:
            d = self._kernels.convergence_depth(self.sw2, self.sb2, q0, qs, tol, max_depth, self.rtol)
        if d < 0:
            raise NotConvergedError(f"{self}: q^l not within {tol:g} of q* after {max_depth} layers")
        return int(d)

    # --- two inputs ----------------------------------------------------------
    def covariance_map(self, q11: float, q22: float, q12: float) -> float:
        r"""q12' = sigma_w^2 \int Dz1 Dz2 phi(u1) phi(u2) + sigma_b^2  (Poole eq. 5).

        Parameters
        ----------
        q11, q22 : float
            Squared lengths per neuron of the two inputs, > 0.
        q12 : float
            Their covariance, |q12| <= sqrt(q11 q22).

        Returns
        -------
        float
            The covariance at the next layer.

        Raises
        ------
        ValueError
            If q11 or q22 <= 0 or |q12| > sqrt(q11 q22).
        """
        if q11 <= 0 or q22 <= 0:
            raise ValueError(f"q11 and q22 must be > 0, got {q11}, {q22}")
        c = q12 / math.sqrt(q11 * q22)
        if not -1 - 1e-12 <= c <= 1 + 1e-12:
            raise ValueError(f"|q12| must not exceed sqrt(q11 q22): correlation {c}")
        c = min(1.0, max(-1.0, c))
        if self._has("cross"):
            return float(self.sw2 * self._cf.cross(float(q11), float(q22), c, 1.0 - c) + self.sb2)
        return self.sw2 * self._kernels.expect2(Order.PHI, Order.PHI, q11, q22, c, rtol=self.rtol) + self.sb2

    def correlation_map(self, c: float) -> float:
        """c' = C(c, q*, q*)/q*  (Poole eq. 6), computed as 1 - (1 - c') near c = 1.

        Parameters
        ----------
        c : float
            Correlation of two inputs at q*, in [-1, 1].

        Returns
        -------
        float
            Their correlation at the next layer.
        """
        return 1.0 - self.correlation_gap(c, 1.0 - float(c))

    def correlation_gap(self, c: float, one_minus_c: float | None = None) -> float:
        r"""1 - c' = sigma_w^2 E[(phi(u1) - phi(u2))^2] / (2 q*), without cancellation.

        One minus the C-map of Poole et al. 2016, eq. (6), at :math:`q_{11} = q_{22} = q^*`:
        :math:`1 - c' = \sigma_w^2 (E[\phi(u)^2] - E[\phi(u_1)\phi(u_2)]) / q^*`, written as a
        gap so that it keeps full relative accuracy as :math:`c \to 1`.

        Parameters
        ----------
        c : float
            Correlation of two inputs at q*, in [-1, 1].
        one_minus_c : float, optional
            :math:`1 - c`, given exactly when c is near 1 (default: computed as ``1 - c``).

        Returns
        -------
        float
            :math:`1 - c'`, one minus the correlation at the next layer.

        Raises
        ------
        ValueError
            If c is outside [-1, 1].
        UndefinedQuantityError
            If q* = 0 (inputs shrink to the origin; the correlation map is undefined).
        """
        c = float(c)
        if not -1 <= c <= 1:
            raise ValueError(f"correlation c must lie in [-1, 1], got {c}")
        qs = self._positive_q_star("the correlation map")
        omc = 1.0 - c if one_minus_c is None else float(one_minus_c)
        if self._has("gap"):
            return float(self.sw2 * self._cf.gap(qs, c, omc) / qs)
        return self.sw2 * self._kernels.gap(qs, c, omc, self.rtol) / qs

    def correlation_trajectory(self, c0: float, depth: int) -> np.ndarray:
        """[c^1, ..., c^depth], c^1 = c0, iterating eq. 6 at q* (1 - c tracked directly).

        The C-map dynamics of Poole et al. 2016, eq. (6) (their Fig. 2B), with the length of
        both inputs already at q*.

        Parameters
        ----------
        c0 : float
            Correlation of the two inputs at the first layer, in [-1, 1].
        depth : int
            Number of layers (length of the result).

        Returns
        -------
        numpy.ndarray of shape (depth,)
            :math:`c^l` for l = 1..depth, float64.

        Raises
        ------
        ValueError
            If c0 is outside [-1, 1].
        UndefinedQuantityError
            If q* = 0 (see :meth:`correlation_gap`).
        """
        out = np.empty(int(depth))
        c, omc = float(c0), 1.0 - float(c0)
        for i in range(int(depth)):
            out[i] = c
            omc = self.correlation_gap(c, omc)
            c = 1.0 - omc
        return out

    def c_star(self) -> float:
        r"""Stable fixed point of the C-map (Poole eq. 6; Fig. 2C): 1 in the ordered phase.

        In the chaotic phase it is found with the Mehler series of the C-map, whose
        truncation error is bounded exactly by Parseval's identity, and falls back to
        the nested adaptive quadrature where that bound is not small enough.

        Where phi has a closed form (Cho & Saul 2009 arc-cosine kernels, Williams 1997 for erf,
        sin, cos) the root of :math:`c = \mathcal{C}(c, q^*, q^*)/q^*` is searched on the
        closed-form gap instead (:func:`meanfield.fast_solvers.c_star`).

        Returns
        -------
        float
            :math:`c^*`: 1 where chi1 <= 1 (ordered phase), below 1 in the chaotic phase.
            Computed once per instance.

        Raises
        ------
        UndefinedQuantityError
            Where q* = 0: inputs shrink to the origin, where the network acts linearly
            (c^{l+1} = c^l to leading order, so the limit of c^l depends on c^1) or, if
            phi'(0) = 0, as the leading power of phi at 0 dictates.
        NotConvergedError
            If the c* search does not converge.
        """
        return self._c_star.c_star

    @cached_property
    def _c_star(self) -> CStar:
        """(c*, 1 - c*, chi_c at c*), computed once."""
        if self._has("gap", "cross_slope"):
            qs, chi1 = self._positive_q_star("c*"), self.chi1()
            cs, omc, chic, st = fast_solvers.c_star(self._cf, self.sw2, qs, chi1)
            if st[0] != Status.OK:
                raise NotConvergedError(f"{self}: c* search did not converge ({Status(int(st[0])).name})")
            return CStar(float(cs[0]), float(omc[0]), float(chic[0]))
        return self._kernels.c_star(self.sw2, self._positive_q_star("c*"), self.chi1(), self.rtol)

    def chi_c(self, c: float | None = None) -> float:
        """Slope of the C-map, chi_c = sigma_w^2 E[phi'(u1) phi'(u2)], at c (default c*).

        Parameters
        ----------
        c : float, optional
            Correlation in [-1, 1] (default: c*, where chi_c gives xi_c).

        Returns
        -------
        float
            chi_c; at c = 1 it equals chi1.
        """
        self._require_d1("chi_c")
        if c is not None and not -1 <= float(c) <= 1:
            raise ValueError(f"correlation c must lie in [-1, 1], got {c}")
        if self.q_star() == 0.0 and c is not None:
            return self.chi1()     # u1 = u2 = 0: E[phi'(0)^2] whatever c is
        qs = self._positive_q_star("chi_c at c*")
        if c is None:
            return self._c_star.chi_c
        if c == 1.0:
            return self.chi1()
        if self._has("cross_slope"):
            return float(self.sw2 * self._cf.cross_slope(qs, qs, float(c), 1.0 - float(c)))
        return self.sw2 * self._kernels.expect2(Order.DPHI, Order.DPHI, qs, qs, c, 1.0 - c, self.rtol)

    # --- chi1, chi2, depth scales, curvature ----------------------------------
    def chi1(self) -> float:
        r"""chi1 = sigma_w^2 \int Dz phi'(\sqrt{q*} z)^2  (Poole eq. 7).

        Returns
        -------
        float
            chi1 at q* (> 1: chaotic phase, < 1: ordered, = 1: the critical line).

        Raises
        ------
        UndefinedQuantityError
            If phi' has Dirac deltas (phi jumps).
        NoFixedPointError
            If there is no q* reached from q0.
        """
        self._require_d1("chi1")
        return self._chi1_at(self.q_star())

    def chi2(self) -> float:
        r"""chi2 = sigma_w^2 \int Dz phi''(\sqrt{q*} z)^2  (Poole eq. 9).

        Returns
        -------
        float
            chi2 at q*: the growth of extrinsic curvature (eq. 8).

        Raises
        ------
        UndefinedQuantityError
            If phi'' has Dirac deltas (piecewise-linear phi).
        NoFixedPointError
            If there is no q* reached from q0.
        """
        self._require_d2("chi2")
        if self._has("curvature"):
            return float(self.sw2 * self._cf.curvature(self.q_star()))
        return self.sw2 * self._kernels.expect(Kind.D2PHI2, self.q_star(), self.rtol)

    def depth_scales(self) -> DepthScales:
        """(xi_q, xi_c) of Schoenholz et al. 2017; see :class:`DepthScales`.

        ``inf`` at criticality (slope 1).  Where q* = 0 and phi'(0) != 0 (e.g. tanh, sigma_b = 0,
        sigma_w <= 1) the network is linear at the origin: c^{l+1} = c^l to leading order, so
        deviations of c never decay exponentially and xi_c = inf; xi_q = -1/log(sigma_w^2 phi'(0)^2).

        Returns
        -------
        DepthScales
            xi_q = depth_scale(dV/dq at q*), xi_c = depth_scale(chi_c at c*)
            (:func:`meanfield.depth_scale.depth_scale`).

        Raises
        ------
        UndefinedQuantityError
            Where q* = 0 and phi is not linear at the origin (xi_c undefined).
        """
        qs = self.q_star()
        slope = self.length_map_slope(qs)
        if qs == 0.0:
            d = self.phi.dphi(np.array([-1e-300, 1e-300]))
            if d[0] == 0.0 or d[0] != d[1]:
                raise UndefinedQuantityError(
                    f"{self}: q* = 0 and phi is not linear with phi'(0) != 0 at the origin, so correlations "
                    f"there follow the leading behaviour of phi at 0, not chi_c: xi_c is undefined "
                    f"(xi_q = {_depth(slope):g})")
            return DepthScales(xi_q=_depth(slope), xi_c=math.inf)
        return DepthScales(xi_q=_depth(slope), xi_c=_depth(self.chi_c()))

    def curvature(self, depth: int) -> Curvature:
        r"""Poole eq. 8 for the circle of squared radius q* per neuron placed at layer 1:

        g_E^l = chi1 g_E^{l-1},  kappa2^l = 3 chi2/chi1^2 + kappa2^{l-1}/chi1,
        g_E^1 = q*,  kappa2^1 = 1/q*.

        Parameters
        ----------
        depth : int
            Number of layers, >= 1.

        Returns
        -------
        Curvature
            Per layer g_E (squared local stretch), kappa2 (squared extrinsic curvature) and the
            Euclidean and Grassmannian lengths L_E, L_G of the circle.

        Raises
        ------
        ValueError
            If depth is not an integer >= 1.
        UndefinedQuantityError
            If phi'' has Dirac deltas (chi2 undefined).
        """
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
            raise ValueError(f"depth is the number of layers, an integer >= 1; got {depth!r}")
        self._require_d2("the curvature recursion")
        qs = self._positive_q_star("the curvature recursion")
        chi1, chi2 = self.chi1(), self.chi2()
        n = int(depth)
        g = np.empty(n)
        k2 = np.empty(n)
        g[0], k2[0] = qs, 1.0 / qs
        for i in range(1, n):
            g[i] = chi1 * g[i - 1]
            k2[i] = 3 * chi2 / chi1 ** 2 + k2[i - 1] / chi1
        return Curvature(layer=np.arange(1, n + 1), g_E=g, kappa2=k2,
                         L_E=2 * np.pi * np.sqrt(g), L_G=2 * np.pi * np.sqrt(k2 * g))

    def weight_chaos(self, rho: float, layer: int, depth: int) -> np.ndarray:
        r"""Function-space correlation per layer when one layer's weights move (SM App. F).

        Two networks share every weight and bias except W^{layer}, whose entries have
        correlation ``rho`` between the two (W(tau) = sqrt(1-tau^2) W0 + tau W1 gives
        rho = sqrt(1-tau1^2) sqrt(1-tau2^2) + tau1 tau2).  For the same input circle at
        q*, the hidden representations agree below ``layer`` (c = 1); at ``layer``

            c^{layer} = (rho sigma_w^2 E[phi(u)^2] + sigma_b^2) / q* = (rho (q* - sigma_b^2) + sigma_b^2)/q*,

        and above it c^l = C(c^{l-1}) (eq. 6).

        Parameters
        ----------
        rho : float
            Correlation in [-1, 1] of the moved layer's weights between the two networks.
        layer : int
            The layer whose weights move (1-based).
        depth : int
            Number of layers.

        Returns
        -------
        numpy.ndarray
            [c^1, ..., c^depth].
        """
        if not -1 <= rho <= 1:
            raise ValueError(f"rho is a correlation in [-1, 1], got {rho}")
        layer, depth = int(layer), int(depth)
        if not 2 <= layer <= depth:
            raise ValueError(f"the moved layer must satisfy 2 <= layer <= depth (layer 1 holds the "
                             f"input circle); got layer={layer}, depth={depth}")
        qs = self._positive_q_star("weight chaos")
        out = np.ones(depth)
        omc = (1.0 - rho) * (qs - self.sb2) / qs
        out[layer - 1] = 1.0 - omc
        for i in range(layer, depth):
            omc = self.correlation_gap(1.0 - omc, omc)
            out[i] = 1.0 - omc
        return out

    # --- guards ----------------------------------------------------------------
    def _positive_q_star(self, what: str) -> float:
        qs = self.q_star()
        if qs == 0.0:
            smooth = self.phi.dphi(np.array([-1e-300]))[0] == self.phi.dphi(np.array([1e-300]))[0]
            why = ("the network is linear there, c^{l+1} = c^l to leading order, so the limit of c^l "
                   "depends on the input's c^1" if self._dphi2_at_origin() != 0.0 and smooth else
                   "the network is positively homogeneous there" if not smooth else
                   "correlations there follow the leading power of phi at 0")
            raise UndefinedQuantityError(
                f"{self}: q* = 0 (every input shrinks to the origin; {why}), so {what} is undefined; "
                f"use sigma_b > 0 or a larger sigma_w")
        return qs

    def _require_d1(self, what: str) -> None:
        if self.phi.delta_in_d1:
            raise UndefinedQuantityError(
                f"{what} is undefined for phi = {self.phi.name}: phi jumps, so phi' contains a "
                f"Dirac delta and E[phi'^2] is infinite")

    def _require_d2(self, what: str) -> None:
        self._require_d1(what)
        if self.phi.delta_in_d2:
            raise UndefinedQuantityError(
                f"{what} is undefined for phi = {self.phi.name}: phi' jumps at {self.phi.kinks}, so "
                f"phi'' contains Dirac deltas and E[phi''^2] is infinite. Piecewise-linear networks "
                f"have zero local curvature (Poole et al., Sec. 7); compare lengths and "
                f"correlations instead")


def _depth(chi: float) -> float:
    """:func:`meanfield.depth_scale.depth_scale` of a slope at a fixed point reported as stable;
    |chi| > 1 there is rounding at criticality up to 1e-9 (xi = inf), an error beyond (it used to
    give xi = -4.5e15)."""
    if abs(chi) > 1.0 + 1e-9:
        raise NotConvergedError(f"slope {chi!r} > 1 at a fixed point reported as stable")
    return depth_scale(chi)


def _check_q0(q0) -> float:
    if isinstance(q0, bool) or not isinstance(q0, (int, float, np.floating, np.integer)) \
            or not (math.isfinite(q0) and q0 > 0):
        raise ValueError(f"q0 is the squared length per neuron of the input, a finite number > 0; got {q0!r}")
    return float(q0)
