"""Every function template.yaml declares, as the local Lambda runs it: a target, a destination or an event source
mapping's function; and the pollers of the template's SQS event source mappings (`localcloud.event_sources`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from localcloud.environments import FunctionSpec
from localcloud.event_sources import SqsEventSource, queue_mappings
from localcloud.lambda_service import Handler, InvokeConfig, LambdaService
from localcloud.options import CloudOptions
from localcloud.stats import LogSink, log_record
from localcloud.template import LocalResources, Resolver, function_settings, load_template, resources_of_type

__all__ = [
    "event_sources",
    "function_specs",
    "function_variables",
    "in_process_functions",
    "invoke_configs",
    "template_functions",
]

#: Functions served by the local API Gateway (not invoked by the local Lambda).
API_FUNCTIONS = frozenset({"SchedulerFunction"})


def template_functions() -> list[str]:
    """The logical ids of the template's functions the local Lambda runs (every one with a Handler but the API's)."""
    template = load_template()
    return [
        logical_id
        for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items()
        if logical_id not in API_FUNCTIONS and function_settings(logical_id, template).handler
    ]


def function_specs(options: CloudOptions, resources: LocalResources) -> dict[str, FunctionSpec]:
    """ARN -> how an execution environment runs it; CallbackFunction with the options' handler and Timeout."""
    action_dirs = tuple(str(path.resolve()) for path in options.action_dirs)
    specs = {}
    for logical_id in template_functions():
        callback = logical_id == "CallbackFunction"
        specs[resources.arns[logical_id]] = FunctionSpec.from_template(
            logical_id,
            handler=options.callback_handler_path if callback else None,
            timeout_seconds=options.callback_timeout if callback else None,
            metric_lines=options.metrics,
            action_dirs=action_dirs,
        )
    return specs


def arns_of(resources: LocalResources, logical_ids: Iterable[str] | None) -> frozenset[str] | None:
    """The ARNs of the functions a test's in-process cloud runs (None: every template function runs)."""
    return None if logical_ids is None else frozenset(resources.arns[logical_id] for logical_id in logical_ids)


def in_process_functions(
    resources: LocalResources, callback: Handler, others: Mapping[str, Handler], callback_timeout: float | None
) -> tuple[dict[str, Handler], dict[str, float]]:
    """ARN -> handler and ARN -> Timeout for the in-process mode: the callback and the handlers a test gave."""
    handlers = {resources.arns["CallbackFunction"]: callback}
    timeouts = {
        resources.arns["CallbackFunction"]: callback_timeout or function_settings("CallbackFunction").timeout_seconds
    }
    for logical_id, handler in others.items():
        handlers[resources.arns[logical_id]] = handler
        timeouts[resources.arns[logical_id]] = function_settings(logical_id).timeout_seconds
    return handlers, timeouts


def invoke_configs(resources: LocalResources) -> dict[str, InvokeConfig]:
    """ARN -> EventInvokeConfig of every function the local Lambda runs."""
    return {resources.arns[lid]: InvokeConfig.from_template(lid) for lid in template_functions()}


def event_sources(lambda_: LambdaService, resources: LocalResources, *, sqs: Any, log: LogSink) -> list[SqsEventSource]:
    """A poller per SQS event source mapping of the template whose function this Lambda runs."""
    pollers = []
    for mapping in queue_mappings():
        function_arn = resources.arns.get(mapping.function)
        queue_url = resources.queue_urls.get(mapping.queue)
        if not mapping.enabled or function_arn is None or queue_url is None:
            continue
        if not lambda_.has_function(function_arn):
            log(log_record("lambda", "event source not polled: its function does not run here", queue=mapping.queue))
            continue
        pollers.append(
            SqsEventSource(
                mapping,
                sqs=sqs,
                queue_url=queue_url,
                queue_arn=resources.arns[mapping.queue],
                function_arn=function_arn,
                invoke=lambda_.invoke_sync,
                log=log,
            )
        )
    return pollers


def function_variables(resources: LocalResources) -> dict[str, str]:
    """The environment variables template.yaml gives the functions the local Lambda runs that name a resource,
    resolved locally: a queue's `Ref` is its URL (as CloudFormation resolves it), a table's its name, `GetAtt …Arn`
    the local ARN. The local cloud's own settings (`LocalEndpoint.environment`) take precedence over these."""
    template = load_template()
    resolver = Resolver(template)
    found: dict[str, str] = {}
    for logical_id in template_functions():
        declared = template["Resources"][logical_id].get("Properties", {}).get("Environment", {}).get("Variables", {})
        for name, value in declared.items():
            if not isinstance(value, dict) or not (value.get("Ref") in template["Resources"] or "Fn::GetAtt" in value):
                continue  # a parameter or a constant: the code's defaults stand in for them locally
            if value.get("Ref") in resources.queue_urls:
                found[name] = resources.queue_urls[value["Ref"]]
                continue
            resolved = resolver.resolve(value)
            if resolved is not None and not isinstance(resolved, dict | list):
                found[name] = str(resolved)
    return found
