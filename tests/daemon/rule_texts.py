"""Rule files the daemon tests share: a drift rule over pushed feature values with the
training file it reads, and an SLO over pushed request counters."""

from __future__ import annotations

from collections.abc import Sequence


def drift_rules(*, interval: str, by: str, severity: str, more: str = "") -> str:
    """The baseline "train" (rules/train.csv, 10 bins) and a group `drift` whose rule
    FeatureDrift fires on a PSI over 0.25 in the last hour of feature_value{model="churn"};
    `more` is put in the group after it."""
    return f'''\
baseline "train" {{
  file = "train.csv"
  bins = 10
}}

group drift {{
  interval = {interval}
  owner    = "ml"

  alert FeatureDrift {{
    when     = psi(feature_value{{model="churn"}}[1h], baseline="train", min_samples=100)
                 by ({by}) > 0.25
    severity = "{severity}"
    runbook  = "https://runbooks.example.com/drift"
  }}
{more}}}
'''


def training(features: Sequence[str], shift: int = 0) -> str:
    """A training file of 200 rows, one column per feature, each holding i + shift."""
    return ",".join(features) + "\n" + "".join(
        ",".join(str(i + shift) for _ in features) + "\n" for i in range(200))


def checkout_slo(interval: str) -> str:
    """A group `checkout` with the SLO checkout: 99% of requests_total not code 500."""
    return f'''\
group checkout {{
  interval = {interval}
  owner    = "payments"
  slo checkout {{
    objective = 99%
    errors    = requests_total{{code="500"}}
    total     = requests_total
    runbook   = "https://runbooks.example.com/checkout/slo"
  }}
}}
'''
