"""A deployed stack's API URL from its outputs (CloudFormation DescribeStacks), as `make console STACK=...` finds it."""

from __future__ import annotations

from typing import Any

#: The stack output that holds the API's URL, stage included (template.yaml's `Outputs`).
API_URL_OUTPUT = "ApiUrl"


class StackNotFound(LookupError):
    """Raise when the stack cannot be read or has no `ApiUrl` output; the message says which."""


def api_url_of(stack_name: str, region: str | None = None, *, session: Any = None) -> tuple[str, Any]:
    """The stack's API URL, and the botocore session's credentials (to sign with)."""
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or botocore.session.get_session()
    try:
        cloudformation = session.create_client("cloudformation", region_name=region)
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise StackNotFound(f"cannot read stack {stack_name!r}: {exc}") from exc
    outputs = {str(o["OutputKey"]): str(o["OutputValue"]) for o in (stacks[0].get("Outputs") or [])} if stacks else {}
    if API_URL_OUTPUT not in outputs:
        raise StackNotFound(
            f"stack {stack_name!r} has no {API_URL_OUTPUT} output: is it this project's stack (template.yaml)?"
        )
    return outputs[API_URL_OUTPUT], session.get_credentials()
