"""The algorithms of the compiled kernels, one module per method of docs/derivations.md Sec. 7.

Each fragment is a real module.  Every kernel takes the nonlinearity as its first argument ``P``
(a :class:`meanfield.codes.PhiCode`) and calls phi through it (:mod:`.phi_call`), so the fragments
compile once for every phi: the machinery module (:func:`meanfield.kernels.machinery_source`) is
their sources in the order of :data:`ORDER` with their imports of :mod:`meanfield.codes` and of
each other removed.  Tests run each fragment on its own with a stand-in cubic phi
(:mod:`._phi_stub`, bound by :class:`meanfield.kernels.BoundKernels`).

=============  ==================================================================
fragment       method (docs/derivations.md Sec. 7)
=============  ==================================================================
phi_call       calling phi and its derivatives through the addresses in P
integrands     the integrands g of E[g(m + s z)], rotated inner rule included
gk15           1: globally adaptive Gauss-Kronrod (7/15) in one dimension
taylor_gap     4: the gap 1 - c' near c = 1 by its certified expansion
nested2d       2: two-dimensional expectations, nested adaptive quadrature
rotated        6: the C-map near c = 1 in rotated coordinates (smooth phi)
hermite        3: Hermite coefficients a_n of phi(sqrt(q) z)
tables         5: Chebyshev tables in ln q, moments from a table or by quadrature
mehler         3: Mehler's series of the C-map with its certified truncation bound
roots          bracketed secant (Illinois) steps, shared by every root search
q_star         the length map, its slope and the fixed point q* (Poole eq. 3)
c_star         the fixed point c* of the C-map and chi_c (Poole eq. 6)
layer_maps     one layer of the two-input maps at points (q, c)
phase_grid     every quantity of one phase-diagram point, and blocks of them
critical       the critical line chi1 = 1
=============  ==================================================================
"""

#: Fragments in dependency order (each imports only fragments before it).
ORDER = ("phi_call", "integrands", "gk15", "taylor_gap", "nested2d", "rotated", "hermite", "tables", "mehler", "roots",
         "q_star", "c_star", "layer_maps", "phase_grid", "critical")
