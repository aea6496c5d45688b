"""Read `template.yaml` and create what it declares (tables, queues, schedule groups, secrets) on an endpoint.

The tests and the local cloud build their AWS resources from the template itself, so local and
deployed infrastructure cannot drift: change the table's key schema there and the tests see it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"
LOCAL_STACK = "scheduled-tasks-local"


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short tags (`!Ref x`) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The parsed template (intrinsics in long form: `{"Ref": ...}`, `{"Fn::Sub": ...}`)."""
    with path.open(encoding="utf-8") as fh:
        # _CfnLoader is a SafeLoader subclass: no arbitrary objects.
        loaded: dict[str, Any] = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506  # nosec B506
    return loaded


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of `resource_type`."""
    return {lid: res for lid, res in template.get("Resources", {}).items() if res.get("Type") == resource_type}


@dataclass
class Resolver:
    """Resolve the intrinsics the local cloud needs, with parameters at their defaults."""

    template: Mapping[str, Any]
    stack: str = LOCAL_STACK
    region: str = LOCAL_REGION
    account: str = LOCAL_ACCOUNT
    overrides: dict[str, str] = field(default_factory=dict)

    def physical_name(self, logical_id: str) -> str:
        """The name a resource gets locally: its declared name, else its logical id."""
        if logical_id in self.overrides:
            return self.overrides[logical_id]
        res = self.template["Resources"][logical_id]
        props = res.get("Properties", {})
        for key in ("TableName", "QueueName", "Name", "FunctionName", "TopicName", "RoleName"):
            if key in props:
                return str(self.resolve(props[key]))
        return logical_id

    def arn(self, logical_id: str) -> str:
        """The ARN a resource has locally."""
        kind = self.template["Resources"][logical_id]["Type"]
        name = self.physical_name(logical_id)
        prefix = f"arn:aws:{{svc}}:{self.region}:{self.account}"
        return {
            "AWS::DynamoDB::Table": f"{prefix.format(svc='dynamodb')}:table/{name}",
            "AWS::SQS::Queue": f"{prefix.format(svc='sqs')}:{name}",
            "AWS::Scheduler::ScheduleGroup": f"{prefix.format(svc='scheduler')}:schedule-group/{name}",
            "AWS::Serverless::Function": f"{prefix.format(svc='lambda')}:function:{name}",
            "AWS::SNS::Topic": f"{prefix.format(svc='sns')}:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{self.account}:role/{name}",
        }.get(kind, f"{prefix.format(svc='local')}:{name}")

    def resolve(self, value: Any) -> Any:
        """Resolve Ref, Sub, GetAtt (Arn/QueueUrl/Name), Join and If (false branch for unset options)."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((key, arg),) = value.items()
        intrinsic = self._intrinsics().get(key)
        if intrinsic is None:  # a one-key mapping that is not an intrinsic (or one not needed locally)
            return {key: self.resolve(arg)}
        return intrinsic(arg)

    def _intrinsics(self) -> dict[str, Callable[[Any], Any]]:
        """The intrinsic functions this resolver knows, by their long-form key."""
        return {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::If": self._if,
        }

    def _get_att(self, arg: list[str] | str) -> str:
        """`[logical id, attribute]` (or `id.attribute`): the ARN for `Arn`, the physical name for any other."""
        logical_id, attr = arg if isinstance(arg, list) else arg.split(".", 1)
        return self.arn(logical_id) if attr == "Arn" else self.physical_name(logical_id)

    def _sub(self, arg: list[Any] | str) -> str:
        """`text` or `[text, variables]`: each `${name}` replaced by its variable, else its Ref or GetAtt."""
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def value_of(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(self.resolve(variables[name]) if name in variables else self._sub_var(name))

        return re.sub(r"\$\{([^}!]+)\}", value_of, text)

    def _join(self, arg: list[Any]) -> str:
        """`[separator, items]`: the resolved items joined."""
        sep, items = arg
        joined: str = sep.join(str(self.resolve(i)) for i in items)
        return joined

    def _if(self, arg: list[Any]) -> Any:
        """`[condition, if true, if false]`: the false branch (the template's options are unset locally)."""
        return self.resolve(arg[2])

    def _sub_var(self, name: str) -> Any:
        """A `${name}` of Sub without a variable of that name: `${id.attribute}` is a GetAtt, else a Ref."""
        if "." in name:
            logical_id, attr = name.split(".", 1)
            return self._get_att([logical_id, attr])
        return self._ref(name)

    def _ref(self, name: str) -> Any:
        """A pseudo parameter, a parameter (its override, else its default), else a resource's physical name."""
        pseudo = {
            "AWS::StackName": self.stack,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        params = self.template.get("Parameters", {})
        if name in params:
            return self.overrides.get(name, params[name].get("Default", ""))
        return self.physical_name(name)


#: Queue properties passed on to the local queue (the rest: encryption, policies, have no local meaning).
QUEUE_ATTRIBUTES = ("MaximumMessageSize", "MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds")


@dataclass(frozen=True)
class LocalResources:
    """Physical names and ARNs of what `provision` created, by logical id."""

    names: dict[str, str]
    arns: dict[str, str]
    queue_urls: dict[str, str]


def provision(
    session: Any, *, template: Mapping[str, Any] | None = None, endpoint_url: str | None = None
) -> LocalResources:
    """Create the template's tables, queues, schedule groups and secrets with `session` (a boto3 Session)."""
    template = template or load_template()
    resolver = Resolver(template)

    def client(service: str) -> Any:
        return session.client(service, region_name=LOCAL_REGION, endpoint_url=endpoint_url)

    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    queues = resources_of_type(template, "AWS::SQS::Queue")
    groups = resources_of_type(template, "AWS::Scheduler::ScheduleGroup")
    secrets = resources_of_type(template, "AWS::SecretsManager::Secret")
    if tables:
        _create_tables(client("dynamodb"), resolver, tables)
    urls = _create_queues(client("sqs"), resolver, queues) if queues else {}
    if groups:
        _create_schedule_groups(client("scheduler"), resolver, groups)
    secret_arns = _create_secrets(client("secretsmanager"), resolver, secrets) if secrets else {}
    # Functions and roles are not created (the local cloud runs the functions itself), only named.
    named = (
        *tables,
        *queues,
        *groups,
        *secrets,
        *resources_of_type(template, "AWS::Serverless::Function"),
        *resources_of_type(template, "AWS::IAM::Role"),
    )
    return LocalResources(
        names={lid: resolver.physical_name(lid) for lid in named},
        arns={lid: resolver.arn(lid) for lid in named} | secret_arns,
        queue_urls=urls,
    )


def _create_tables(dynamodb: Any, resolver: Resolver, tables: Mapping[str, dict[str, Any]]) -> None:
    """Each table with its key schema, billing mode and global secondary indexes, and its TTL attribute when enabled."""
    for lid, res in tables.items():
        props = resolver.resolve(res.get("Properties", {}))
        name = resolver.physical_name(lid)
        indexes = {k: props[k] for k in ("GlobalSecondaryIndexes",) if k in props}
        dynamodb.create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            **indexes,
        )
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )


def _create_queues(sqs: Any, resolver: Resolver, queues: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """Each queue with the attributes that change what it accepts and keeps; logical id -> queue URL."""
    urls: dict[str, str] = {}
    for lid, res in queues.items():
        props = resolver.resolve(res.get("Properties", {}))
        # RejectedTaskQueue, for one, takes 1 MiB messages (MaximumMessageSize).
        attributes = {key: str(props[key]) for key in QUEUE_ATTRIBUTES if key in props}
        urls[lid] = sqs.create_queue(QueueName=resolver.physical_name(lid), Attributes=attributes)["QueueUrl"]
    return urls


def _create_schedule_groups(scheduler: Any, resolver: Resolver, groups: Mapping[str, dict[str, Any]]) -> None:
    """Each schedule group, by name."""
    for lid in groups:
        scheduler.create_schedule_group(Name=resolver.physical_name(lid))


#: GenerateSecretString's options that GetRandomPassword takes under the same names.
PASSWORD_OPTIONS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def _create_secrets(secrets: Any, resolver: Resolver, declared: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """Each secret, its value generated as its `GenerateSecretString` says (or its `SecretString`, or none); logical
    id -> ARN.

    The value is drawn by the endpoint's own GetRandomPassword, as CloudFormation draws it at deploy time.
    """
    arns: dict[str, str] = {}
    for lid, res in declared.items():
        props = resolver.resolve(res.get("Properties", {}))
        generate = props.get("GenerateSecretString")
        if generate is not None:
            options = {key: generate[key] for key in PASSWORD_OPTIONS if key in generate}
            value = secrets.get_random_password(**options)["RandomPassword"]
            if "SecretStringTemplate" in generate:  # a JSON object with the password under GenerateStringKey
                value = json.dumps(
                    {**json.loads(generate["SecretStringTemplate"]), generate["GenerateStringKey"]: value}
                )
        elif "SecretString" in props:
            value = str(props["SecretString"])
        else:  # no value yet, as CloudFormation makes it: someone puts one (put-secret-value) before it is read
            value = None
        initial = {"SecretString": value} if value else {}
        created = secrets.create_secret(Name=resolver.physical_name(lid), **initial)
        arns[lid] = created["ARN"]
    return arns


def event_invoke_config(logical_id: str, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A function's asynchronous-invocation settings (`EventInvokeConfig`), resolved; {} when it has none.

    Read from the function's own `EventInvokeConfig` property, else from an `AWS::Lambda::EventInvokeConfig`
    resource that names it, so the local Lambda retries and dead-letters exactly as deployed.
    """
    template = template or load_template()
    resolver = Resolver(template)
    resource = template.get("Resources", {}).get(logical_id, {})
    config = resource.get("Properties", {}).get("EventInvokeConfig")
    if config is None:
        for res in resources_of_type(template, "AWS::Lambda::EventInvokeConfig").values():
            props = res.get("Properties", {})
            if props.get("FunctionName") == {"Ref": logical_id}:
                config = {k: v for k, v in props.items() if k not in ("FunctionName", "Qualifier")}
                break
    resolved: dict[str, Any] = resolver.resolve(config) if config else {}
    return resolved


#: Lambda's own defaults, for a function (and Globals) that does not say.
LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3
LAMBDA_DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True)
class FunctionSettings:
    """What Lambda needs to run a function of the template: its entry point, code, timeout and memory."""

    logical_id: str
    #: `module.function`, as the template's `Handler` (the module path is dotted).
    handler: str
    #: The function's code directory (`CodeUri`), relative to the repository root (Lambda's /var/task).
    code_uri: str
    #: The content directories of its layers, in order (Lambda's /opt/python).
    layers: tuple[str, ...]
    timeout_seconds: float
    memory_mb: int


def function_settings(logical_id: str, template: Mapping[str, Any] | None = None) -> FunctionSettings:
    """A function's Handler, CodeUri, Timeout and MemorySize: its own, else Globals.Function's, else Lambda's."""
    template = template or load_template()
    resolver = Resolver(template)
    props = template["Resources"][logical_id].get("Properties", {})
    shared = template.get("Globals", {}).get("Function", {})

    def setting(name: str, default: Any) -> Any:
        value = props.get(name, shared.get(name, default))
        return resolver.resolve(value)

    layers = []
    for layer in props.get("Layers", shared.get("Layers", [])):
        if isinstance(layer, dict) and "Ref" in layer:  # a layer of this template (an ARN is not on this disk)
            content = template["Resources"][layer["Ref"]].get("Properties", {}).get("ContentUri")
            if isinstance(content, str):
                layers.append(content.rstrip("/"))
    return FunctionSettings(
        logical_id=logical_id,
        handler=str(setting("Handler", "")),
        code_uri=str(setting("CodeUri", ".")).rstrip("/") or ".",
        layers=tuple(layers),
        timeout_seconds=float(setting("Timeout", LAMBDA_DEFAULT_TIMEOUT_SECONDS)),
        memory_mb=int(setting("MemorySize", LAMBDA_DEFAULT_MEMORY_MB)),
    )


def api_stage_name(template: Mapping[str, Any] | None = None) -> str:
    """The stage of the template's REST API (what `requestContext.stage` says), `local` when there is none."""
    template = template or load_template()
    for res in resources_of_type(template, "AWS::Serverless::Api").values():
        stage = Resolver(template).resolve(res.get("Properties", {}).get("StageName"))
        if isinstance(stage, str) and stage:
            return stage
    return "local"
