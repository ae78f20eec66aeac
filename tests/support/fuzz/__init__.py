"""The fuzz suites' helpers: the targets they call (targets), the hypothesis strategies that make the calls
(strategies) and what every call must come back as (checks)."""
