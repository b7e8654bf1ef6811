"""Evaluate constant expressions outside lambdas (``var x = 2 * 5m``).

Kapacitor hands every binary expression outside a lambda, after replacing
vars by their values, to its lambda engine and evaluates it once against an
empty scope; :mod:`expr` is that engine, so operators, the built-in
functions (``var n = 1 * strLength('abc')``) and their error texts are the
same as inside lambdas.
"""

from kapacitord_tw.tick.expr import evaluate_constant


def fold(node):
    """Return the value of a constant expression tree."""
    return evaluate_constant(node)
