"""``gurobi-lex``: the four levels in one Gurobi model by its native hierarchical
multi-objective optimisation (:func:`optimizer.backends.gurobi.hierarchical`); the generic
driver hands it the whole model (:func:`optimizer.lexico.solve_with_backend`)."""

from .gurobi import FEATURES, OPTIONS, STATUS, available, unavailable_reason, version
from .gurobi import hierarchical as solve_levels

NAME = "gurobi-lex"
__all__ = ["FEATURES", "OPTIONS", "STATUS", "available", "solve_levels", "unavailable_reason", "version"]
