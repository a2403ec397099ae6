"""A work item's states and every move between them, written down once.

The store (bistand/queue/store.py) takes its `WHERE state IN (...)` conditions from this table,
the operator's commands (`queue retry|skip`, the dashboard's buttons) ask it whether an action
is allowed and why not, and the stateful test (tests/test_queue_state_machine.py) checks every
change it sees against it. docs/queue.md shows the same table.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

ItemState = Literal["pending", "in_progress", "done", "failed_business", "parked", "skipped"]
STATES: tuple[ItemState, ...] = ("pending", "in_progress", "done", "failed_business", "parked", "skipped")
FINAL: frozenset[str] = frozenset({"done", "failed_business", "parked", "skipped"})
"""Where an item comes to rest (parked, failed and skipped only until an operator acts)."""

LABELS: dict[str, str] = {"pending": "väntar", "in_progress": "pågår", "done": "klar", "failed_business": "affärsfel",
                          "parked": "behöver åtgärd", "skipped": "hoppades över"}


class Transition(NamedTuple):
    action: str
    source: ItemState
    target: ItemState
    why: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition("claim", "pending", "in_progress", "a runner takes a due item (a new lease generation)"),
    Transition("claim", "in_progress", "in_progress",
               "a runner takes over an item whose lease ran out (its runner died; a new generation)"),
    Transition("claims_exhausted", "in_progress", "parked",
               "claimed max_claims times without a release: parked CLAIMS_EXHAUSTED instead of taken over"),
    Transition("complete", "in_progress", "done", "the holder saves DONE"),
    Transition("fail_business", "in_progress", "failed_business", "the holder saves FAILED BUSINESS (bad data)"),
    Transition("fail_application", "in_progress", "pending",
               "the holder saves FAILED APPLICATION: due again after the next delay"),
    Transition("fail_application", "in_progress", "parked",
               "FAILED APPLICATION out of tries (max_failures), or an error a retry cannot fix "
               "(no norm table, a write held twice)"),
    Transition("unclaim", "in_progress", "pending", "the holder hands back an item taken ahead, untouched"),
    Transition("skip", "pending", "skipped", "operator: handled by hand"),
    Transition("skip", "parked", "skipped", "operator: handled by hand"),
    Transition("skip", "failed_business", "skipped", "operator: handled by hand"),
    Transition("retry", "parked", "pending", "operator: try again, the count of tries kept"),
    Transition("retry", "failed_business", "pending", "operator: try again, the count of tries kept"),
    Transition("retry", "skipped", "pending", "operator: try again, the count of tries kept"),
)

OPERATOR_ACTIONS = ("retry", "skip")
_ACTION_WORDS = {"retry": "köas om", "skip": "hoppas över"}


def sources(action: str) -> tuple[ItemState, ...]:
    """The states `action` may start from, in the table's order."""
    found: list[ItemState] = []
    for transition in TRANSITIONS:
        if transition.action == action and transition.source not in found:
            found.append(transition.source)
    if not found:
        raise KeyError(f"no such action in the state table: {action}")
    return tuple(found)


def allowed(action: str, state: str) -> bool:
    return state in sources(action)


def is_transition(source: str, target: str) -> bool:
    """True when some action of the table moves an item from `source` to `target`."""
    return any(t.source == source and t.target == target for t in TRANSITIONS)


def sql_states(action: str) -> str:
    """`('parked', 'failed_business', ...)` for a `state IN` condition (constants of this table only)."""
    return "(" + ", ".join(f"'{state}'" for state in sources(action)) + ")"


def refusal(action: str, application_id: str, state: str | None) -> str:
    """Why an operator's action is refused, in Swedish for the person who asked."""
    if state is None:
        return f"{application_id} finns inte i kön."
    allowed_labels = ", ".join(f"«{LABELS[s]}»" for s in sources(action))
    return (f"{application_id} kan inte {_ACTION_WORDS[action]}: läget är «{LABELS[state]}»; "
            f"bara ärenden i läget {allowed_labels} kan {_ACTION_WORDS[action]}.")


def markdown_table() -> str:
    """The table as docs/queue.md shows it (a test keeps the two equal)."""
    rows = ["| action | from | to | when |", "|---|---|---|---|"]
    rows += [f"| `{t.action}` | {t.source} | {t.target} | {t.why} |" for t in TRANSITIONS]
    return "\n".join(rows)
