"""Logs never contain task data, authorization headers or credentials: a full run, every line captured.

The run: the scheduler API (through its Lambda entry point, with the SigV4 `Authorization` header, security
token and caller identity API Gateway passes) creates, repeats, refuses, reads, lists, changes, pauses,
resumes and cancels tasks whose `data` carries marker strings; the local cloud fires them into the callback
(one succeeds, one fails until it is dead-lettered); `make dlq`'s listing and `make redrive` run on the
dead letter. The functions' AWS credentials are markers too.

Everything that could be a log is captured: every logging handler's stream (the Powertools JSON lines),
file descriptors 1 and 2 (prints, EMF metrics, warnings) and the local cloud's own log records. None of it
may contain a marker, while the dead-letter queue still holds the task's data (nothing is lost to hygiene).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from localcloud.dlq import print_list, redrive
from localcloud.runstate import RunState
from localcloud.template import LocalResources
from ops.letters import describe
from ops.queues import QueuedMessage
from scheduler_app.handler import lambda_handler as scheduler_handler
from tests.callback.helpers import ActionSpy
from tests.localcloud.helpers import MakeHarness, queue_messages
from tests.reliability.helpers import markers_in
from tests.scheduler.helpers import api_event

DATA = {
    "message": "data-marker-message-7f3a",
    "email": "data-marker-email-7f3a@example.com",
    "payment_id": "data-marker-payment-7f3a",
}
SPY_DATA = {"card": "data-marker-card-4111111111111111", "nested": {"secret": "data-marker-nested-7f3a"}}
PATCHED = {"message": "data-marker-patched-7f3a"}
SIGNATURE = "sigmarker0123456789abcdef0123456789abcdef0123456789abcdef01234567"
CALLER_KEY = "AKIACALLERMARKER7F3A"
CALLER_TOKEN = "caller-session-token-marker-7f3a"
ACCESS_KEY = "AKIAFUNCTIONMARKER7F3A"
SECRET_KEY = "function-secret-key-marker-7f3a"
SESSION_TOKEN = "function-session-token-marker-7f3a"
MARKERS = [
    *DATA.values(),
    "data-marker-card",
    "4111111111111111",
    "data-marker-nested",
    PATCHED["message"],
    SIGNATURE,
    CALLER_KEY,
    CALLER_TOKEN,
    ACCESS_KEY,
    SECRET_KEY,
    SESSION_TOKEN,
]


#: The loggers `POWERTOOLS_LOG_LEVEL=DEBUG` and `POWERTOOLS_DEBUG=1` turn up: the functions' own and Powertools'.
#: (botocore's DEBUG wire log prints request bodies and signed headers by design; no deployment turns it on.)
FUNCTION_LOGGERS = ("scheduled-tasks", "service_undefined", "aws_lambda_powertools", "mangum")


class Capture:
    """Every logging handler's stream and every propagated record redirected here, plus fds 1 and 2."""

    def __init__(self, capfd: pytest.CaptureFixture[str], *, debug: bool) -> None:
        self.capfd = capfd
        self.debug = debug
        self.buffer = io.StringIO()
        # Records that reach the root logger are rendered with every extra field, as Powertools renders them.
        self._root = logging.StreamHandler(self.buffer)
        self._root.setFormatter(LambdaPowertoolsFormatter())
        self._swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._levels: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> Capture:
        loggers = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
        for logger in [logging.getLogger(), *loggers]:
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler) and not type(handler).__module__.startswith("_pytest"):
                    self._swapped.append((handler, handler.setStream(self.buffer)))
            if self.debug and logger.name.split(".")[0] in FUNCTION_LOGGERS:
                self._levels.append((logger, logger.level))
                logger.setLevel(logging.DEBUG)
        logging.getLogger().addHandler(self._root)
        self.capfd.readouterr()
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self._root)
        for handler, stream in self._swapped:
            handler.setStream(stream)
        for logger, level in self._levels:
            logger.setLevel(level)

    def text(self, extra: list[dict[str, Any]]) -> str:
        out, err = self.capfd.readouterr()
        records = "\n".join(json.dumps(r, default=str, ensure_ascii=False) for r in extra)
        return "\n".join([self.buffer.getvalue(), out, err, records])


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions' AWS credentials are markers (moto takes any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


def signed(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    """The proxy event API Gateway sends for a SigV4-signed call: the caller's headers and identity included."""
    event = api_event(
        method,
        path,
        body=body,
        query=query,
        headers={
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={CALLER_KEY}/20301231/us-east-1/execute-api/aws4_request, "
                f"SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={SIGNATURE}"
            ),
            "X-Amz-Date": "20301231T000000Z",
            "X-Amz-Security-Token": CALLER_TOKEN,
        },
    )
    event["requestContext"]["identity"].update(
        {"accessKey": CALLER_KEY, "caller": f"AROAEXAMPLE:{CALLER_KEY}", "userArn": "arn:aws:sts::1:assumed-role/x"}
    )
    return event


def api(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> int:
    return int(scheduler_handler(signed(method, path, body, query), None)["statusCode"])


@pytest.fixture(params=["configured", "debug"])
def full_run(
    request: pytest.FixtureRequest,
    scheduler_env: LocalResources,
    callback: Callable[..., dict[str, Any]],
    spy_action: ActionSpy,
    make_harness: MakeHarness,
    credentials: None,
    capfd: pytest.CaptureFixture[str],
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Run everything once (at the template's log level, then with the functions' loggers at DEBUG);
    yield the captured text and the failure queue's messages."""

    def flaky(data, task):
        if len(spy_action.runs) <= 3:  # every attempt of the first delivery fails; the redrive succeeds
            raise RuntimeError("payment provider unavailable")
        return {"charged": True}

    spy_action.behaviour = flaky
    start = datetime.now(UTC).replace(microsecond=0)
    harness = make_harness(start=start)
    with Capture(capfd, debug=request.param == "debug") as capture:
        notify = {"task_id": "log-1", "user_id": 456, "action": "send_notification", "data": DATA}
        statuses = [
            api("POST", "/api/v1/schedules", {**notify, "delay_seconds": 60}),
            api("POST", "/api/v1/schedules", {**notify, "delay_seconds": 60}),
            api("POST", "/api/v1/schedules", {**notify, "data": PATCHED, "delay_seconds": 60}),
            api(
                "POST",
                "/api/v1/schedules",
                {**notify, "task_id": "log-bad", "data": {"message": [DATA["message"]]}, "delay_seconds": 60},
            ),
            api(
                "POST",
                "/api/v1/schedules",
                {"task_id": "log-2", "user_id": 1, "action": "spy", "data": SPY_DATA, "delay_seconds": 90},
            ),
            api(
                "POST",
                "/api/v1/schedules",
                {"task_id": "log-3", "user_id": 1, "action": "spy", "data": SPY_DATA, "cron": "cron(0 9 * * ? *)"},
            ),
            api("GET", "/api/v1/schedules/log-1"),
            api("GET", "/api/v1/schedules", query={"prefix": "log"}),
            api("PATCH", "/api/v1/schedules/log-3", {"data": {**SPY_DATA, "more": PATCHED["message"]}}),
            api("POST", "/api/v1/schedules/log-3/pause"),
            api("POST", "/api/v1/schedules/log-3/resume"),
            api("DELETE", "/api/v1/schedules/log-3"),
            api("POST", "/api/v1/scheduler/schedule", {**notify, "task_id": "log-4", "delay_minutes": 30}),
        ]
        assert statuses == [201, 200, 409, 422, 201, 201, 200, 200, 200, 200, 200, 204, 200]

        harness.run_until(start + timedelta(minutes=10))

        failures = queue_messages(harness.sqs, harness.queue_url("CallbackFailureQueue"))
        letters = [
            describe(
                QueuedMessage(
                    "CallbackFailureQueue",
                    harness.queue_url("CallbackFailureQueue"),
                    m["MessageId"],
                    m["ReceiptHandle"],
                    m["Body"],
                ),
                "invocation",
            )
            for m in failures
        ]
        print_list(letters)
        result = redrive(RunState(pid=0, api_url="", moto_url="", environment={}), letters, client=harness.sqs)
        assert (result.succeeded, result.failed) == (1, 0)
        yield capture.text(harness.logs), failures


def test_a_full_run_logs_no_data_no_authorization_and_no_credentials(full_run, spy_action, figures):
    text, failures = full_run

    assert markers_in(text, MARKERS) == []
    # The capture saw every source: the API, the callback, Lambda and the dispatcher, make dlq, make redrive.
    for expected in (
        "schedule created",
        "task outcome",
        "invocation failed for good",
        "dead-lettered task(s)",
        "redriven and deleted",
        '"_aws"',
    ):
        assert expected in text, expected
    # Nothing is lost to hygiene: the dead-lettered event still carries the task's data.
    (failure,) = failures
    assert json.loads(json.loads(failure["Body"])["requestPayload"]["body"])["data"] == SPY_DATA
    figures.count("logs", "lines_captured", text.count("\n"))
    figures.count("logs", "markers_checked", len(MARKERS))
    figures.count("logs", "markers_found", len(markers_in(text, MARKERS)))


FREE_TEXT = "data-marker-free-text-7f3a"


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("send_notification", {"notification_type": FREE_TEXT}),
        ("cleanup", {"resource_id": "r-1", "resource_type": FREE_TEXT}),
    ],
    ids=["send_notification", "cleanup"],
)
def test_the_shipped_actions_log_no_free_text_from_their_data(callback, capfd, action, data):
    from tests.callback.helpers import delivery

    with Capture(capfd, debug=False) as capture:
        assert callback(delivery("free-1", action=action, data=data))["statusCode"] == 200
        text = capture.text([])

    assert "task outcome" in text
    assert FREE_TEXT not in text
