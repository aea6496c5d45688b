"""The state machine is written once (taskcore.states) and drawn, shown and enumerated from it: no drift."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from scheduler_app.responses import RunOutcome as ApiRunOutcome
from scheduler_app.responses import TaskStatus
from taskcore.states import (
    FINAL_STATES,
    TRANSITIONS,
    RunOutcome,
    TaskState,
    mermaid_state_diagram,
)

ARCHITECTURE = Path(__file__).parents[2] / "docs" / "architecture.md"


def drawn_diagram() -> str:
    """The mermaid block of docs/architecture.md that draws the state machine."""
    blocks = re.findall(r"```mermaid\n(.*?)```", ARCHITECTURE.read_text(), flags=re.S)
    [diagram] = [block for block in blocks if block.startswith("stateDiagram")]
    return str(diagram).rstrip("\n")


def test_the_drawing_in_the_architecture_doc_is_the_state_machine_of_the_code() -> None:
    assert drawn_diagram() == mermaid_state_diagram()


def test_every_task_state_is_reachable_and_every_final_state_ends_the_diagram() -> None:
    reached = {arrow.target for arrow in TRANSITIONS if arrow.target is not None}
    ending = {arrow.source for arrow in TRANSITIONS if arrow.target is None}

    assert reached == set(TaskState)
    assert ending == set(FINAL_STATES)
    assert not any(arrow.source in FINAL_STATES and arrow.target is not None for arrow in TRANSITIONS)


def test_the_apis_statuses_and_outcomes_are_the_enums_words() -> None:
    assert set(get_args(TaskStatus)) == {state.value for state in TaskState}
    assert set(get_args(ApiRunOutcome)) == {outcome.value for outcome in RunOutcome} - {RunOutcome.DUPLICATE.value}


def test_every_state_is_drawn_with_its_own_word() -> None:
    drawn = set(re.findall(r"(\S+) --> (\S+?):", drawn_diagram()))

    assert {word for arrow in drawn for word in arrow} - {"[*]"} == {state.value for state in TaskState}


def test_a_listing_filters_on_every_stored_state_and_on_no_derived_one() -> None:
    from scheduler_app.routers.schedules import ListedStatus
    from taskcore.ledger import STATES

    assert set(get_args(ListedStatus)) == {state.value for state in STATES}
