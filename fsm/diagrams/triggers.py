"""The manual's table of triggers, rendered from the engine's steps, rows and call registry.

docs/machine.md holds it between ``<!-- BEGIN generated:triggers -->`` and its end marker;
``firmaio diagram --readme docs/machine.md`` (``make diagrams``) rewrites it, and a test fails
when the page and the engine disagree.
"""

from __future__ import annotations

from ..driving.engine import Engine, default_engine
from ..machine.steps import Step


def _states(states: list[str]) -> str:
    return ", ".join(f"`{state}`" for state in states)


def _when(step: Step, sources: list[str]) -> str:
    """When the trigger is fired, read from its step."""
    if step.recovers is not None:
        when = f"first, when `{step.recovers}`'s outcome is unknown (a crash, a lost answer)"
    elif step.fired_from:
        driven = [s for s in sources if s in step.fired_from]
        when = "by the driver" + ("" if driven == sources else f" from {_states(driven)}")
    else:
        when = "on request"
    if step.takes_input:
        when += ", with the operator's input"
    if step.opens_intent:
        when += "; opens an intent"
    if step.resends:
        when += "; tried again after a passing refusal"
    return when


def triggers_markdown(engine: Engine | None = None) -> str:
    """Each trigger of ``engine`` (the built-in one by default) with its API call, the states it
    can be fired from and when it is, as Markdown, in the order of its steps."""
    engine = engine if engine is not None else default_engine()
    out = ["| Trigger | API call | From | When |", "|---|---|---|---|"]
    for step in engine.steps:
        sources: list[str] = []
        for row in engine.table:
            if row.trigger == step.trigger and row.source not in sources:
                sources.append(row.source)
        if step.call is None:
            call = "none"
        else:
            summary = engine.calls[step.call].summary
            call = f"`{step.call}`" + (f": {summary}" if summary else "")
        out.append(f"| `{step.trigger}` | {call} | {_states(sources)} | {_when(step, sources)} |")
    return "\n".join(out) + "\n"
