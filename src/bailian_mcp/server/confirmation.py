"""Asking the user, through the client, to confirm a call quoted above BAILIAN_CONFIRM_ABOVE_CNY.

The SDK's resolver machinery asks: on protocol versions with a back channel (2025-11-25 and earlier) it sends
`elicitation/create` during the call; on 2026-07-28 the call returns `input_required` with the question, and the
client calls the tool again with the answer (the tool body then runs again: nothing has been sent before the
question, so that is safe). A client that cannot ask gets the refusal, which says to call again with `confirm`.
"""

from __future__ import annotations

from contextvars import ContextVar

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, Resolve
from mcp.server.mcpserver.resolve import build_resolver_plans, resolve_arguments
from mcp.types import InputRequiredResult
from pydantic import BaseModel, Field

from bailian_mcp.jobs.quotes import ConfirmationNeeded


class Confirmation(BaseModel):
    confirm: bool = Field(description="Send it: the call is paid for.")


_needed: ContextVar[ConfirmationNeeded | None] = ContextVar("confirmation_needed", default=None)


def can_ask(ctx: Context) -> bool:
    """Whether the client said it can put a form question to the user."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def ask_to_confirm(ctx: Context) -> Elicit[Confirmation] | None:
    """The question for the call at hand (a resolver: its module and name key the question on the wire)."""
    needed = _needed.get()
    if needed is None or not can_ask(ctx):
        return None
    cost = needed.cost
    return Elicit(
        f"Send this call? It is quoted {cost.amount:g} {cost.currency} ({cost.basis}), above the "
        f"{needed.threshold:g} CNY that needs your confirmation.",
        Confirmation,
    )


_QUESTIONS = {"confirmation": (Resolve(ask_to_confirm), True)}
_PLANS = build_resolver_plans(_QUESTIONS, tool_arg_names=set())


async def confirmed(
    ctx: Context, needed: ConfirmationNeeded, arguments: dict[str, object]
) -> bool | InputRequiredResult:
    """Ask the user to confirm the call `needed` says is over the threshold: whether they did; or, on a protocol
    version without a back channel, the question to return (the client calls again with the answer)."""
    token = _needed.set(needed)
    try:
        answers = await resolve_arguments(_QUESTIONS, _PLANS, arguments, ctx)
    finally:
        _needed.reset(token)
    if isinstance(answers, InputRequiredResult):
        return answers
    answer = answers["confirmation"]
    return isinstance(answer, AcceptedElicitation) and isinstance(answer.data, Confirmation) and answer.data.confirm
