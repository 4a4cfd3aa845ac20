"""Hypothesis strategies and properties for fused-kernel fuzzing (public API).

Everything public is re-exported here from private modules; import from ``fusefuzz.properties`` only.
"""

if __name__ != "fusefuzz.properties":  # imported under its bare name from a checkout: see fusefuzz._checkout
    from fusefuzz._checkout import hand_over

    hand_over(__name__, __file__)
else:
    from ._matrix_strategies import layernorm_examples, linear_examples
    from ._strategies import conv2d_examples, seeds, value_regimes

    __all__ = ["conv2d_examples", "layernorm_examples", "linear_examples", "seeds", "value_regimes"]
