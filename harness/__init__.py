"""fusefuzz's engine: campaigns, tolerance policies, the runner, the CLI and the pytest plugin.

Importing this package does not import triton; :func:`fusefuzz.harness.backend.select` runs before any kernel
module is loaded (the CLI, the pytest plugin and the candidate loader call it).
"""

if __name__ != "fusefuzz.harness":  # imported under its bare name from a checkout: see fusefuzz._checkout
    from fusefuzz._checkout import hand_over

    hand_over(__name__, __file__)
else:
    from fusefuzz import __version__  # noqa: F401
