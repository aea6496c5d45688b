"""What template.yaml wires besides the API runs locally: SQS event source mappings polled as Lambda polls them,
the template's own schedules created and fired, and any of its functions as a target or a destination."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from localcloud.clock import FakeClock
from localcloud.dispatcher import Dispatcher
from localcloud.event_sources import (
    QueueMapping,
    SqsEventSource,
    create_template_schedule,
    queue_mappings,
    template_schedule_names,
    template_schedule_roles,
)
from localcloud.functions import template_functions
from localcloud.lambda_async import AsyncLambda, InvokeConfig
from localcloud.lambda_service import Invocation
from localcloud.queues import moto_messages
from localcloud.schedules import MotoScheduleStore, ScheduleDeleter
from localcloud.stepping import Stepper
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION, LocalResources
from tests.localcloud.helpers import utc

RECORDER_ARN = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:RecorderFunction"

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Inbox": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Other": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "RecorderFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Handler": "app.recorder.lambda_handler",
                "Events": {
                    "FromInbox": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": {"Fn::GetAtt": ["Inbox", "Arn"]},
                            "BatchSize": 5,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        },
                    }
                },
            },
        },
        "PlainMapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["Other", "Arn"]},
                "FunctionName": {"Ref": "RecorderFunction"},
            },
        },
        "Sweep": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Name": "sweep",
                "ScheduleExpression": "rate(1 minute)",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": {"Fn::GetAtt": ["RecorderFunction", "Arn"]},
                    "RoleArn": {"Fn::GetAtt": ["SweepRole", "Arn"]},
                    "Input": '{"sweep": true}',
                },
            },
        },
        "SweepRole": {"Type": "AWS::IAM::Role", "Properties": {}},
    }
}


class Recorder:
    """A function that keeps its events and answers what `answer` says."""

    def __init__(self, answer: Any = None, *, fail: bool = False) -> None:
        self.events: list[Any] = []
        self.answer = answer
        self.fail = fail

    def __call__(self, event: Any, context: Any) -> Any:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("recorder down")
        return self.answer(event) if callable(self.answer) else self.answer


def test_sam_sqs_events_and_plain_event_source_mappings_are_read_from_the_template() -> None:
    assert queue_mappings(TEMPLATE) == [
        QueueMapping("RecorderFunction", "Inbox", batch_size=5, report_batch_item_failures=True),
        QueueMapping("RecorderFunction", "Other", batch_size=10, report_batch_item_failures=False),
    ]


def poller(
    aws: LocalResources, handler: Recorder, *, report: bool, queue: str = "CallbackFailureQueue"
) -> SqsEventSource:
    lambda_ = AsyncLambda({RECORDER_ARN: handler}, clock=FakeClock(utc(2026, 12, 1)))
    return SqsEventSource(
        QueueMapping("RecorderFunction", queue, batch_size=10, report_batch_item_failures=report),
        sqs=boto3.client("sqs"),
        queue_url=aws.queue_urls[queue],
        queue_arn=aws.arns[queue],
        function_arn=RECORDER_ARN,
        invoke=lambda_.invoke_sync,
        log=lambda line: None,
    )


def held(aws: LocalResources, queue: str = "CallbackFailureQueue") -> list[str]:
    """The bodies still in the queue, visible or in flight."""
    return sorted(m["body"] for m in moto_messages(account=LOCAL_ACCOUNT, region=LOCAL_REGION)[queue])


def send(aws: LocalResources, *bodies: str, queue: str = "CallbackFailureQueue") -> None:
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(
            QueueUrl=aws.queue_urls[queue],
            MessageBody=body,
            MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": "X"}},
        )


def test_a_batch_is_invoked_with_lambdas_sqs_event_and_deleted_when_it_succeeds(aws: LocalResources) -> None:
    handler = Recorder({"ok": True})
    send(aws, "one", "two")

    assert poller(aws, handler, report=False).poll_once() == 2

    ((event,),) = [handler.events]
    first = event["Records"][0]
    assert {r["body"] for r in event["Records"]} == {"one", "two"}
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == aws.arns["CallbackFailureQueue"]
    assert first["messageAttributes"]["ERROR_CODE"]["stringValue"] == "X"
    assert {"messageId", "receiptHandle", "attributes", "md5OfBody", "awsRegion"} <= set(first)
    assert held(aws) == []


def test_report_batch_item_failures_keeps_only_the_failed_messages(aws: LocalResources) -> None:
    def keep_two(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "two"]
        }

    send(aws, "one", "two", "three")
    poller(aws, Recorder(keep_two), report=True).poll_once()

    assert held(aws) == ["two"]


def test_a_failed_invocation_deletes_nothing(aws: LocalResources) -> None:
    send(aws, "one", "two")
    poller(aws, Recorder(fail=True), report=True).poll_once()

    assert held(aws) == ["one", "two"]


def test_a_schedule_the_template_declares_is_created_and_fired_into_its_function(aws: LocalResources) -> None:
    assert template_schedule_names(TEMPLATE) == [("default", "sweep")]
    scheduler = boto3.client("scheduler")
    create_template_schedule(scheduler, "default", "sweep", TEMPLATE)
    clock = FakeClock(datetime.now(UTC))  # moto stamps the creation with the wall clock
    handler = Recorder({"statusCode": 200})
    lambda_ = AsyncLambda({RECORDER_ARN: handler}, clock=clock)
    store = MotoScheduleStore(aws.names["ScheduleGroup"], also=("default",))
    dispatcher = Dispatcher(
        store,
        lambda_,
        clock=clock,
        role_arn=aws.arns["SchedulerInvokeRole"],  # the API's role: the sweep has its own, from the template
        also_roles=template_schedule_roles(TEMPLATE),
        deleter=ScheduleDeleter(store, background=False),
        log=lambda line: None,
    )

    Stepper(clock, dispatcher, lambda_).run_until(clock.now() + timedelta(minutes=3, seconds=1))

    assert handler.events[:3] == [{"sweep": True}] * 3  # rate(1 minute): at creation, then every minute
    assert len(handler.events) in (3, 4)


def test_a_function_can_be_the_on_failure_destination(aws: LocalResources) -> None:
    clock = FakeClock(utc(2026, 12, 1, 9))
    recorder = Recorder({"ok": True})
    callback_arn = aws.arns["CallbackFunction"]
    lambda_ = AsyncLambda(
        {callback_arn: Recorder(fail=True), RECORDER_ARN: recorder},
        clock=clock,
        configs={callback_arn: InvokeConfig(max_retry_attempts=0, on_failure_arn=RECORDER_ARN)},
        log=lambda line: None,
    )

    lambda_.submit(Invocation(event={"task": 1}, function_arn=callback_arn, received_at=clock.now(), label="t-1"))
    while lambda_.step(clock.now()):
        pass

    (record,) = recorder.events
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"task": 1}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert json.loads(json.dumps(record))  # a JSON document, as Lambda sends it


def test_every_function_of_the_template_but_the_apis_runs_in_the_local_lambda() -> None:
    functions = template_functions()
    assert "CallbackFunction" in functions
    assert "SchedulerFunction" not in functions


def test_the_local_cloud_polls_the_templates_mappings_when_it_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    from localcloud import functions
    from localcloud.cloud import CloudOptions, LocalCloud

    mapping = QueueMapping("CallbackFunction", "RejectedTaskQueue", batch_size=10)
    monkeypatch.setattr(functions, "queue_mappings", lambda: [mapping])
    handler = Recorder({"ok": True})
    clock = FakeClock(datetime.now(UTC))
    with LocalCloud(CloudOptions(port=0), clock=clock, log=lambda line: None, callback_handler=handler) as cloud:
        (source,) = cloud.event_sources
        boto3.client("sqs").send_message(QueueUrl=cloud.queue_urls["RejectedTaskQueue"], MessageBody="kept")

        cloud.run_pending()

        assert [r["body"] for event in handler.events for r in event["Records"]] == ["kept"]
        assert source.batches == 1


def test_the_functions_resource_variables_reach_them_with_local_values(aws: LocalResources) -> None:
    from localcloud.functions import function_variables

    variables = function_variables(aws)

    assert variables["REJECTED_TASK_QUEUE_URL"] == aws.queue_urls["RejectedTaskQueue"]  # a queue's Ref: its URL
    assert variables["TASK_LEDGER_TABLE"] == aws.names["TaskLedgerTable"]
    assert "CALLBACK_MAX_INVOCATIONS" not in variables  # constants and parameters keep the code's defaults


@pytest.mark.parametrize("recorder_runs", [True, False])
def test_a_failure_record_for_the_recorders_inbox_is_read_by_the_recorder_where_it_runs_else_kept_for_operators(
    recorder_runs: bool,
) -> None:
    from localcloud.cloud import CloudOptions, LocalCloud

    def failing(event: Any, context: Any) -> Any:
        raise RuntimeError("down")

    recorder = Recorder({"batchItemFailures": []})
    others = {"RecorderFunction": recorder} if recorder_runs else {}
    clock = FakeClock(datetime.now(UTC))
    options = CloudOptions(port=0, lambda_retry_delays=(1.0, 2.0))
    with LocalCloud(
        options, clock=clock, log=lambda line: None, callback_handler=failing, function_handlers=others
    ) as cloud:
        assert cloud.lambda_ is not None
        callback = cloud.environment["CALLBACK_FUNCTION_ARN"]
        cloud.lambda_.submit(Invocation(event={"task": "t-1"}, function_arn=callback, received_at=clock.now()))
        cloud.run_until(clock.now() + timedelta(seconds=10))

        kept = boto3.client("sqs").receive_message(QueueUrl=cloud.queue_urls["CallbackFailureQueue"])
        records = [json.loads(r["body"]) for event in recorder.events for r in event.get("Records", [])]
        if recorder_runs:  # it reads the inbox, records the ending and forwards the letter itself (tests/scheduler)
            assert [record["requestPayload"] for record in records] == [{"task": "t-1"}]
            assert kept.get("Messages", []) == []
        else:
            assert [json.loads(m["Body"])["requestPayload"] for m in kept["Messages"]] == [{"task": "t-1"}]


@pytest.mark.parametrize("recorder_runs", [True, False])
def test_an_in_process_cloud_makes_only_the_template_schedules_whose_function_runs_there(recorder_runs: bool) -> None:
    from localcloud.cloud import CloudOptions, LocalCloud

    others = {"RecorderFunction": Recorder({})} if recorder_runs else {}
    clock = FakeClock(datetime.now(UTC))
    callback, options = Recorder({}), CloudOptions(port=0)
    with LocalCloud(options, clock=clock, log=lambda line: None, callback_handler=callback, function_handlers=others):
        names = [s["Name"] for s in boto3.client("scheduler").list_schedules(GroupName="default")["Schedules"]]

    # The recorder's sweep fires every minute: into a function that does not run here it would only fail.
    assert ("RecorderSweepSchedule" in " ".join(names)) is recorder_runs
