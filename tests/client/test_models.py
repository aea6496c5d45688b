"""What the client builds before any request (timings, task ids) and how it reads an answer it did not expect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from taskclient import InvalidTask, NewTask, TaskError, Timing
from taskclient.errors import error_for


def test_a_timing_is_built_from_a_delay_a_time_or_an_expression() -> None:
    seoul = timezone(timedelta(hours=9))

    assert Timing.after(timedelta(seconds=1.5)).fields() == {"delay_seconds": 2}
    assert Timing.after(30).fields() == {"delay_seconds": 30}
    assert Timing.at(datetime(2030, 1, 1, 9, tzinfo=seoul)).fields() == {"run_at": "2030-01-01T09:00:00+09:00"}
    assert Timing.of(cron="cron(0 9 * * ? *)", timezone="Asia/Seoul").fields() == {
        "cron": "cron(0 9 * * ? *)",
        "timezone": "Asia/Seoul",
    }
    with pytest.raises(ValueError, match="has no timezone"):
        Timing.at(datetime(2030, 1, 1, 9))
    with pytest.raises(TypeError, match="delay: give a timedelta"):
        Timing.after(True)


def test_a_new_task_sends_its_id_or_the_one_given_for_it() -> None:
    task = NewTask.of("send_notification", user_id=1, data={"message": "m"}, at=datetime(2030, 1, 1, tzinfo=UTC))

    assert task.body("generated") == {
        "task_id": "generated",
        "user_id": 1,
        "action": "send_notification",
        "data": {"message": "m"},
        "run_at": "2030-01-01T00:00:00+00:00",
    }


def test_an_answer_the_client_cannot_read_as_the_apis_is_still_an_error_with_its_text() -> None:
    odd = error_for(422, {}, b'{"detail": "bad", "errors": "not a list"}')
    gateway = error_for(502, {"x-amzn-requestid": "req-1"}, b'{"message": "Internal server error"}')
    empty = error_for(500, {}, b"")

    assert isinstance(odd, InvalidTask)
    assert (odd.message, odd.errors) == ("bad", [])
    assert (gateway.message, gateway.request_id, gateway.status) == ("Internal server error", "req-1", 502)
    assert type(empty) is TaskError
    assert empty.message == "HTTP 500"
