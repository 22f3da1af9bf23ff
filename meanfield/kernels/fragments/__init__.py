"""The algorithms of the compiled kernels, one module per method of docs/derivations.md Sec. 7.

Each fragment is a real module written against a stand-in phi (:mod:`._phi_stub`); the kernel
module of a nonlinearity (:func:`meanfield.kernels.module_source`) is its phi, printed by sympy,
followed by the fragments' sources in the order of :data:`ORDER` with their imports of the stub,
of :mod:`meanfield.codes` and of each other removed.  Numba compiles and caches that one file,
so every phi gets its own machine code.

=============  ==================================================================
fragment       method (docs/derivations.md Sec. 7)
=============  ==================================================================
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
