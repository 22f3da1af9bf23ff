"""Expressivity of deep random networks.

Modules: ``trajectory`` (Raghu et al. 2017: trajectory length, transitions, patterns,
dichotomies), ``shallow`` (Poole et al. 2016 Theorem 1: shallow networks cannot be
exponentially expressive), ``fourier`` (Poole et al. Fig. 5: how well a network's features
fit Fourier modes) and ``sign_changes`` (the sign-change count both use).
"""
from .fourier import FourierFit, fourier_basis, network_expressivity, output_features, regression_error
from .shallow import (
    ShallowCheck,
    activation_lengths,
    check_poole_theorem1,
    optimised_shallow_network,
    poole_shallow_length_bound,
    sign_changes,
)
from .trajectory import (
    Dichotomies,
    PatternsAlong,
    TrajectoryLength,
    Transitions,
    dichotomies,
    length_growth_upper_bound,
    patterns_along,
    raghu_theorem1_rate,
    trajectory_length,
    transitions,
)

__all__ = [
    "Dichotomies",
    "FourierFit",
    "PatternsAlong",
    "ShallowCheck",
    "TrajectoryLength",
    "Transitions",
    "activation_lengths",
    "check_poole_theorem1",
    "dichotomies",
    "fourier_basis",
    "length_growth_upper_bound",
    "network_expressivity",
    "optimised_shallow_network",
    "output_features",
    "patterns_along",
    "poole_shallow_length_bound",
    "raghu_theorem1_rate",
    "regression_error",
    "sign_changes",
    "trajectory_length",
    "transitions",
]
