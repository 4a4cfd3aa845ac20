"""What ends a campaign early, raised inside Hypothesis' test function. Both are ``BaseException``, not
``Exception``, so Hypothesis neither counts nor shrinks them: the search ends at once and the findings so far stand.
Below both :mod:`fusefuzz.harness.campaign` and :mod:`fusefuzz.harness.isolation`, which raise them."""


class BudgetSpent(BaseException):
    """The campaign's wall-clock budget (``budget_s``) is spent."""


class ExamplesSpent(BaseException):
    """The campaign ran its cap of examples, shrinking included (``campaign.SHRINK_CAP_FACTOR``)."""
