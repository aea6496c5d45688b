"""`TaskClient.from_stack(name)`: the API URL from the deployed stack's `ApiUrl` output (CloudFormation
DescribeStacks, as `make console STACK=...` reads it), signed with the same credentials; on moto."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator

import httpx
import pytest
from moto import mock_aws

from localcloud.template import load_template
from taskclient import AsyncTaskClient, StackNotFound, TaskClient
from taskclient.stack import API_URL_OUTPUT

API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1"


def stack_template(outputs: dict[str, str]) -> str:
    """A stand-in for the deployed stack with these outputs."""
    return json.dumps(
        {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


@pytest.fixture
def stacks() -> Iterator[None]:
    with mock_aws():
        import boto3

        for region, name, outputs in [
            ("eu-west-1", "tasks-prod", {API_URL_OUTPUT: API_URL, "SchedulerFunctionName": "f"}),
            ("eu-west-1", "other", {"SomethingElse": "x"}),
        ]:
            boto3.client("cloudformation", region_name=region).create_stack(
                StackName=name, TemplateBody=stack_template(outputs)
            )
        yield


def recorder() -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok", "service": "s", "actions": []})

    return seen, httpx.MockTransport(answer)


def test_from_stack_reads_the_api_url_output_and_signs_for_its_region(stacks: None) -> None:
    seen, transport = recorder()

    with TaskClient.from_stack("tasks-prod", region="eu-west-1", transport=transport, max_retries=0) as tasks:
        tasks.health()

    assert tasks.base_url == API_URL
    assert str(seen[0].url) == f"{API_URL}/health"
    authorization = seen[0].headers["authorization"]
    assert f"Credential={os.environ['AWS_ACCESS_KEY_ID']}/" in authorization
    assert "/eu-west-1/execute-api/aws4_request" in authorization


def test_the_async_client_is_made_from_a_stack_the_same_way(stacks: None) -> None:
    seen: list[httpx.Request] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok", "service": "s", "actions": []})

    async def use() -> str:
        tasks = AsyncTaskClient.from_stack("tasks-prod", region="eu-west-1", transport=httpx.MockTransport(answer))
        async with tasks:
            return (await tasks.health()).status

    assert asyncio.run(use(), loop_factory=asyncio.new_event_loop) == "ok"
    assert "/eu-west-1/execute-api/" in seen[0].headers["authorization"]


def test_a_stack_that_is_missing_or_has_no_api_url_says_so(stacks: None) -> None:
    with pytest.raises(StackNotFound, match="cannot read stack 'nope'"):
        TaskClient.from_stack("nope", region="eu-west-1")
    with pytest.raises(StackNotFound, match="stack 'other' has no ApiUrl output: is it this project's stack"):
        TaskClient.from_stack("other", region="eu-west-1")


def test_the_output_it_reads_is_the_one_template_yaml_declares() -> None:
    outputs = load_template()["Outputs"]

    assert API_URL_OUTPUT in outputs
    assert "execute-api" in json.dumps(outputs[API_URL_OUTPUT]["Value"])
