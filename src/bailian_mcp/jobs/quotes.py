"""What a job will cost, before anything is sent: what its request will be billed for (`Request.usage`) at its
model's price — the same reckoning that prices a finished job from DashScope's `usage`.

Quotes decide three things, before sending: a dry run's answer, the daily budget (BAILIAN_BUDGET_CNY) and whether
the user must confirm (BAILIAN_CONFIRM_ABOVE_CNY). A request whose billed usage cannot be known in advance
(tokens, seconds of audio) has no quote; its price is described instead.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bailian_mcp.capabilities.base import Request
from bailian_mcp.errors import BailianError
from bailian_mcp.jobs.results import Cost, sum_costs
from bailian_mcp.jobs.store import Budget


def quote(request: Request) -> Cost | None:
    """What the request will cost (a job made of several tasks: their sum), or None when that is not known."""
    costs = []
    for piece in request.parts or (request,):
        cost = None if piece.usage is None else piece.model.price.cost(piece.usage)
        if cost is None:
            return None
        costs.append(cost)
    if len(costs) == 1:
        return costs[0]
    totals = sum_costs(costs, of="tasks")
    return totals[0] if len(totals) == 1 else None


def unquoted(request: Request) -> str:
    """Why a request has no quote, and how it is priced."""
    price = request.model.price.describe()
    return f"{request.model.name} is priced at {price}; what it is billed is known once it is done"


def in_cny(cost: Cost | None) -> float | None:
    return cost.amount if cost is not None and cost.currency == "CNY" else None


def day_start(now: float | None = None) -> float:
    """The start of the day (UTC) of `now` (default: now), as a Unix time: budgets are per UTC day."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def todays_budget(limit_cny: float | None) -> Budget | None:
    """The budget for the jobs recorded since the start of the day (UTC), if there is one."""
    return None if limit_cny is None else Budget(limit_cny=limit_cny, since=day_start())


class ConfirmationNeeded(BailianError):
    """A job quoted above BAILIAN_CONFIRM_ABOVE_CNY, not confirmed: refused before anything was sent. The face asks
    the user (an MCP client that can ask), or says how to confirm (`confirm: true`, `--confirm`)."""

    def __init__(self, cost: Cost, threshold: float) -> None:
        self.cost, self.threshold = cost, threshold
        super().__init__(
            f"Not sent: this call is quoted {cost.amount:g} {cost.currency} ({cost.basis}), above "
            f"BAILIAN_CONFIRM_ABOVE_CNY={threshold:g}, so the user must confirm it.",
            next_step="confirm",
        )
