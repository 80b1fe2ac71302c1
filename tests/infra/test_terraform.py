"""Static checks of infrastructure/terraform (no terraform binary here): parse, resources, attributes, IAM."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.terraform import TF_DIR, Stack, one, parse_file

DOCS = Path(__file__).resolve().parents[2] / "docs" / "infrastructure.md"
LAMBDA_DIR = Path(__file__).resolve().parents[2] / "src" / "gaib" / "aws_lambda"


def rule_by_id(lifecycle: dict[str, Any], rule_id: str) -> dict[str, Any]:
    matches = [r for r in lifecycle["rule"] if r["id"] == rule_id]
    assert matches, f"no lifecycle rule {rule_id}"
    return matches[0]


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(TF_DIR.glob("*.tf")), ids=lambda p: p.name)
def test_every_tf_file_parses(path: Path) -> None:
    assert parse_file(path), f"{path.name} parsed to nothing"


def test_expected_files_exist() -> None:
    names = {p.name for p in TF_DIR.glob("*.tf")}
    assert {"gaib-backups.tf", "gaib-backups-iam.tf", "variables.tf", "outputs.tf", "versions.tf"} <= names


def test_parser_rejects_broken_hcl(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tf"
    bad.write_text('resource "aws_s3_bucket" "x" {\n  bucket = "a"\n')  # unclosed block
    with pytest.raises(Exception):  # noqa: B017 - python-hcl2 raises lark errors of several types
        parse_file(bad)


# --- providers -----------------------------------------------------------------------------------


def test_providers_primary_and_replica_alias(stack: Stack) -> None:
    required = one(one(stack.terraform)["required_providers"])
    assert required["aws"]["source"] == "hashicorp/aws"
    assert required["archive"]["source"] == "hashicorp/archive"
    aws = [body for name, body in stack.providers if name == "aws"]
    assert any("alias" not in p and p["region"] == "${var.aws_region}" for p in aws)
    replica = [p for p in aws if p.get("alias") == "replica"]
    assert replica and replica[0]["region"] == "${var.replica_region}"
    assert stack.variables["replica_region"]["default"] == "us-west-2"


# --- S3 ------------------------------------------------------------------------------------------


def test_backup_bucket_name_and_account_check(stack: Stack) -> None:
    bucket = stack.resource("aws_s3_bucket", "backups")
    assert bucket["bucket"] == "${local.bucket_name}"
    assert stack.locals["bucket_name"] == "gaib-backups-${var.account_id}"
    conditions = [p["condition"] for p in one(bucket["lifecycle"])["precondition"]]
    assert "${var.account_id == data.aws_caller_identity.current.account_id}" in conditions


@pytest.mark.parametrize("name", ["backups", "replica", "access_logs"])
def test_buckets_are_versioned_private_and_owner_enforced(stack: Stack, name: str) -> None:
    versioning = stack.resource("aws_s3_bucket_versioning", name)
    assert one(versioning["versioning_configuration"])["status"] == "Enabled"
    pab = stack.resource("aws_s3_bucket_public_access_block", name)
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert pab[flag] is True, flag
    ownership = stack.resource("aws_s3_bucket_ownership_controls", name)
    assert one(ownership["rule"])["object_ownership"] == "BucketOwnerEnforced"
    policy = stack.statements(f"{name}_bucket")
    deny_tls = [s for s in policy if s.get("effect") == "Deny" and "aws:SecureTransport" in json.dumps(s)]
    assert deny_tls and one(deny_tls[0]["condition"])["values"] == ["false"]


@pytest.mark.parametrize(("name", "key"), [("backups", "aws_kms_key.backups"), ("replica", "aws_kms_key.replica[0]")])
def test_buckets_use_sse_kms_with_bucket_key(stack: Stack, name: str, key: str) -> None:
    sse = one(stack.resource("aws_s3_bucket_server_side_encryption_configuration", name)["rule"])
    default = one(sse["apply_server_side_encryption_by_default"])
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == "${" + key + ".arn}"
    assert sse["bucket_key_enabled"] is True


@pytest.mark.parametrize("name", ["backups", "replica"])
def test_lifecycle_never_expires_a_current_backup_object(stack: Stack, name: str) -> None:
    # Retention is prune's job (it keeps a server's newest backup however old); lifecycle may only remove
    # what prune already deleted (noncurrent versions), leftover delete markers and incomplete uploads.
    lc = stack.resource("aws_s3_bucket_lifecycle_configuration", name)
    assert {r["id"] for r in lc["rule"]} == {"premium-tier-glacier-ir", "removed-versions-and-leftovers"}
    assert all(r["status"] == "Enabled" for r in lc["rule"])
    for rule in lc["rule"]:
        for expiration in rule.get("expiration", []):
            assert expiration == {"expired_object_delete_marker": True}, rule["id"]

    leftovers = rule_by_id(lc, "removed-versions-and-leftovers")
    assert one(leftovers["filter"]) == {}
    assert one(leftovers["noncurrent_version_expiration"]) == {
        "noncurrent_days": "${var.noncurrent_version_retention_days}"}
    assert one(leftovers["abort_incomplete_multipart_upload"])["days_after_initiation"] == 1
    assert 1 <= stack.variables["noncurrent_version_retention_days"]["default"] <= 30


@pytest.mark.parametrize("name", ["backups", "replica"])
def test_large_premium_objects_move_to_glacier_ir(stack: Stack, name: str) -> None:
    lc = stack.resource("aws_s3_bucket_lifecycle_configuration", name)
    assert lc["transition_default_minimum_object_size"] == "all_storage_classes_128K"
    glacier = rule_by_id(lc, "premium-tier-glacier-ir")
    and_filter = one(one(glacier["filter"])["and"])
    assert and_filter["tags"] == {"Tier": "premium"}
    assert and_filter["object_size_greater_than"] == "${var.glacier_min_object_size_bytes}"
    assert stack.variables["glacier_min_object_size_bytes"]["default"] >= 131072
    transition = one(glacier["transition"])
    assert transition == {"days": "${var.premium_glacier_transition_days}", "storage_class": "GLACIER_IR"}
    assert "noncurrent_version_transition" not in glacier


def test_glacier_transition_precedes_premium_retention(stack: Stack) -> None:
    lc = stack.resource("aws_s3_bucket_lifecycle_configuration", "backups")
    conditions = [p["condition"] for p in one(lc["lifecycle"])["precondition"]]
    assert conditions == ["${var.premium_glacier_transition_days < var.premium_retention_days}"]
    assert (stack.variables["premium_glacier_transition_days"]["default"]
            < stack.variables["premium_retention_days"]["default"])


def test_replication_premium_only_kms_and_gated(stack: Stack) -> None:
    repl = stack.resource("aws_s3_bucket_replication_configuration", "backups")
    assert repl["count"] == "${var.enable_replication ? 1 : 0}"
    assert repl["role"] == "${aws_iam_role.replication[0].arn}"
    rule = one(repl["rule"])
    assert one(one(rule["filter"])["tag"]) == {"key": "Tier", "value": "premium"}
    assert one(one(rule["source_selection_criteria"])["sse_kms_encrypted_objects"])["status"] == "Enabled"
    dest = one(rule["destination"])
    assert dest["bucket"] == "${aws_s3_bucket.replica[0].arn}"
    assert one(dest["encryption_configuration"])["replica_kms_key_id"] == "${aws_kms_key.replica[0].arn}"
    for rtype in ("aws_s3_bucket", "aws_kms_key", "aws_s3_bucket_versioning"):
        res = stack.resource(rtype, "replica")
        assert res["provider"] == "${aws.replica}", rtype
        assert res["count"] == "${var.enable_replication ? 1 : 0}", rtype
    assert stack.variables["enable_replication"]["type"] in {"bool", "${bool}"}


# --- KMS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["backups", "replica"])
def test_kms_keys_rotate_have_alias_and_policy(stack: Stack, name: str) -> None:
    key = stack.resource("aws_kms_key", name)
    assert key["enable_key_rotation"] is True
    assert "aws_iam_policy_document" in key["policy"]
    alias = stack.resource("aws_kms_alias", name)
    assert alias["name"].startswith("alias/gaib-backups")


def test_backup_key_policy_grants_the_roles_that_need_it(stack: Stack) -> None:
    text = json.dumps(stack.statements("backups_key"))
    for principal in (
        "aws_iam_role.server_task.arn",
        "aws_iam_role.coordinator.arn",
        "aws_iam_role.operator.arn",
        "aws_iam_role.discord_notifier.arn",
        "local.replication_role_arn",
        "logs.${local.region}.amazonaws.com",
        "cloudwatch.amazonaws.com",
    ):
        assert principal in text, principal
    task_use = [s for s in stack.statements("backups_key") if s.get("sid") == "TaskRolesUseKeyThroughS3DynamoDBSNS"]
    assert one(one(task_use)["condition"])["variable"] == "kms:ViaService"
    admin = [s for s in stack.statements("backups_key") if s.get("sid") == "KeyAdministrationByAccount"]
    assert admin[0]["actions"] == "${local.kms_admin_actions}"
    assert not {"kms:Decrypt", "kms:Encrypt"} & set(stack.locals["kms_admin_actions"])


# --- DynamoDB ------------------------------------------------------------------------------------


def test_catalog_table(stack: Stack) -> None:
    table = stack.resource("aws_dynamodb_table", "backup_metadata")
    assert stack.locals["table_name"] == "gaib-backup-metadata" and table["name"] == "${local.table_name}"
    assert (table["hash_key"], table["range_key"]) == ("PK", "SK")
    attrs = {a["name"]: a["type"] for a in table["attribute"]}
    assert attrs["PK"] == "S" and attrs["SK"] == "S"
    assert one(table["ttl"]) == {"attribute_name": "expires_at", "enabled": True}
    assert one(table["point_in_time_recovery"])["enabled"] is True
    sse = one(table["server_side_encryption"])
    assert sse["enabled"] is True and sse["kms_key_arn"] == "${aws_kms_key.backups.arn}"
    assert table["deletion_protection_enabled"] == "${var.catalog_deletion_protection}"
    assert stack.variables["catalog_deletion_protection"]["default"] is True
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    gsi = one(table["global_secondary_index"])
    # Sparse: keyed on an attribute only the SERVER#id/TIER item carries (backup items have `tier` too).
    assert gsi["hash_key"] == "server_tier" and gsi["range_key"] == "PK"
    assert attrs["server_tier"] == "S"
    assert set(attrs) == {"PK", "SK", "server_tier"}  # DynamoDB rejects attributes no key uses


# --- schedules -----------------------------------------------------------------------------------


def test_schedules_and_commands(stack: Stack) -> None:
    runs = stack.locals["scheduled_runs"]
    assert stack.variables["free_backup_schedule"]["default"] == "cron(0 3 * * ? *)"
    assert stack.variables["premium_backup_schedule"]["default"] == "cron(0 * * * ? *)"
    assert re.fullmatch(r"cron\(\d+ \d+ \? \* [A-Z]{3} \*\)", stack.variables["premium_snapshot_schedule"]["default"])
    base = ["gaib", "server", "backup", "run-scheduled", "--tier"]
    expected = {
        "free": ("${var.free_backup_schedule}", [*base, "free"]),
        "premium": ("${var.premium_backup_schedule}", [*base, "premium"]),
        "premium_snapshots": (
            "${var.premium_snapshot_schedule}",
            ["gaib", "server", "backup", "run-scheduled", "--tier", "premium", "--snapshots"],
        ),
        "free_verify": ("${var.verify_schedule}", ["gaib", "server", "backup", "verify", "--tier", "free",
                                                   "--sample", "1"]),
        "premium_verify": ("${var.verify_schedule}", ["gaib", "server", "backup", "verify", "--tier", "premium",
                                                      "--sample", "2"]),
    }
    assert {k: (v["schedule"], v["command"]) for k, v in runs.items()} == expected
    assert {k: v["operation"] for k, v in runs.items() if k.endswith("_verify")} == {"free_verify": "verify",
                                                                                     "premium_verify": "verify"}

    rule = stack.resource("aws_cloudwatch_event_rule", "scheduled_run")
    assert rule["for_each"] == "${local.scheduled_runs}"
    assert rule["schedule_expression"] == "${each.value.schedule}"


def test_schedule_targets_run_fargate_task_with_command(stack: Stack) -> None:
    target = stack.resource("aws_cloudwatch_event_target", "scheduled_run")
    assert target["for_each"] == "${local.scheduled_runs}"
    assert target["arn"] == "${var.ecs_cluster_arn}"
    assert target["role_arn"] == "${aws_iam_role.eventbridge_ecs.arn}"
    ecs = one(target["ecs_target"])
    assert ecs["launch_type"] == "FARGATE"
    assert ecs["task_definition_arn"] == "${aws_ecs_task_definition.backup.arn}"
    net = one(ecs["network_configuration"])
    assert net["subnets"] == "${var.subnet_ids}" and net["assign_public_ip"] is False
    # The task works on the window EventBridge fired for (the event's time), with the configured concurrency;
    # verification runs take no window.
    transformer = one(target["input_transformer"])
    assert transformer["input_paths"] == {"time": "$.time"}
    template = transformer["input_template"]
    assert "command = local.run_commands[each.key]" in template and 'name = "gaib"' in template
    assert '"\\\\u003c", "<"' in template and '"\\\\u003e", ">"' in template  # jsonencode escapes them
    commands = stack.locals["run_commands"]
    assert 'run.operation == "verify" ? run.command' in commands
    assert '["--window", "<time>", "--concurrency", tostring(var.task_concurrency)]' in commands
    assert ecs["task_count"] == "${lookup(var.tasks_per_window, each.key, 1)}"
    assert set(stack.variables["tasks_per_window"]["default"]) == set(stack.locals["scheduled_runs"])

    task = stack.resource("aws_ecs_task_definition", "backup")
    assert task["requires_compatibilities"] == ["FARGATE"] and task["network_mode"] == "awsvpc"
    assert task["task_role_arn"] == "${aws_iam_role.coordinator.arn}"
    assert task["execution_role_arn"] == "${aws_iam_role.ecs_task_execution.arn}"
    container = stack.locals["backup_container"]
    assert container["image"] == "${var.container_image}" and container["name"] == "gaib"
    assert container["readonlyRootFilesystem"] is True


# --- CloudWatch ----------------------------------------------------------------------------------


def documented_metrics() -> dict[str, set[str]]:
    """Metric name → dimension names, from the metrics table in docs/infrastructure.md."""
    metrics: dict[str, set[str]] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`[A-Z][A-Za-z]+`", cells[0]):
            metrics[cells[0].strip("`")] = set(re.findall(r"`([A-Z][A-Za-z]+)`", cells[2]))
    return metrics


def test_alarms_match_documented_metrics(stack: Stack) -> None:
    docs = documented_metrics()
    assert {"BackupErrors", "BackupSuccess", "ScheduledRunHeartbeat", "BackupBytes"} <= set(docs)
    assert stack.locals["metric_namespace"] == "Gaib/Backups"
    assert "Gaib/Backups" in DOCS.read_text(encoding="utf-8")
    for name in ("backup_errors", "missed_run"):
        alarm = stack.resource("aws_cloudwatch_metric_alarm", name)
        assert alarm["namespace"] == "${local.metric_namespace}"
        assert alarm["metric_name"] in docs, alarm["metric_name"]
        assert set(alarm["dimensions"]) == docs[alarm["metric_name"]]
        assert alarm["alarm_actions"] == ["${aws_sns_topic.backup_notifications.arn}"]


def test_error_heartbeat_and_size_alarms(stack: Stack) -> None:
    errors = stack.resource("aws_cloudwatch_metric_alarm", "backup_errors")
    assert errors["metric_name"] == "BackupErrors" and errors["comparison_operator"] == "GreaterThanThreshold"
    assert errors["threshold"] == 0
    missed = stack.resource("aws_cloudwatch_metric_alarm", "missed_run")
    assert missed["metric_name"] == "ScheduledRunHeartbeat" and missed["treat_missing_data"] == "breaching"
    assert missed["comparison_operator"] == "LessThanThreshold" and missed["for_each"] == "${local.scheduled_runs}"
    # CloudWatch evaluates at most 7 days: period × evaluation periods must stay within it.
    for run in stack.locals["scheduled_runs"].values():
        assert run["heartbeat_period"] * run["heartbeat_evaluation"] <= 7 * 86400
    size = stack.resource("aws_cloudwatch_metric_alarm", "bucket_size")
    metrics = [one(q["metric"]) for q in size["metric_query"] if "metric" in q]
    assert {m["metric_name"] for m in metrics} == {"BucketSizeBytes"}
    assert {m["dimensions"]["StorageType"] for m in metrics} == {"StandardStorage", "GlacierInstantRetrievalStorage"}


def test_log_groups_have_retention_and_kms(stack: Stack) -> None:
    groups = stack.resources["aws_cloudwatch_log_group"]
    assert set(groups) == {"backup_task", "discord_notifier", "notification_audit"}
    for group in groups.values():
        assert group["retention_in_days"] == "${var.log_retention_days}"
        assert group["kms_key_id"] == "${aws_kms_key.backups.arn}"


# --- SNS and the notifier Lambda -----------------------------------------------------------------


def test_topic_encrypted_with_lambda_and_optional_email(stack: Stack) -> None:
    topic = stack.resource("aws_sns_topic", "backup_notifications")
    assert stack.locals["topic_name"] == "gaib-backup-notifications"
    assert topic["kms_master_key_id"] == "${aws_kms_key.backups.arn}"
    sub = stack.resource("aws_sns_topic_subscription", "discord_notifier")
    assert sub["protocol"] == "lambda" and sub["endpoint"] == "${aws_lambda_function.discord_notifier.arn}"
    email = stack.resource("aws_sns_topic_subscription", "email")
    assert email["count"] == "${var.alert_email == null ? 0 : 1}" and email["protocol"] == "email"
    perm = stack.resource("aws_lambda_permission", "sns_invoke_discord_notifier")
    assert perm["principal"] == "sns.amazonaws.com"
    assert perm["source_arn"] == "${aws_sns_topic.backup_notifications.arn}"


def test_every_notification_is_also_written_to_cloudwatch_logs(stack: Stack) -> None:
    sub = stack.resource("aws_sns_topic_subscription", "notification_audit")
    assert sub["protocol"] == "lambda" and sub["endpoint"] == "${aws_lambda_function.notification_audit.arn}"
    fn = stack.resource("aws_lambda_function", "notification_audit")
    assert fn["handler"] == "gaib.aws_lambda.audit_log.handler"
    assert one(fn["logging_config"])["log_group"] == "${aws_cloudwatch_log_group.notification_audit.name}"
    assert stack.locals["audit_log_group_name"] == "/aws/lambda/gaib-notification-audit"
    archive = stack.data["archive_file"]["notification_audit"]
    assert {s["filename"] for s in archive["source"]} == {"gaib/__init__.py", "gaib/aws_lambda/__init__.py",
                                                         "gaib/aws_lambda/audit_log.py"}
    perm = stack.resource("aws_lambda_permission", "sns_invoke_notification_audit")
    assert perm["source_arn"] == "${aws_sns_topic.backup_notifications.arn}"
    grants = {a for st in stack.statements("notification_audit") for a in st["actions"]}
    assert grants == {"logs:CreateLogStream", "logs:PutLogEvents", "kms:Decrypt", "kms:GenerateDataKey",
                      "sqs:SendMessage", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}


def test_lambda_packaging_points_at_the_real_module(stack: Stack) -> None:
    fn = stack.resource("aws_lambda_function", "discord_notifier")
    module, func = fn["handler"].rsplit(".", 1)
    assert module == "gaib.aws_lambda.discord_notifier" and func == "handler"
    assert fn["runtime"].startswith("python3.")
    assert fn["filename"] == "${data.archive_file.discord_notifier.output_path}"
    archive = stack.data["archive_file"]["discord_notifier"]
    filenames = {s["filename"] for s in archive["source"]}
    assert filenames == {"gaib/__init__.py", "gaib/aws_lambda/__init__.py", "gaib/aws_lambda/discord_notifier.py"}
    source_dir = stack.locals["lambda_source_dir"].replace("${path.module}", str(TF_DIR))
    for src in archive["source"]:
        match = re.search(r"file\(\"\$\{local\.lambda_source_dir\}/([^\"]+)\"\)", src["content"])
        if match:
            assert (Path(source_dir) / match.group(1)).resolve().is_file()
    from gaib.aws_lambda import discord_notifier

    assert callable(getattr(discord_notifier, func))
    env = one(fn["environment"])["variables"]
    assert "GAIB_DISCORD_WEBHOOK_SECRET_ARN" in env and "GAIB_DISCORD_WEBHOOK_PARAMETER" in env
    assert "webhook_url" not in json.dumps(stack.variables).lower()


# --- variables and outputs -----------------------------------------------------------------------


def test_every_variable_is_typed_and_described(stack: Stack) -> None:
    for name, var in stack.variables.items():
        assert var.get("type"), name
        assert len(var.get("description", "")) > 10, name


@pytest.mark.parametrize(
    "name",
    [
        "account_id", "aws_region", "replica_region", "free_backup_schedule", "premium_backup_schedule",
        "premium_snapshot_schedule", "free_retention_days", "premium_retention_days", "log_retention_days",
        "alert_email", "discord_webhook_secret_arn", "container_image", "ecs_cluster_arn", "subnet_ids", "vpc_id",
    ],
)
def test_required_variables_are_validated(stack: Stack, name: str) -> None:
    assert stack.variables[name].get("validation"), name


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("account_id", "123456789012", "12345"),
        ("container_image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/gaib:1.2.3", "docker.io/gaib:latest"),
        (
            "discord_webhook_secret_arn",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:gaib/discord-webhook-AbCdEf",
            "https://discord.com/api/webhooks/1/token",
        ),
        ("free_backup_schedule", "cron(0 3 * * ? *)", "every day"),
    ],
)
def test_validation_regexes_accept_and_reject(stack: Stack, name: str, good: str, bad: str) -> None:
    condition = one(stack.variables[name]["validation"])["condition"]
    match = re.search(r'regex\("((?:[^"\\]|\\.)*)", var\.' + name, condition)
    assert match, condition
    pattern = match.group(1).encode().decode("unicode_escape")  # HCL string escapes → regex
    assert re.search(pattern, good) and not re.search(pattern, bad)


def test_outputs_describe_what_the_code_needs(stack: Stack) -> None:
    for name in ("backup_bucket_name", "backup_table_name", "backup_kms_key_arn", "notifications_topic_arn"):
        assert stack.outputs[name]["description"], name


# --- checkov skips -------------------------------------------------------------------------------


def test_every_checkov_skip_has_a_reason(stack: Stack) -> None:
    skips = [
        line.strip()
        for text in stack.files.values()
        for line in text.splitlines()
        if "checkov:skip" in line
    ]
    assert skips
    for line in skips:
        assert re.fullmatch(r"#checkov:skip=CKV2?_AWS_\d+:.{20,}", line), line
