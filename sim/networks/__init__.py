"""Finite random networks: the fully connected network and its forward passes (Poole et al. 2016, eq. 1),
and networks with correlated weights (weight chaos, Poole et al. App. F)."""
from .network import LayerJet, Network, NetworkError, RandomNetwork
from .weight_chaos import WeightChaosResult, simulate_weight_chaos, weight_correlation, weight_family

__all__ = ["LayerJet", "Network", "NetworkError", "RandomNetwork", "WeightChaosResult", "simulate_weight_chaos",
           "weight_correlation", "weight_family"]
