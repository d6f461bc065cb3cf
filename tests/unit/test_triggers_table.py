"""docs/machine.md's table of triggers is what the engine's steps, rows and call registry render,
and lists every trigger."""

from __future__ import annotations

from pathlib import Path

from firmaio.adapters.cli.diagram import GENERATED, generated_block
from firmaio.fsm import STEPS, TABLE, Engine, Row, State, Step, Trigger
from firmaio.fsm.diagrams import triggers_markdown
from firmaio.fsm.driving import CALLS, Call, Port
from firmaio.fsm.machine import spine_guards as g

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
PAGE = "docs/machine.md"
START, END = "<!-- BEGIN generated:triggers -->\n", "<!-- END generated:triggers -->"


def _block() -> str:
    text = (ROOT / PAGE).read_text()
    assert START in text, f"{PAGE} lacks the start of the generated block 'triggers'"
    assert END in text, f"{PAGE} lacks the end of the generated block 'triggers'"
    return text.split(START, 1)[1].split(END, 1)[0]


def test_the_manual_s_triggers_table_matches_the_engine() -> None:
    assert _block() == triggers_markdown(), f"{PAGE}'s triggers are stale: run `make diagrams`"
    assert "triggers" in GENERATED
    assert generated_block("triggers") == triggers_markdown()


def test_the_table_lists_every_trigger_once_with_its_call() -> None:
    rows = [line for line in _block().splitlines() if line.startswith("| `")]
    named = [line.split("`")[1] for line in rows]
    assert sorted(named) == sorted(Trigger)
    assert len(named) == len(Trigger) == 18
    for step in STEPS:
        [line] = [row for row in rows if row.startswith(f"| `{step.trigger}` |")]
        call = "none" if step.call is None else f"`{step.call}`: {CALLS[step.call].summary}"
        assert f"| {call} |" in line, line


def test_the_block_lives_only_in_the_manual() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    holders = [str(p.relative_to(ROOT)) for p in pages if START.strip() in p.read_text()]
    assert holders == [PAGE]


def test_a_trigger_of_one_s_own_is_rendered_with_its_call_and_when() -> None:
    async def remind(api: object, flow: object, now: float) -> object:
        raise AssertionError("not called: the table is only rendered")

    engine = Engine(
        (*TABLE, Row(State.NOTIFIED, "remind", State.NOTIFIED, g.is_still_open, ("api.polling",))),
        (*STEPS, Step("remind", "send_reminder")),
        calls={**CALLS, "send_reminder": Call(Port.SIGNATURE, remind, "`POST /reminders`")},
    )
    assert "| `remind` | `send_reminder`: `POST /reminders` | `NOTIFIED` | on request |" in (
        triggers_markdown(engine)
    )
