"""The scheduler's OpenAPI document: FastAPI's, plus what a client needs to discover the actions.

The create request's `action` is a plain string to FastAPI (validated against the registry at run
time), so the document would say nothing about the actions. Here it becomes the discriminator of a
union generated from the registry: one variant per action, whose `data` is that action's own model.
The PATCH body (any JSON: a merge patch) gets its derived schema. Built once per container.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from scheduler_app.models import SchedulePatch
from taskcore.registry import registry

REF = "#/components/schemas/{model}"
#: Request schemas whose `action` is discriminated (the resource API's create and the guide's).
WITH_ACTIONS = ("ScheduleRequest", "ScheduleTaskRequest")


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document for `app`, with the action union and the PATCH schema.

    Batch items stay untyped in the document: the batch answers each item on its own (a 422 in its
    result), so an invalid item is not an invalid request.
    """
    document = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes, openapi_version="3.1.0"
    )
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    _add(schemas, "SchedulePatch", SchedulePatch.model_json_schema(ref_template=REF))
    mapping = _action_variants(schemas)
    for name in WITH_ACTIONS:
        if name in schemas:
            _discriminate(schemas[name], mapping)
    return document


def _add(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    schemas.update(schema.pop("$defs", {}))
    schemas[name] = schema


def _action_variants(schemas: dict[str, Any]) -> dict[str, str]:
    """Add `ActionData.<action>` and `ScheduleRequest.<action>` for each action; action -> variant ref."""
    mapping: dict[str, str] = {}
    for name in registry.names():
        action = registry.get(name)
        data_name, variant_name = f"ActionData.{name}", f"ScheduleRequest.{name}"
        # The action's own nested models live under its prefix: two actions may name a model alike.
        data = action.model.model_json_schema(ref_template=f"#/components/schemas/ActionData.{name}.{{model}}")
        for nested, schema in data.pop("$defs", {}).items():
            schemas[f"ActionData.{name}.{nested}"] = schema
        if action.description:
            data.setdefault("description", action.description)
        schemas[data_name] = data
        schemas[variant_name] = {
            "title": name,
            "type": "object",
            "properties": {"action": {"const": name}, "data": {"$ref": REF.format(model=data_name)}},
            "required": ["action"],
        }
        mapping[name] = REF.format(model=variant_name)
    return mapping


def _discriminate(schema: dict[str, Any], mapping: dict[str, str]) -> None:
    names = sorted(mapping)
    action = schema.setdefault("properties", {}).setdefault("action", {})
    action.pop("maxLength", None)
    action.pop("minLength", None)
    action["enum"] = names
    action["description"] = "A registered action; its `data` follows that action's schema (see the variants)"
    schema["oneOf"] = [{"$ref": mapping[name]} for name in names]
    schema["discriminator"] = {"propertyName": "action", "mapping": mapping}
