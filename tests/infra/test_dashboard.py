"""The operators' dashboard (gaib-dashboard.tf, dashboard.json.tftpl) names only metrics that exist: Gaib's
own metric names are read from the code that emits them (every ``Metric("...")`` in src/gaib), their
dimensions are the scheduled runs the Terraform starts, and the AWS metrics are those of this stack's own
function, queue and bucket."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gaib.notify.events import EVENT_NAMES
from gaib.scheduled.metrics import DIMENSIONS
from gaib.scheduled.report import RunReport, run_metrics
from tests.support.build import ROOT
from tests.support.terraform import TF_DIR, Stack

TEMPLATE = TF_DIR / "dashboard.json.tftpl"

# AWS metrics the dashboard may name: those AWS publishes for the resource kinds of this stack, and the
# placeholder (bound in local.dashboard_values) that must name this stack's resource.
AWS_METRICS: dict[str, tuple[set[str], dict[str, str]]] = {
    "AWS/Lambda": ({"Invocations", "Errors", "Throttles"}, {"FunctionName": r"(notifier|audit)_function"}),
    "AWS/SQS": ({"NumberOfMessagesSent", "ApproximateNumberOfMessagesVisible"}, {"QueueName": r"dead_letter_queue"}),
    "AWS/S3": ({"BucketSizeBytes", "NumberOfObjects"}, {"BucketName": r"bucket", "StorageType": r"[A-Za-z]+"}),
}
BINDINGS = {
    "region": "${var.aws_region}",
    "namespace": "${local.metric_namespace}",
    "bucket": "${aws_s3_bucket.backups.id}",
    "notifier_function": "${aws_lambda_function.discord_notifier.function_name}",
    "audit_function": "${aws_lambda_function.notification_audit.function_name}",
    "audit_log_group": "${aws_cloudwatch_log_group.notification_audit.name}",
    "dead_letter_queue": "${aws_sqs_queue.dead_letters.name}",
}


def emitted_metric_names(src: Path = ROOT / "src" / "gaib") -> set[str]:
    """Every metric name the code constructs: the first argument of each ``Metric(...)`` call."""
    names: set[str] = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Metric"
                    and node.args):
                first = node.args[0]
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{path}: a Metric name that is not a literal; extend this reader")
                names.add(first.value)
    return names


@pytest.fixture(scope="module")
def widgets() -> list[dict[str, Any]]:
    doc = json.loads(TEMPLATE.read_text(encoding="utf-8"))  # every ${...} sits inside a JSON string
    found: list[dict[str, Any]] = doc["widgets"]
    return found


Row = tuple[str, str, dict[str, str], dict[str, Any]]


def metric_rows(widgets: list[dict[str, Any]]) -> list[Row]:
    """(namespace, metric, dimensions, options) of every metric row of every metric widget."""
    rows = []
    for widget in widgets:
        for row in widget["properties"].get("metrics", []):
            fields = [f for f in row if not isinstance(f, dict)]
            options = row[-1] if isinstance(row[-1], dict) else {}
            assert len(fields) % 2 == 0 and len(fields) >= 2, row  # namespace, name, then name/value pairs
            rows.append((fields[0], fields[1], dict(zip(fields[2::2], fields[3::2], strict=True)), options))
    return rows


def gaib_rows(widgets: list[dict[str, Any]]) -> list[tuple[str, dict[str, str]]]:
    return [(name, dims) for ns, name, dims, _ in metric_rows(widgets) if ns == "${namespace}"]


def test_the_reader_finds_what_a_scheduled_run_publishes() -> None:
    report = RunReport(tier="free", operation="backup", window="w", task="t", shard=None,
                       started_at=datetime(2025, 1, 1, tzinfo=UTC))
    assert {m.name for m in run_metrics(report)} <= emitted_metric_names()
    assert {"ScheduledRunHeartbeat", "BackupErrors", "BackupBytes"} <= emitted_metric_names()


def test_dashboard_names_exactly_the_metrics_the_code_emits(stack: Stack, widgets: list[dict[str, Any]]) -> None:
    on_dashboard = {name for name, _ in gaib_rows(widgets)}
    emitted = emitted_metric_names()
    assert on_dashboard <= emitted, f"not emitted by the code: {sorted(on_dashboard - emitted)}"
    assert on_dashboard == emitted, f"emitted but not on the dashboard: {sorted(emitted - on_dashboard)}"
    assert stack.locals["dashboard_values"]["namespace"] == "${local.metric_namespace}"
    namespaces = {row[0] for row in metric_rows(widgets)}
    assert namespaces <= {"${namespace}", *AWS_METRICS}, namespaces


def test_gaib_metrics_carry_the_dimensions_of_the_scheduled_runs(stack: Stack, widgets: list[dict[str, Any]]) -> None:
    runs = {(run["tier"], run["operation"]): run for run in stack.locals["scheduled_runs"].values()}
    for name, dims in gaib_rows(widgets):
        assert tuple(dims) == DIMENSIONS, (name, dims)
        assert (dims["Tier"], dims["Operation"]) in runs, (name, dims)
    heartbeats = [(dims, options) for ns, name, dims, options in metric_rows(widgets)
                  if ns == "${namespace}" and name == "ScheduledRunHeartbeat"]
    # One line per scheduled run, each summed over the run's own cadence (a window per point).
    assert sorted((d["Tier"], d["Operation"]) for d, _ in heartbeats) == sorted(runs)
    for dims, options in heartbeats:
        assert options["period"] == runs[(dims["Tier"], dims["Operation"])]["heartbeat_period"], dims
    # Servers backed up / unchanged / failed per tier's backups, bytes written, verify outcomes.
    pairs = {(name, dims["Tier"], dims["Operation"]) for name, dims in gaib_rows(widgets)}
    for tier in ("free", "premium"):
        for name in ("BackupCreated", "BackupUnchanged", "BackupErrors", "BackupBytes"):
            assert (name, tier, "backup") in pairs, (name, tier)
        assert {("BackupSuccess", tier, "verify"), ("BackupErrors", tier, "verify")} <= pairs


def test_aws_metrics_are_this_stacks_resources(stack: Stack, widgets: list[dict[str, Any]]) -> None:
    values = stack.locals["dashboard_values"]
    for namespace, name, dims, _ in metric_rows(widgets):
        if namespace == "${namespace}":
            continue
        names, placeholders = AWS_METRICS[namespace]
        assert name in names, (namespace, name)
        assert set(dims) == set(placeholders), (namespace, name, dims)
        for dim, value in dims.items():
            if dim == "StorageType":
                assert value in {"StandardStorage", "GlacierInstantRetrievalStorage", "AllStorageTypes"}
                continue
            match = re.fullmatch(r"\$\{(" + placeholders[dim] + r")\}", value)
            assert match, (namespace, name, dim, value)
            assert values[match.group(1)] == BINDINGS[match.group(1)], match.group(1)
    assert {row[0] for row in metric_rows(widgets)} >= set(AWS_METRICS)  # deliveries, dead letters, size


def test_template_placeholders_are_all_bound(stack: Stack) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([a-z_]+)\}", text))
    assert "%{" not in text and not re.search(r"\$\{(?![a-z_]+\})", text)  # no template directives
    values = stack.locals["dashboard_values"]
    assert used == set(values), f"unbound: {used - set(values)}, unused: {set(values) - used}"
    for key, bound in BINDINGS.items():
        assert values[key] == bound, key
    dashboard = stack.resource("aws_cloudwatch_dashboard", "operations")
    body = '${templatefile("${path.module}/dashboard.json.tftpl", local.dashboard_values)}'
    assert dashboard["dashboard_body"] == body


def test_alarm_widget_shows_every_alarm_of_the_stack(stack: Stack, widgets: list[dict[str, Any]]) -> None:
    shown = {a.removeprefix("${alarm_arn_prefix}") for w in widgets if w["type"] == "alarm"
             for a in w["properties"]["alarms"]}
    alarms = stack.resources["aws_cloudwatch_metric_alarm"]
    expected: set[str] = set()
    for resource in alarms.values():
        pattern = resource["alarm_name"]
        if "each.key" in pattern:  # for_each over the scheduled runs
            assert resource["for_each"] in {"${local.scheduled_runs}", "${local.error_alarms}"}
            for key in stack.locals["scheduled_runs"]:
                expected.add(re.sub(r"\$\{replace\(each\.key, \"_\", \"-\"\)\}", key.replace("_", "-"), pattern))
        else:
            expected.add(pattern)
    assert shown == expected
    prefix = stack.locals["dashboard_values"]["alarm_arn_prefix"]
    assert prefix == "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:"


def test_restore_and_verify_outcomes_come_from_events_the_code_publishes(widgets: list[dict[str, Any]]) -> None:
    logs = [w["properties"] for w in widgets if w["type"] == "log"]
    assert len(logs) == 1
    query = logs[0]["query"]
    assert query.startswith("SOURCE '${audit_log_group}' |")
    events = set(re.findall(r'"([a-z-]+\.[a-z]+)"', query))
    assert {"restore.succeeded", "restore.failed", "verify.failed"} <= events <= EVENT_NAMES


def test_widgets_tile_the_grid_without_overlap(widgets: list[dict[str, Any]]) -> None:
    cells: set[tuple[int, int]] = set()
    for w in widgets:
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24, w["properties"].get("title")
        area = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not area & cells, w["properties"].get("title")
        cells |= area
        if w["type"] in {"metric", "log"}:
            assert w["properties"]["region"] == "${region}"
