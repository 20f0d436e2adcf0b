"""Alert rules: their definitions, evaluation, and the alert state machine."""
