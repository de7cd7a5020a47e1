"""The event catalogue lists every event type the source emits."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import cyphera
from cyphera.webhook.events import ALL_EVENTS, EVENT_TYPES, is_known

SOURCE = Path(cyphera.__file__).parent
EVENT_TYPE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Parameter:
    """Where a recording function takes the event type: by keyword, or at a position."""

    name: str
    position: int | None


# `cyphera.event.service.record(session, *, ..., type=...)`, the function every event goes through.
# Functions that pass one of their own parameters on as the type (`record_event(..., kind)`) are
# recorders too, found by `_recorders`.
BASE_RECORDERS = {"record": Parameter("type", None)}


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _strings(node: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _argument(call: ast.Call, parameter: Parameter) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == parameter.name:
            return keyword.value
    if parameter.position is not None and parameter.position < len(call.args):
        return call.args[parameter.position]
    return None


def _parameters(function: Function) -> list[str]:
    arguments = function.args
    return [a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]]


def _assigned_strings(function: Function, name: str) -> set[str]:
    """Every string literal bound to `name` in `function`: ``name = "…"``, ``for name in (…)``."""
    found: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(
                isinstance(t, ast.Name) and t.id == name for t in targets
            ):
                found |= _strings(node.value)
        elif isinstance(node, ast.For | ast.comprehension):
            if isinstance(node.target, ast.Name) and node.target.id == name:
                found |= _strings(node.iter)
    return found


def _type_arguments(
    functions: list[Function], recorders: dict[str, Parameter]
) -> list[tuple[Function, ast.expr]]:
    """Each (function, expression) where a function passes an event type to a recorder."""
    found = []
    for function in functions:
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            parameter = recorders.get(_called_name(call) or "")
            argument = _argument(call, parameter) if parameter is not None else None
            if argument is not None:
                found.append((function, argument))
    return found


def _recorders(functions: list[Function]) -> dict[str, Parameter]:
    """`BASE_RECORDERS` and every function that hands one of its parameters on as the type."""
    recorders = dict(BASE_RECORDERS)
    while True:
        added = False
        for function, argument in _type_arguments(functions, recorders):
            parameters = _parameters(function)
            if isinstance(argument, ast.Name) and argument.id in parameters:
                if function.name not in recorders:
                    positional = [*function.args.posonlyargs, *function.args.args]
                    index = parameters.index(argument.id)
                    recorders[function.name] = Parameter(
                        argument.id, index if index < len(positional) else None
                    )
                    added = True
        if not added:
            return recorders


def emitted_event_types() -> set[str]:
    """The event type literals `src/cyphera` passes to ``events.record`` (directly or not)."""
    functions = [
        node
        for path in SOURCE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, Function)
    ]
    found: set[str] = set()
    for function, argument in _type_arguments(functions, _recorders(functions)):
        if isinstance(argument, ast.Name):
            found |= _assigned_strings(function, argument.id)
        else:
            found |= _strings(argument)
    return {value for value in found if EVENT_TYPE.match(value)}


def test_every_emitted_event_type_is_in_the_catalogue() -> None:
    emitted = emitted_event_types()

    # The scan finds each way types are passed: a keyword literal (customer.created), a loop
    # variable (invoice.finalized), a variable set in branches (subscription.canceled), and a
    # literal handed to a function that passes it on (subscription.trial_will_end).
    assert {"customer.created", "invoice.finalized", "subscription.canceled"} <= emitted
    assert "subscription.trial_will_end" in emitted
    assert sorted(emitted - set(EVENT_TYPES)) == []


def test_the_catalogue_lists_only_well_formed_types_with_a_description() -> None:
    assert all(EVENT_TYPE.match(t) for t in EVENT_TYPES)
    assert all(description.strip() for description in EVENT_TYPES.values())
    assert {"test_clock.created", "test_clock.advancing", "test_clock.ready"} <= set(EVENT_TYPES)
    assert "test_clock.deleted" in EVENT_TYPES


def test_is_known() -> None:
    assert is_known("invoice.paid")
    assert is_known(ALL_EVENTS)
    assert not is_known("invoice.*")
    assert not is_known("invoice.exploded")
    assert not is_known("")
