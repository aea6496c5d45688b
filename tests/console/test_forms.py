"""The create form: the actions' fields from the OpenAPI document, the form read into the API's request, and
the API's 422 put back beside the fields."""

from __future__ import annotations

from datetime import UTC, datetime

from console.forms import DataField, FormErrors, action_specs, api_errors, create_body
from console.timing import next_fire_times

OPENAPI = {
    "components": {
        "schemas": {
            "ActionData.report": {
                "description": "A report.",
                "required": ["payment_id"],
                "properties": {
                    "payment_id": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 256}]},
                    "operation": {"type": "string", "enum": ["expire", "capture"], "default": "expire"},
                    "recipients": {"type": "array", "items": {"type": "string"}},
                    "urgent": {"type": "boolean"},
                    "ratio": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                    "count": {"type": "integer"},
                    "on": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
                    "expires_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
                },
            },
            "ScheduleView": {"properties": {}},
        }
    }
}


def test_each_data_field_gets_the_control_its_schema_calls_for() -> None:
    [spec] = action_specs(OPENAPI).values()

    assert spec.name == "report"
    assert {f.name: f.kind for f in spec.fields} == {
        "payment_id": "id",
        "operation": "choice",
        "recipients": "json",
        "urgent": "boolean",
        "ratio": "number",
        "count": "integer",
        "on": "date",
        "expires_at": "datetime",
    }
    assert spec.fields[0] == DataField("payment_id", "payment_id", "id", required=True, max_length=256)
    assert spec.fields[1].choices == ("expire", "capture")


def test_the_form_becomes_the_apis_request_with_numbers_lists_and_booleans_typed() -> None:
    specs = action_specs(OPENAPI)
    form = {
        "action": "report",
        "user_id": "456",
        "timing": "cron",
        "cron": "cron(0 9 * * ? *)",
        "timezone": "Asia/Seoul",
        "start_at": "2030-01-01T09:00",
        "data.payment_id": "pay_8f14",
        "data.recipients": '["a@example.com"]',
        "data.urgent": "true",
        "data.ratio": "0.5",
        "data.count": "",
        "retry.max_attempts": "3",
        "flexible_window_minutes": "15",
    }

    body, errors = create_body(form, specs)

    assert not errors
    assert body == {
        "action": "report",
        "user_id": 456,
        "data": {"payment_id": "pay_8f14", "recipients": ["a@example.com"], "urgent": True, "ratio": 0.5},
        "cron": "cron(0 9 * * ? *)",
        "timezone": "Asia/Seoul",
        "start_at": "2030-01-01T09:00:00+09:00",
        "retry": {"max_attempts": 3},
        "flexible_window_minutes": 15,
    }


def test_a_run_at_is_read_on_the_zones_wall_clock_and_what_cannot_be_read_is_said_beside_its_field() -> None:
    body, errors = create_body(
        {"action": "x", "timing": "run_at", "run_at": "2030-07-01T09:00", "timezone": "Europe/Berlin"}, {}
    )
    assert body["run_at"] == "2030-07-01T09:00:00+02:00"
    assert not errors

    specs = action_specs(OPENAPI)
    _, errors = create_body(
        {
            "action": "report",
            "timing": "run_at",
            "run_at": "tomorrow",
            "timezone": "Mars/Olympus",
            "data.count": "many",
            "data.recipients": "[",
            "retry.max_attempts": "lots",
        },
        specs,
    )
    assert set(errors.fields) == {"timezone", "data.count", "data.recipients", "retry.max_attempts"}
    _, errors = create_body({"action": "x", "timing": "run_at", "run_at": "tomorrow", "timezone": "UTC"}, {})
    assert errors.fields == {"run_at": ["give a date and time such as 2030-01-01T09:00 (got 'tomorrow')"]}
    _, errors = create_body({"action": "x", "timing": "weekly"}, {})
    assert errors.fields["timing"] == ["unknown timing 'weekly'; choose one of delay, run_at, cron, rate"]


def test_the_apis_errors_go_beside_the_fields_they_name_and_the_rest_on_top() -> None:
    known = {"delay_amount", "data", "data.channel", "retry.max_attempts"}
    errors = api_errors(
        "…",
        [
            {"loc": ["body", "delay_seconds"], "msg": "Input should be greater than or equal to 1"},
            {
                "loc": ["body", "data"],
                "msg": "Value error, invalid data for action 'n': channel: Input should be 'email'; "
                "tone: Extra inputs are not permitted",
            },
            {"loc": ["body", "retry", "max_attempts"], "msg": "Input should be less than or equal to 185"},
            {"loc": ["body", "priority"], "msg": "Extra inputs are not permitted"},
        ],
        known,
    )

    assert errors.fields == {
        "delay_amount": ["Input should be greater than or equal to 1"],
        "data.channel": ["Input should be 'email'"],
        "data": ["tone: Extra inputs are not permitted"],
        "retry.max_attempts": ["Input should be less than or equal to 185"],
    }
    assert errors.general == ["priority: Extra inputs are not permitted"]
    assert api_errors("give exactly one timing", [], known).general == ["give exactly one timing"]
    assert not FormErrors()


def test_the_next_fire_times_skip_the_hour_that_daylight_saving_time_removes() -> None:
    task = {"expression": "cron(30 2 * * ? *)", "timezone": "Europe/Berlin"}

    fires = next_fire_times(task, now=datetime(2030, 3, 29, 12, tzinfo=UTC), count=3)

    # 2030-03-31 02:30 does not exist in Berlin (clocks jump from 02:00 to 03:00): EventBridge skips it.
    assert [f.local.strftime("%m-%d %H:%M %Z") for f in fires] == [
        "03-30 02:30 CET",
        "04-01 02:30 CEST",
        "04-02 02:30 CEST",
    ]
    assert [f.utc.strftime("%H:%M") for f in fires] == ["01:30", "00:30", "00:30"]
    assert next_fire_times({"expression": "at(2030-01-01T00:00:00)"}, now=datetime(2031, 1, 1, tzinfo=UTC)) == []
