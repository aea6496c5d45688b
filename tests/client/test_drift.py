"""The client's models match the API's OpenAPI document (the one FastAPI serves at /openapi.json), compared as
JSON schemas: each answer model field for field and type for type, each request the client sends within the
schema the API accepts. And the two twins have one surface. A change on either side fails here first."""

from __future__ import annotations

import inspect
from typing import Any, get_args

import pytest
from pydantic import BaseModel

import taskclient
from scheduler_app.main import openapi
from taskclient import AsyncTaskClient, DeliveryRetry, NewTask, TaskClient, Timing
from taskclient import models as client_models

#: Client model -> the API's schema it mirrors.
ANSWERS: dict[type[BaseModel], str] = {
    client_models.Task: "ScheduleView",
    client_models.TaskSummary: "ScheduleSummary",
    client_models.Run: "RunView",
    client_models.RunError: "RunError",
    client_models.LastRun: "LastRun",
    client_models.RetryPolicyView: "RetryPolicyView",
    client_models.TaskPage: "SchedulePage",
    client_models.RunPage: "RunPage",
    client_models.BatchResult: "BatchResponse",
    client_models.BatchItemResult: "BatchItemResult",
    client_models.Health: "HealthResponse",
}
RENAMED = {model.__name__: name for model, name in ANSWERS.items()}
#: Words of a schema that say nothing about the wire format.
PROSE = frozenset({"title", "description", "examples", "example", "default"})


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi()


def normalised(schema: Any) -> Any:
    """A schema without prose, its references named as the API names them."""
    if isinstance(schema, dict):
        found = {key: normalised(value) for key, value in schema.items() if key not in PROSE}
        if "$ref" in found:
            name = str(found["$ref"]).rsplit("/", 1)[-1]
            found["$ref"] = RENAMED.get(name, name)
        return found
    if isinstance(schema, list):
        return [normalised(item) for item in schema]
    return schema


def shape(schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """A model's properties (normalised) and its required ones."""
    return normalised(schema.get("properties", {})), set(schema.get("required", []))


def differences(model: type[BaseModel], api_schema: dict[str, Any]) -> list[str]:
    """What differs between a client model and the API's schema, one line each (empty: they match)."""
    ours, our_required = shape(model.model_json_schema(ref_template="#/components/schemas/{model}"))
    theirs, their_required = shape(api_schema)
    found = [f"{model.__name__} lacks {name}" for name in sorted(theirs.keys() - ours.keys())]
    found += [f"{model.__name__} has {name}, the API has not" for name in sorted(ours.keys() - theirs.keys())]
    found += [
        f"{model.__name__}.{name}: {ours[name]} != {theirs[name]}"
        for name in sorted(ours.keys() & theirs.keys())
        if ours[name] != theirs[name]
    ]
    if our_required != their_required:
        found.append(f"{model.__name__} requires {sorted(our_required)}, the API {sorted(their_required)}")
    return found


@pytest.mark.parametrize("model", list(ANSWERS), ids=lambda model: model.__name__)
def test_each_answer_model_matches_the_apis_schema_field_for_field(document: dict[str, Any], model: Any) -> None:
    assert differences(model, document["components"]["schemas"][ANSWERS[model]]) == []


def test_the_drift_check_fails_when_the_api_grows_a_field_or_changes_a_type(document: dict[str, Any]) -> None:
    schema = dict(document["components"]["schemas"]["RunError"])
    grown = {**schema, "properties": {**schema["properties"], "trace": {"type": "string"}}}
    retyped = {**schema, "properties": {**schema["properties"], "message": {"type": "integer"}}}

    assert differences(client_models.RunError, grown) == ["RunError lacks trace"]
    assert differences(client_models.RunError, retyped) == [
        "RunError.message: {'type': 'string'} != {'type': 'integer'}"
    ]


def request_members(document: dict[str, Any], name: str) -> set[str]:
    return set(document["components"]["schemas"][name]["properties"])


def test_a_create_sends_only_members_the_api_accepts_and_every_member_it_requires(document: dict[str, Any]) -> None:
    accepted = request_members(document, "ScheduleRequest")
    required = set(document["components"]["schemas"]["ScheduleRequest"].get("required", []))
    every = NewTask(
        action="a",
        user_id=1,
        data={},
        task_id="t",
        timing=Timing(delay_seconds=1, run_at="x", cron="c", rate="r", timezone="z", start_at="s", end_at="e"),
        retry=DeliveryRetry(max_attempts=1, max_event_age_seconds=60),
        flexible_window_minutes=1,
    ).body("t")
    least = NewTask.of("a", user_id=1, delay=1).body("t")

    assert set(every) <= accepted
    assert required <= set(least)
    # What the client cannot send: delay_minutes (it sends seconds). Anything else the API adds fails here.
    assert accepted - set(every) == {"delay_minutes"}
    assert set(DeliveryRetry.model_fields) == request_members(document, "RetryPolicy")


def test_a_reschedule_and_a_data_change_send_only_members_a_patch_accepts(document: dict[str, Any]) -> None:
    patchable = request_members(document, "SchedulePatch")

    assert set(Timing.model_fields) | {"data"} <= patchable


def test_the_error_body_the_client_reads_covers_the_apis(document: dict[str, Any]) -> None:
    # The client reads more than today's document names (`code`, a 422's `errors`): a superset, so it reads the
    # bodies before and after the API's codes.
    assert request_members(document, "ErrorBody") <= set(client_models.ErrorBody.model_fields)


def query_parameters(document: dict[str, Any], path: str) -> set[str]:
    return {p["name"] for p in document["paths"][path]["get"].get("parameters", []) if p["in"] == "query"}


def test_list_and_runs_send_only_query_parameters_the_api_takes(document: dict[str, Any]) -> None:
    listed = set(inspect.signature(TaskClient.list).parameters) - {"self", "page_size"} | {"limit", "cursor"}
    runs = set(inspect.signature(TaskClient.runs).parameters) - {"self", "task_id", "page_size"} | {"limit", "cursor"}

    assert listed <= query_parameters(document, "/api/v1/schedules")
    assert runs <= query_parameters(document, "/api/v1/schedules/{task_id}/runs")
    status = next(p for p in document["paths"]["/api/v1/schedules"]["get"]["parameters"] if p["name"] == "status")
    assert set(status["schema"]["anyOf"][0]["enum"]) == set(get_args(client_models.ListStatus))


def surface(cls: type) -> dict[str, Any]:
    """Public name -> its signature (a property: "property")."""
    return {
        name: "property" if isinstance(member, property) else inspect.signature(getattr(cls, name))
        for name, member in vars(cls).items()
        if not name.startswith("_")
    }


def as_async(annotation: Any) -> str:
    return str(annotation).replace("Iterator[", "AsyncIterator[")


#: Arguments whose types differ by nature: an async transport, an awaitable sleep.
IO_ARGUMENTS = ("transport", "sleep")


def assert_the_same_parameters(name: str, signature: inspect.Signature, other: inspect.Signature) -> None:
    """Same names, kinds and defaults in the same order; the same types but for IO_ARGUMENTS."""
    assert list(signature.parameters) == list(other.parameters), name
    for key, parameter in signature.parameters.items():
        theirs = other.parameters[key]
        assert (parameter.kind, parameter.default) == (theirs.kind, theirs.default), f"{name}({key})"
        if key not in IO_ARGUMENTS:
            assert parameter.annotation == theirs.annotation, f"{name}({key})"


def test_the_sync_and_async_clients_have_one_surface() -> None:
    sync, twin = surface(TaskClient), surface(AsyncTaskClient)

    assert sync.keys() == twin.keys()
    for name, signature in sync.items():
        if signature == "property":
            assert twin[name] == "property"
            continue
        other = twin[name]
        assert_the_same_parameters(name, signature, other)
        assert as_async(signature.return_annotation) == str(other.return_annotation), name
        method = getattr(AsyncTaskClient, name)
        awaited = inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)
        assert awaited or name == "from_stack", f"AsyncTaskClient.{name} is not awaited"


def test_the_package_says_what_it_offers() -> None:
    assert set(taskclient.__all__) == {name for name in dir(taskclient) if not name.startswith("_")} - {
        "aio",
        "client",
        "errors",
        "models",
        "signing",
        "stack",
        "webhooks",  # imported on its own by a receiver (from taskclient.webhooks import verify_signature)
    } | {"__version__"}
