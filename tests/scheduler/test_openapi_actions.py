"""The OpenAPI document describes every registered action and its data, so a client can discover them.

`action` is the discriminator of a union generated from the registry: one variant per action whose
`data` is that action's own model. The scheduler's `GET /health` lists the actions too (the callback
has no HTTP route once deployed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from scheduler_app.main import app
from taskcore.registry import registry


class CouponData(BaseModel):
    coupon_id: str = Field(min_length=1, max_length=64, description="The coupon to expire")


@pytest.fixture
def extra_action() -> Iterator[str]:
    registry.action("expire_coupon_test", CouponData)(lambda data, task: None)
    app.openapi_schema = None  # the document is built once per container: rebuild it with this action
    yield "expire_coupon_test"
    registry.unregister("expire_coupon_test")
    app.openapi_schema = None


def resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][ref.removeprefix("#/components/schemas/")]
    return schema


@pytest.mark.parametrize("request_schema", ["ScheduleRequest", "ScheduleTaskRequest"])
def test_each_registered_action_is_a_variant_with_its_own_data_schema(
    api: Any, extra_action: str, request_schema: str
) -> None:
    spec = api.get("/openapi.json").json()
    schema = spec["components"]["schemas"][request_schema]

    assert schema["properties"]["action"]["enum"] == registry.names()
    assert schema["discriminator"]["propertyName"] == "action"
    mapping = schema["discriminator"]["mapping"]
    assert sorted(mapping) == registry.names()
    assert [variant["$ref"] for variant in schema["oneOf"]] == [mapping[name] for name in registry.names()]
    for name, ref in mapping.items():
        variant = resolve(spec, ref)
        assert variant["properties"]["action"] == {"const": name}
        data = resolve(spec, variant["properties"]["data"]["$ref"])
        expected = registry.get(name).model.model_json_schema()
        assert data["properties"].keys() == expected["properties"].keys()
    coupon = resolve(spec, resolve(spec, mapping[extra_action])["properties"]["data"]["$ref"])
    assert coupon["properties"]["coupon_id"]["description"] == "The coupon to expire"
    assert coupon["required"] == ["coupon_id"]


def test_health_lists_the_registered_actions(api: Any, extra_action: str) -> None:
    body = api.get("/health").json()

    assert body["status"] == "ok"
    assert body["actions"] == registry.names()
    assert extra_action in body["actions"]
