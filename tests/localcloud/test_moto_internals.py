"""The local cloud reads three things from moto's own model, not its API; this fails when moto changes them.

- the schedules of a group, as the dispatcher (playing the Scheduler service) reads its storage
  (`localcloud/schedules.py`: `MotoScheduleStore`, `from_moto`);
- a schedule's creation and modification stamps, which `--persist` puts back (`moto_stamps`,
  `set_moto_stamps`);
- a queue's messages in flight, which no API lists (`localcloud/queues.py`: `moto_messages`,
  `add_moto_messages`).

moto is pinned in uv.lock; after an upgrade, these tests say whether the local cloud still works.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3

from localcloud.queues import add_moto_messages, moto_messages
from localcloud.schedules import MotoScheduleStore, moto_stamps, set_moto_stamps
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION, LocalResources
from tests.localcloud.helpers import create_schedule


def test_the_store_reads_a_schedule_as_get_schedule_describes_it(aws: LocalResources) -> None:
    scheduler = boto3.client("scheduler")
    group = aws.names["ScheduleGroup"]
    start = datetime(2030, 1, 1, tzinfo=UTC)
    create_schedule(scheduler, aws, "read-1", "rate(5 minutes)", timezone="Asia/Seoul", start=start, retries=3)

    described = scheduler.get_schedule(Name="read-1", GroupName=group)
    (name,) = MotoScheduleStore(group).revisions()
    read = MotoScheduleStore(group).get(name)

    assert read is not None
    assert (read.name, read.group, read.arn) == ("read-1", group, described["Arn"])
    assert (read.expression, read.timezone, read.state) == ("rate(5 minutes)", "Asia/Seoul", "ENABLED")
    assert read.start == start
    assert read.created == described["CreationDate"].astimezone(UTC)
    assert read.modified == described["LastModificationDate"].astimezone(UTC)
    assert read.target_arn == described["Target"]["Arn"]
    assert read.input == described["Target"]["Input"]
    assert (read.max_retry_attempts, read.dead_letter_arn) == (3, aws.arns["ScheduleDeliveryDLQ"])
    assert read.action_after_completion == "NONE"


def test_a_schedules_stamps_are_read_and_put_back_exactly(aws: LocalResources) -> None:
    scheduler = boto3.client("scheduler")
    group = aws.names["ScheduleGroup"]
    create_schedule(scheduler, aws, "stamps-1", "cron(0 9 * * ? *)")
    created, modified = 1_796_000_000.125, 1_796_000_100.5

    set_moto_stamps(group, "stamps-1", created, modified)

    assert moto_stamps(group, "stamps-1") == (created, modified)
    described = scheduler.get_schedule(Name="stamps-1", GroupName=group)
    assert described["CreationDate"].timestamp() == created
    assert described["LastModificationDate"].timestamp() == modified
    assert moto_stamps(group, "no-such-schedule") is None


def test_messages_in_flight_are_read_and_put_back_visible_with_their_ids(aws: LocalResources) -> None:
    sqs = boto3.client("sqs")
    url = aws.queue_urls["CallbackFailureQueue"]
    attributes: dict[str, Any] = {"ERROR_CODE": {"DataType": "String", "StringValue": "Throttling"}}
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"n": 1}', MessageAttributes=attributes)["MessageId"]
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)  # now in flight: invisible to every API

    saved = moto_messages(account=LOCAL_ACCOUNT, region=LOCAL_REGION)
    (message,) = saved["CallbackFailureQueue"]
    assert (message["id"], message["body"]) == (sent, '{"n": 1}')
    assert message["attributes"]["ERROR_CODE"]["StringValue"] == "Throttling"

    sqs.purge_queue(QueueUrl=url)
    add_moto_messages(saved, account=LOCAL_ACCOUNT, region=LOCAL_REGION)
    (back,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=0)["Messages"]
    assert (back["MessageId"], back["Body"]) == (sent, '{"n": 1}')
    assert back["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "Throttling"
