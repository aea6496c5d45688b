"""Who owns what an assumed-role session creates (`AssumedRoleOwner`), and how `AdminPrincipals` is matched.

People who sign in through IAM Identity Center are sessions of one role per permission set
(`arn:aws:sts::<account>:assumed-role/AWSReservedSSO_<set>_<suffix>/<user>`): with `role` (the default) they
are one owner, with `session` each person is an owner. An admin's ARN may be given as IAM shows the role
(with its path, `role/aws-reserved/sso.amazonaws.com/<region>/…`), without the path, or as a session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.template import LocalResources
from scheduler_app.principals import caller_of, is_admin, normalise
from scheduler_app.settings import get_settings
from tests.scheduler.helpers import call_as, task

ACCOUNT = "123456789012"
DEV_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Developer_0123456789abcdef"
ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/alice@example.com"
BOB = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/bob@example.com"
ADMIN_ROLE_IN_IAM = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-2/AWSReservedSSO_Admin_fedcba9876543210"
)
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Admin_fedcba9876543210"
CAROL = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_fedcba9876543210/carol@example.com"
DAVE = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_fedcba9876543210/dave@example.com"
SERVICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-service/i-0a1b2c"
USER = f"arn:aws:iam::{ACCOUNT}:user/ops/billing"


def test_a_session_owns_as_its_role_by_default_and_as_itself_with_session() -> None:
    assert normalise(ALICE) == normalise(BOB) == normalise(ALICE, "role") == DEV_ROLE
    assert normalise(ALICE, "session") == ALICE
    assert normalise(BOB, "session") == BOB
    # Not a session: a role ARN loses its path (sessions never carry it), anything else stays as it is.
    assert normalise(ADMIN_ROLE_IN_IAM, "session") == normalise(ADMIN_ROLE_IN_IAM) == ADMIN_ROLE
    assert normalise(USER, "session") == USER


@pytest.mark.parametrize("entry", [ADMIN_ROLE_IN_IAM, ADMIN_ROLE, CAROL], ids=["role-with-path", "role", "session"])
def test_an_admin_given_as_iam_shows_it_or_without_the_path_or_as_a_session_matches_in_role_mode(entry: str) -> None:
    admins = frozenset({normalise(entry)})

    assert is_admin(CAROL, admins)  # every person in the admin permission set
    assert is_admin(DAVE, admins)
    assert not is_admin(ALICE, admins)


def test_with_session_owners_an_admin_role_covers_its_sessions_and_an_admin_session_only_itself() -> None:
    by_role = frozenset({normalise(ADMIN_ROLE_IN_IAM, "session")})
    by_session = frozenset({normalise(CAROL, "session")})

    assert is_admin(CAROL, by_role, "session")
    assert is_admin(DAVE, by_role, "session")
    assert is_admin(CAROL, by_session, "session")
    assert not is_admin(DAVE, by_session, "session")
    assert not is_admin(ALICE, by_role, "session")


def test_the_caller_carries_the_owner_the_setting_chooses() -> None:
    event = {"requestContext": {"identity": {"userArn": ALICE}}}

    by_role = caller_of(event, isolation="owner", admins=frozenset())
    by_session = caller_of(event, isolation="owner", admins=frozenset(), assumed_role_owner="session")

    assert (by_role.principal, by_session.principal) == (DEV_ROLE, ALICE)
    assert not by_role.sees_all


@pytest.fixture
def sso(scheduler_env: LocalResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`Isolation=owner`, the admin permission set's role as IAM shows it (with its path); then AssumedRoleOwner."""
    monkeypatch.setenv("TASK_ISOLATION", "owner")
    monkeypatch.setenv("ADMIN_PRINCIPALS", f"{USER}, {ADMIN_ROLE_IN_IAM}")

    def owners(setting: str) -> None:
        monkeypatch.setenv("ASSUMED_ROLE_OWNER", setting)
        get_settings.cache_clear()

    yield owners
    get_settings.cache_clear()


def test_with_session_owners_each_person_of_a_permission_set_sees_only_their_own_tasks(sso: Any) -> None:
    sso("session")
    alice, bob = call_as(ALICE), call_as(BOB)

    assert alice("POST", "/api/v1/schedules", task("mine", delay_minutes=5))[1]["owner"] == ALICE
    assert bob("POST", "/api/v1/schedules", task("mine", delay_minutes=5))[1]["owner"] == BOB

    assert [i["owner"] for i in alice("GET", "/api/v1/schedules")[1]["items"]] == [ALICE]
    assert [i["owner"] for i in bob("GET", "/api/v1/schedules")[1]["items"]] == [BOB]
    assert bob("GET", "/api/v1/schedules/mine", query={"owner": ALICE})[0] == 422  # bob is no admin


def test_with_role_owners_the_people_of_a_permission_set_share_their_tasks(sso: Any) -> None:
    sso("role")

    call_as(ALICE)("POST", "/api/v1/schedules", task("ours", delay_minutes=5))

    status, body = call_as(BOB)("GET", "/api/v1/schedules/ours")
    assert (status, body["owner"]) == (200, DEV_ROLE)


@pytest.mark.parametrize("setting", ["role", "session"])
def test_an_admin_principal_copied_from_iam_with_its_path_is_an_admin(sso: Any, setting: str) -> None:
    sso(setting)
    call_as(ALICE)("POST", "/api/v1/schedules", task("hers", delay_minutes=5))
    owner = ALICE if setting == "session" else DEV_ROLE

    listed = call_as(CAROL)("GET", "/api/v1/schedules")
    read = call_as(DAVE)("GET", "/api/v1/schedules/hers", query={"owner": owner})

    assert (listed[0], [i["task_id"] for i in listed[1]["items"]]) == (200, ["hers"])
    assert (read[0], read[1]["owner"]) == (200, owner)


def test_a_service_is_one_owner_whatever_instance_calls_with_role_owners(sso: Any) -> None:
    sso("role")
    other_instance = SERVICE.replace("i-0a1b2c", "i-9z8y7x")

    call_as(SERVICE)("POST", "/api/v1/schedules", task("svc", delay_minutes=5))

    assert call_as(other_instance)("POST", "/api/v1/schedules/svc/pause")[1]["status"] == "paused"
