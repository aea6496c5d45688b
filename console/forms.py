"""The create and reschedule forms: the actions' data fields from /openapi.json, a form into an API request,
and the API's own 422 errors put back beside the fields they are about."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The timing kinds the forms offer, with what each one sends.
TIMINGS = {
    "delay": "Delay (one-time)",
    "run_at": "Run at (one-time)",
    "cron": "Cron (recurring)",
    "rate": "Rate (recurring)",
}
#: API field -> the form control its errors are shown beside.
_CONTROL_OF = {"delay_seconds": "delay_amount", "delay_minutes": "delay_amount"}
_INTEGER = re.compile(r"^-?\d+$")
#: A whole number as JSON writes it: the only digits sent as a number where text is accepted too (007 is text).
_CANONICAL_INTEGER = re.compile(r"^(0|-?[1-9]\d*)$")


@dataclass(frozen=True)
class DataField:
    """One field of an action's `data`, as the form shows it."""

    name: str
    label: str
    kind: str  # text | id | integer | number | boolean | choice | date | datetime | json
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    description: str = ""
    max_length: int | None = None

    @property
    def control(self) -> str:
        """The form control's name (`data.<field>`)."""
        return f"data.{self.name}"


@dataclass(frozen=True)
class ActionSpec:
    """A registered action and its data fields."""

    name: str
    description: str = ""
    fields: tuple[DataField, ...] = ()


def action_specs(openapi: Mapping[str, Any]) -> dict[str, ActionSpec]:
    """Every action the API registers (`ActionData.<action>` in its OpenAPI document), by name."""
    schemas = openapi.get("components", {}).get("schemas", {})
    specs: dict[str, ActionSpec] = {}
    for key in sorted(schemas):
        if key.startswith("ActionData."):
            name = key.removeprefix("ActionData.")
            schema = schemas[key]
            required = set(schema.get("required", []))
            fields = tuple(
                _field(prop, spec, prop in required) for prop, spec in (schema.get("properties") or {}).items()
            )
            specs[name] = ActionSpec(name, str(schema.get("description", "")), fields)
    return specs


def _variants(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The non-null alternatives of a schema, nested anyOf flattened."""
    if "anyOf" not in schema:
        return [schema]
    found: list[Mapping[str, Any]] = []
    for option in schema["anyOf"]:
        found.extend(option2 for option2 in _variants(option) if option2.get("type") != "null")
    return found


def _kind(variants: list[Mapping[str, Any]]) -> str:
    types = {str(v.get("type")) for v in variants}
    if types == {"integer", "string"}:
        return "id"
    if len(variants) != 1:
        return "json"
    only = variants[0]
    kinds = {"integer": "integer", "number": "number", "boolean": "boolean", "array": "json", "object": "json"}
    if only.get("enum"):
        return "choice"
    if only.get("type") == "string":
        return {"date-time": "datetime", "date": "date"}.get(str(only.get("format")), "text")
    return kinds.get(str(only.get("type")), "json")


def _field(name: str, schema: Mapping[str, Any], required: bool) -> DataField:
    variants = _variants(schema)
    lengths = [v["maxLength"] for v in variants if "maxLength" in v]
    choices = next((tuple(str(c) for c in v["enum"]) for v in variants if v.get("enum")), ())
    description = str(schema.get("description") or next((v.get("description", "") for v in variants), ""))
    return DataField(
        name=name,
        label=str(schema.get("title") or name),
        kind=_kind(variants),
        required=required,
        default=schema.get("default"),
        choices=choices,
        description=description,
        max_length=int(lengths[0]) if lengths else None,
    )


@dataclass
class FormErrors:
    """Messages by form control, and those about no one control."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, control: str | None, message: str) -> None:
        """Note `message` beside `control` (or at the top when None)."""
        if control is None:
            self.general.append(message)
        else:
            self.fields.setdefault(control, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def _one_id(text: str) -> int | str:
    """An id as typed, where the field takes an integer or text: a whole number written as JSON writes it (456) is
    sent as a number (the API keeps 456 and "456" apart), anything else as the text typed (`007`, `00123`, `u-42`):
    a number would change it."""
    return int(text) if _CANONICAL_INTEGER.match(text) else text


#: The create request's `user_id` when the API's document does not describe it: an integer or text.
USER_ID = DataField("user_id", "User id", "id")


def user_field(openapi: Mapping[str, Any]) -> DataField:
    """The create request's `user_id` as the API's OpenAPI document types it (integer, text, or either)."""
    schema = openapi.get("components", {}).get("schemas", {}).get("ScheduleRequest", {})
    found = (schema.get("properties") or {}).get("user_id")
    return _field("user_id", found, True) if isinstance(found, Mapping) else USER_ID


def _aware(text: str, zone_name: str, control: str, errors: FormErrors) -> str | None:
    """A `datetime-local` value read on `zone_name`'s wall clock, as ISO 8601 with its offset."""
    try:
        zone = ZoneInfo(zone_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        errors.add("timezone", f"unknown time zone {zone_name!r}; use an IANA name such as 'UTC' or 'Asia/Seoul'")
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.add(control, f"give a date and time such as 2030-01-01T09:00 (got {text!r})")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def timing_body(form: Mapping[str, str], errors: FormErrors, *, clear_blank_bounds: bool = False) -> dict[str, Any]:
    """The request's timing members from the form's chosen kind (create and reschedule share it); for a
    reschedule (a merge patch), a start or end left blank is sent as null, which removes it."""
    kind = form.get("timing", "delay")
    body: dict[str, Any] = {}
    zone = form.get("timezone", "").strip()
    if kind == "delay":
        amount = form.get("delay_amount", "").strip()
        unit = "delay_minutes" if form.get("delay_unit") == "minutes" else "delay_seconds"
        if not _INTEGER.match(amount):
            errors.add("delay_amount", f"give a whole number of {unit.removeprefix('delay_')}")
        else:
            body[unit] = int(amount)
    elif kind == "run_at":
        moment = _aware(form.get("run_at", "").strip(), zone, "run_at", errors)
        if moment is not None:
            body["run_at"] = moment
    elif kind in ("cron", "rate"):
        body[kind] = form.get(kind, "").strip()
        body["timezone"] = zone or "UTC"
        for bound in ("start_at", "end_at"):
            text = form.get(bound, "").strip()
            if text:
                body[bound] = _aware(text, zone, bound, errors)
            elif clear_blank_bounds:
                body[bound] = None
    else:
        errors.add("timing", f"unknown timing {kind!r}; choose one of {', '.join(TIMINGS)}")
    return body


def _data_value(spec: DataField, text: str, errors: FormErrors, control: str | None = None) -> Any:
    converters = {"integer": int, "number": float}
    if spec.kind in converters:
        try:
            return converters[spec.kind](text)
        except ValueError:
            errors.add(control or spec.control, f"give a {spec.kind}, e.g. 5 (got {text!r})")
            return None
    if spec.kind == "id":
        return _one_id(text)
    if spec.kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            errors.add(control or spec.control, f"not valid JSON: {exc}")
            return None
    return text


def data_body(form: Mapping[str, str], spec: ActionSpec | None, errors: FormErrors) -> dict[str, Any]:
    """The action's `data` from the `data.<field>` controls; empty ones are left out (the action's default)."""
    data: dict[str, Any] = {}
    for item in spec.fields if spec is not None else ():
        if item.kind == "boolean":
            if item.control in form:
                data[item.name] = form[item.control] == "true"
            continue
        text = form.get(item.control, "").strip()
        if text:
            value = _data_value(item, text, errors)
            if value is not None:
                data[item.name] = value
    return data


def _optional_int(form: Mapping[str, str], control: str, errors: FormErrors) -> int | None:
    text = form.get(control, "").strip()
    if not text:
        return None
    if not _INTEGER.match(text):
        errors.add(control, f"give a whole number (got {text!r})")
        return None
    return int(text)


def create_body(
    form: Mapping[str, str], specs: Mapping[str, ActionSpec], user: DataField = USER_ID
) -> tuple[dict[str, Any], FormErrors]:
    """The create request the form describes, and what is wrong before the API is even asked."""
    errors = FormErrors()
    action = form.get("action", "")
    body: dict[str, Any] = {"action": action}
    if form.get("task_id", "").strip():
        body["task_id"] = form["task_id"].strip()
    typed = form.get("user_id", "").strip()
    if typed:
        value = _data_value(user, typed, errors, control="user_id")
        if value is not None:
            body["user_id"] = value
    body["data"] = data_body(form, specs.get(action), errors)
    body.update(timing_body(form, errors))
    retry = {
        name: value
        for name in ("max_attempts", "max_event_age_seconds")
        if (value := _optional_int(form, f"retry.{name}", errors)) is not None
    }
    if retry:
        body["retry"] = retry
    window = _optional_int(form, "flexible_window_minutes", errors)
    if window is not None:
        body["flexible_window_minutes"] = window
    return body, errors


_DATA_ERROR = re.compile(r"^invalid data for action '[^']*': (?P<rest>.*)$", re.DOTALL)


def api_errors(detail: str, errors: list[dict[str, Any]], known: set[str]) -> FormErrors:
    """The API's 422 (`detail`, `errors[].loc/msg`) beside the controls named in `known`; the rest on top."""
    found = FormErrors()
    for error in errors:
        loc = [str(part) for part in error.get("loc", []) if part != "body"]
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if loc == ["data"] and (matched := _DATA_ERROR.match(message)):
            _data_errors(matched.group("rest"), known, found)
            continue
        control = _control(loc)
        found.add(control if control in known else None, message if control in known else _prefixed(loc, message))
    if not errors:
        # Some 422s (a PATCH's) give only `detail`, "field: message": put it beside that field all the same.
        name, _, message = detail.partition(": ")
        control = _CONTROL_OF.get(name, name)
        found.add(control if message and control in known else None, message if control in known else detail)
    return found


def _control(loc: list[str]) -> str | None:
    """The form control an error's `loc` is about (`retry.max_attempts`, `delay_amount`), None for the body."""
    if not loc:
        return None
    if len(loc) > 1 and loc[0] in ("retry", "data"):
        return f"{loc[0]}.{loc[1]}"
    return _CONTROL_OF.get(loc[0], loc[0])


def _prefixed(loc: list[str], message: str) -> str:
    return f"{'.'.join(loc)}: {message}" if loc else message


def _data_errors(rest: str, known: set[str], found: FormErrors) -> None:
    """`field: message; field2: message` from an action model's error, one per data control."""
    for part in rest.split("; "):
        name, _, message = part.partition(": ")
        control = f"data.{name}"
        if message and control in known:
            found.add(control, message)
        else:
            found.add("data" if "data" in known else None, part)
