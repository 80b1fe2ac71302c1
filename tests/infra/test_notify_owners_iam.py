"""The notifier Lambda's owner-routing permissions (gaib-notify-owners.tf): a separate role policy that
reads only the webhook names of the catalog and only tagged ``gaib/webhooks/`` secrets."""

from __future__ import annotations

from typing import Any

from gaib.aws_lambda import discord_notifier as dn
from gaib.secrets.base import WEBHOOK_SECRET_PREFIX
from gaib.storage.keys import SERVER_PK_PREFIX
from tests.support.terraform import Stack, one

POLICY = "discord_notifier_owners"


def _statement(stack: Stack, sid: str) -> dict[str, Any]:
    return one([st for st in stack.statements(POLICY) if st.get("sid") == sid])


def _conditions(st: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {c["variable"]: (c["test"], c["values"]) for c in st.get("condition", [])}


def test_the_owner_policy_is_its_own_role_policy_on_the_notifier_role(stack: Stack) -> None:
    attached = stack.resource("aws_iam_role_policy", POLICY)
    assert attached["role"] == "${aws_iam_role.discord_notifier.id}"
    assert f"aws_iam_policy_document.{POLICY}" in attached["policy"]
    assert "gaib-notify-owners.tf" in stack.files and POLICY in stack.files["gaib-notify-owners.tf"]
    assert {st["sid"] for st in stack.statements(POLICY)} == {"ReadServersWebhookNames", "ReadServersWebhookSecrets"}


def test_catalog_reads_are_one_item_at_a_time_in_server_partitions_and_only_the_webhook_name(stack: Stack) -> None:
    st = _statement(stack, "ReadServersWebhookNames")
    assert st["actions"] == ["dynamodb:GetItem"]  # no Query, Scan, BatchGetItem, nor any write
    assert st["resources"] == ["${aws_dynamodb_table.backup_metadata.arn}"]  # not its indexes
    conditions = _conditions(st)
    assert conditions["dynamodb:LeadingKeys"] == ("ForAllValues:StringLike", [f"{SERVER_PK_PREFIX}*"])
    assert conditions["dynamodb:Attributes"] == ("ForAllValues:StringEquals", ["PK", "SK", dn.WEBHOOK_SECRET_FIELD])
    assert conditions["dynamodb:Select"] == ("StringEqualsIfExists", ["SPECIFIC_ATTRIBUTES"])


def test_secret_reads_are_only_tagged_webhook_secrets(stack: Stack) -> None:
    st = _statement(stack, "ReadServersWebhookSecrets")
    assert sorted(st["actions"]) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert st["resources"] == ["${local.owner_webhook_secret_arns}"]
    assert stack.locals["owner_webhook_secret_arns"].endswith(f":secret:{WEBHOOK_SECRET_PREFIX}*")
    assert _conditions(st)["secretsmanager:ResourceTag/ServerId"] == ("Null", ["false"])


def test_the_lambda_is_told_the_catalog_table_and_waits_for_its_owner_policy(stack: Stack) -> None:
    fn = stack.resource("aws_lambda_function", "discord_notifier")
    env = one(fn["environment"])["variables"]
    assert f"{{{dn.ENV_CATALOG_TABLE} = aws_dynamodb_table.backup_metadata.name}}" in env
    assert f"aws_iam_role_policy.{POLICY}" in repr(fn["depends_on"])
