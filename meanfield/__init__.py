"""Mean-field theory of deep random networks (Poole et al. 2016 and successors)."""
from .expression import ExpressionError, parse_expression
from .nonlinearity import Nonlinearity, registry_names

__all__ = ["Nonlinearity", "registry_names", "parse_expression", "ExpressionError"]
