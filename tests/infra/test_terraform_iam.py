"""Static checks of the IAM in infrastructure/terraform: each role has its policy, each policy grants only
what its user needs (deletes only where prune or restore delete, no version deletes, no wildcards),
and every trust policy is scoped to the account."""

from __future__ import annotations

from typing import Any

from tests.support.terraform import Stack, one

ROLE_POLICIES = {
    "ecs_task_execution": "ecs_task_execution",
    "server_task": "server_task",
    "coordinator": "coordinator",
    "operator": "operator",
    "eventbridge_ecs": "eventbridge_ecs",
    "discord_notifier": "discord_notifier",
    "notification_audit": "notification_audit",
    "replication": "replication",
    "batch_replication": "batch_replication",
}


def test_every_role_has_its_policy_attached(stack: Stack) -> None:
    roles = stack.resources["aws_iam_role"]
    assert set(roles) == set(ROLE_POLICIES)
    attachments = stack.resources["aws_iam_role_policy_attachment"]
    for role, policy in ROLE_POLICIES.items():
        att = attachments[role]
        assert att["role"].startswith(f"${{aws_iam_role.{role}"), role
        assert att["policy_arn"].startswith(f"${{aws_iam_policy.{policy}"), role
        assert f"aws_iam_policy_document.{policy}" in stack.resource("aws_iam_policy", policy)["policy"]
        assert "aws_iam_policy_document.trust_" in roles[role]["assume_role_policy"]


def resolve_actions(stack: Stack, actions: Any) -> list[str]:
    """A statement's actions, with a `${local.x}` reference replaced by that local's list."""
    if isinstance(actions, str):
        resolved = stack.locals[actions.removeprefix("${local.").removesuffix("}")]
        assert isinstance(resolved, list)
        return resolved
    return list(actions or [])


def actions_of(stack: Stack, policy: str) -> set[str]:
    out: set[str] = set()
    for st in stack.statements(policy):
        if st.get("effect", "Allow") == "Allow":
            out.update(resolve_actions(stack, st.get("actions")))
    return out


def test_only_server_sessions_delete_and_only_their_own_server_s_bundles(stack: Stack) -> None:
    actions = actions_of(stack, "server_task")
    assert {"s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "sns:Publish", "cloudwatch:PutMetricData"} <= actions
    assert {"dynamodb:PutItem", "dynamodb:Query", "kms:GenerateDataKey", "kms:Decrypt", "kms:GenerateMac"} <= actions
    by_sid = {s["sid"]: s for s in stack.statements("server_task")}
    # Prune (state backups, snapshots, media) and settled journals: delete markers on the versioned bucket,
    # under the session's own server only; exports and theme registries/audit are never deleted.
    deleting = {sid: st for sid, st in by_sid.items() if st.get("effect", "Allow") == "Allow"
                and any("Delete" in a or a == "dynamodb:BatchWriteItem"
                        for a in resolve_actions(stack, st.get("actions")))}
    assert set(deleting) == {"PruneOwnObjects", "OwnCatalogPartition"}
    assert deleting["PruneOwnObjects"]["actions"] == ["s3:DeleteObject"]
    assert deleting["PruneOwnObjects"]["resources"] == [
        f"${{aws_s3_bucket.backups.arn}}/{prefix}/${{local.server_tag}}/*"
        for prefix in ("state", "snapshots", "media", "metadata")]
    assert stack.locals["server_tag"] == "$${aws:PrincipalTag/ServerId}"
    leading = one(by_sid["OwnCatalogPartition"]["condition"])
    assert (leading["test"], leading["variable"], leading["values"]) == (
        "ForAllValues:StringEquals", "dynamodb:LeadingKeys", ["SERVER#${local.server_tag}"])
    for other in ("coordinator", "operator"):
        assert not [a for a in actions_of(stack, other) if "Delete" in a or a == "dynamodb:BatchWriteItem"], other
    metrics = by_sid["PublishGaibMetrics"]
    cond = one(metrics["condition"])
    assert (cond["variable"], cond["values"]) == ("cloudwatch:namespace", ["${local.metric_namespace}"])
    assert by_sid["PublishNotifications"]["resources"] == ["${aws_sns_topic.backup_notifications.arn}"]


def test_nobody_deletes_object_versions(stack: Stack) -> None:
    for name, st in stack.all_statements():
        if st.get("effect", "Allow") == "Allow":
            assert "s3:DeleteObjectVersion" not in resolve_actions(stack, st.get("actions")), name


def test_only_the_operator_tags_objects_of_any_server_or_secrets(stack: Stack) -> None:
    tagging = {"s3:PutObjectTagging", "s3:DeleteObjectTagging", "secretsmanager:TagResource",
               "secretsmanager:UntagResource"}
    assert {"s3:PutObjectTagging", "secretsmanager:TagResource"} <= actions_of(stack, "operator")
    assert not tagging & actions_of(stack, "coordinator")
    # A server session tags only its own uploads, with its own ServerId (test_tenant_isolation evaluates it).
    server = [st for st in stack.statements("server_task") if st.get("effect", "Allow") == "Allow"
              and tagging & set(resolve_actions(stack, st.get("actions")))]
    assert [st["sid"] for st in server] == ["TagOwnObjectsWithTheirServer"]


def test_eventbridge_role_runs_task_and_passes_only_the_two_task_roles(stack: Stack) -> None:
    by_sid = {s["sid"]: s for s in stack.statements("eventbridge_ecs")}
    assert by_sid["RunBackupTask"]["actions"] == ["ecs:RunTask"]
    assert by_sid["RunBackupTask"]["resources"] == "${local.task_definition_family_arns}"
    passrole = by_sid["PassBackupTaskRoles"]
    assert passrole["actions"] == ["iam:PassRole"]
    assert passrole["resources"] == ["${aws_iam_role.ecs_task_execution.arn}", "${aws_iam_role.coordinator.arn}"]
    assert one(passrole["condition"])["values"] == ["ecs-tasks.amazonaws.com"]


def test_no_wildcard_actions_and_no_unconditioned_wildcard_grants(stack: Stack) -> None:
    for name, st in stack.all_statements():
        if st.get("effect", "Allow") != "Allow":
            continue
        actions = resolve_actions(stack, st.get("actions"))
        assert "*" not in actions, name
        if st.get("resources") == ["*"]:
            wild = [a for a in actions if "*" in a]
            assert not wild, f"{name}/{st.get('sid')}: wildcard actions {wild} on *"
        principals = st.get("principals", [])
        assert all(p.get("identifiers") != ["*"] for p in principals), f"{name}: Allow to everyone"


def test_trust_policies_are_scoped_to_the_account(stack: Stack) -> None:
    for name in ("trust_ecs_tasks", "trust_events", "trust_lambda", "trust_s3", "trust_s3_batch_operations"):
        st = one(stack.statements(name))
        assert st["actions"] == ["sts:AssumeRole"]
        assert any(c["variable"] == "aws:SourceAccount" for c in st["condition"]), name
