"""The task envelope: what a schedule carries and what the callback runs. One definition for both."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from taskcore.errors import describe_errors
from taskcore.limits import MAX_DATA_DEPTH
from taskcore.registry import UnknownActionError, registry

#: EventBridge Scheduler's schedule-name alphabet and length, so a task id is a schedule name.
TASK_ID_PATTERN = r"^[0-9A-Za-z_.\-]{1,64}$"


def not_only_dots(value: str) -> str:
    """Refuse `.`, `..`, ...: valid schedule names that no HTTP client can put in a URL path unchanged."""
    if value.strip(".") == "":
        raise ValueError(
            f"{value!r} is made only of dots, which URLs treat as path navigation; add a letter, digit, '-' or '_'"
        )
    return value


def require_whole_number(value: Any, unit: str) -> Any:
    """A JSON integer only (no boolean, no number in a string, no float); use in a `mode="before"` validator."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"give a whole number of {unit} as a JSON number, e.g. 5 (got {_json_kind(value)})")
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value[:32]!r}"
    if isinstance(value, float):
        return f"the number {value!r}"
    return "null" if value is None else type(value).__name__


def _id_value(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a boolean, not an id; give an integer such as 456 or a string id")
    if isinstance(value, float):
        raise ValueError(f"{value!r} is a decimal number, not an id; give an integer such as 456 or a string id")
    return value


TaskId = Annotated[
    str,
    StringConstraints(pattern=TASK_ID_PATTERN, min_length=1, max_length=64),
    AfterValidator(not_only_dots),
    Field(
        description="1..64 of [0-9A-Za-z_.-], not only dots; also the schedule's name",
        examples=["payment-reminder-42"],
    ),
]
#: An id from the caller's backend (a payment, a resource): an integer key or a string, never a boolean or a float.
Identifier = Annotated[
    int | Annotated[str, StringConstraints(min_length=1, max_length=256)],
    BeforeValidator(_id_value),
    Field(description="An integer or a string id, never a boolean", examples=[90210, "pay_8f14e45f"]),
]
UserId = Annotated[
    int | Annotated[str, StringConstraints(min_length=1, max_length=128)],
    BeforeValidator(_id_value),
    Field(description="Who the task is for: an integer or a string id, never a boolean", examples=[456]),
]


def json_problem(value: Any, depth: int = 0) -> str | None:
    """Why `value` is not plain JSON data (nested too deep, NaN or Infinity), or None."""
    if depth > MAX_DATA_DEPTH:
        return f"nested deeper than {MAX_DATA_DEPTH} levels"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN and Infinity are not JSON numbers"
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        problem = json_problem(child, depth + 1)
        if problem is not None:
            return problem
    return None


class TaskEnvelope(BaseModel):
    """A task: who it is for, which registered action runs it, and that action's data."""

    # Unknown keys are ignored, not rejected: a schedule created by a newer scheduler must still run.
    model_config = ConfigDict(extra="ignore")

    task_id: TaskId
    user_id: UserId
    action: Annotated[str, Field(min_length=1, max_length=128, examples=["send_notification"])]
    # validate_default: an omitted `data` must still satisfy the action's model.
    data: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, examples=[{"message": "Your payment expires soon"}]
    )

    _parsed: BaseModel | None = PrivateAttr(default=None)

    @field_validator("action")
    @classmethod
    def _action_is_registered(cls, value: str) -> str:
        if value not in registry:
            raise ValueError(str(UnknownActionError(value, registry.names())))
        return value

    @field_validator("data")
    @classmethod
    def _data_matches_action(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        problem = json_problem(value)
        if problem is not None:
            raise ValueError(problem)
        name = info.data.get("action")
        if name is None:  # the action itself was invalid; that error is already reported
            return value
        try:
            registry.get(name).parse(value)
        except ValidationError as exc:
            raise ValueError(f"invalid data for action {name!r}: {describe_errors(exc)}") from None
        return value

    def parsed_data(self) -> BaseModel:
        """`data` parsed by the action's own model (parsed once, then cached)."""
        if self._parsed is None:
            self._parsed = registry.get(self.action).parse(self.data)
        return self._parsed
