# The operators' dashboard gaib-backups: scheduled windows completed (and the missed-window alarms) per tier,
# servers backed up / unchanged / failed, bytes written, verification outcomes, restores, notifier deliveries
# and dead letters, bucket size. The widgets are in dashboard.json.tftpl; it names only metrics that exist:
# Gaib's own (namespace local.metric_namespace, the names the code publishes, see docs/infrastructure.md
# "Metrics") and the AWS metrics of this stack's function, queue and bucket. Restores publish no metric; their
# notifications are read from the audit log. tests/infra/test_dashboard.py holds the metric names equal to
# the ones the code emits and the dimensions to the scheduled runs above.

locals {
  dashboard_name = "gaib-backups"

  # Every ${...} in dashboard.json.tftpl, all inside JSON strings (so the template is JSON as it stands).
  dashboard_values = {
    region            = var.aws_region
    namespace         = local.metric_namespace
    alarm_arn_prefix  = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:"
    bucket            = aws_s3_bucket.backups.id
    notifier_function = aws_lambda_function.discord_notifier.function_name
    audit_function    = aws_lambda_function.notification_audit.function_name
    audit_log_group   = aws_cloudwatch_log_group.notification_audit.name
    dead_letter_queue = aws_sqs_queue.dead_letters.name
  }
}

resource "aws_cloudwatch_dashboard" "operations" {
  dashboard_name = local.dashboard_name
  dashboard_body = templatefile("${path.module}/dashboard.json.tftpl", local.dashboard_values)
}
