# Outputs: what the Gaib code and operators need from the stack (see docs/infrastructure.md).

output "backup_bucket_name" {
  description = "Backup bucket; set GAIB_BACKUP_BUCKET to this."
  value       = aws_s3_bucket.backups.id
}

output "backup_bucket_arn" {
  description = "ARN of the backup bucket."
  value       = aws_s3_bucket.backups.arn
}

output "batch_replication_role_arn" {
  description = "Role for S3 Batch Replication jobs that copy objects written before a server moved to premium (null when replication is off). See docs/infrastructure.md, \"Copying older objects\"."
  value       = var.enable_replication ? aws_iam_role.batch_replication[0].arn : null
}

output "replica_bucket_name" {
  description = "Premium replica bucket in the replica region (null when replication is off)."
  value       = var.enable_replication ? aws_s3_bucket.replica[0].id : null
}

output "backup_table_name" {
  description = "Catalog table; set GAIB_BACKUP_TABLE to this."
  value       = aws_dynamodb_table.backup_metadata.name
}

output "backup_table_tier_index" {
  description = "Sparse GSI listing servers by tier (hash key server_tier, only on the SERVER#id/TIER item; range key PK)."
  value       = "tier-index"
}

output "backup_kms_key_arn" {
  description = "KMS key of the bucket, table, topic, queue and logs; set GAIB_BACKUP_KMS_KEY to this."
  value       = aws_kms_key.backups.arn
}

output "backup_kms_alias" {
  description = "Alias of the backup KMS key."
  value       = aws_kms_alias.backups.name
}

output "notifications_topic_arn" {
  description = "SNS topic gaib-backup-notifications; set GAIB_BACKUP_TOPIC_ARN to this."
  value       = aws_sns_topic.backup_notifications.arn
}

output "dead_letter_queue_url" {
  description = "Queue of scheduled runs EventBridge could not start and notifications the Lambda could not deliver."
  value       = aws_sqs_queue.dead_letters.id
}

output "backup_task_definition_arn" {
  description = "Task definition the schedules run (gaib server backup run-scheduled ...)."
  value       = aws_ecs_task_definition.backup.arn
}

output "restore_task_definition_arn" {
  description = "Task definition for on-demand restore/prune runs (task role may delete)."
  value       = aws_ecs_task_definition.restore.arn
}

output "coordinator_role_arn" {
  description = "Task role of the scheduled and on-demand tasks (gaib-coordinator): cross-server scheduling, no bundle or secret."
  value       = aws_iam_role.coordinator.arn
}

output "server_role_arn" {
  description = "gaib-server-task, assumed per server with session tag ServerId; set GAIB_SERVER_ROLE_ARN to this."
  value       = aws_iam_role.server_task.arn
}

output "operator_role_arn" {
  description = "gaib-operator (tier set, tags, personal data); set GAIB_OPERATOR_ROLE_ARN to this."
  value       = aws_iam_role.operator.arn
}

output "manifest_mac_key_id" {
  description = "KMS HMAC key of manifest MACs; set GAIB_MAC_KEY_ID to this."
  value       = aws_kms_key.manifest_mac.key_id
}

output "task_security_group_id" {
  description = "Security group of the backup/restore tasks (HTTPS egress only); pass it to aws ecs run-task."
  value       = aws_security_group.backup_task.id
}

output "schedule_rule_names" {
  description = "EventBridge rules of the scheduled runs, by run."
  value       = { for key, rule in aws_cloudwatch_event_rule.scheduled_run : key => rule.name }
}

output "discord_notifier_function_name" {
  description = "The SNS → Discord notifier Lambda."
  value       = aws_lambda_function.discord_notifier.function_name
}

output "metrics_namespace" {
  description = "CloudWatch namespace the Gaib code publishes to."
  value       = local.metric_namespace
}

output "notification_audit_log_group" {
  description = "CloudWatch Logs group holding one line per notification (the audit trail)."
  value       = aws_cloudwatch_log_group.notification_audit.name
}

output "ecr_repository_url" {
  description = "The image repository; scripts/release.sh pushes to it (docs/deploy.md)."
  value       = aws_ecr_repository.gaib.repository_url
}

output "container_image" {
  description = "The image the task definitions run (from release.auto.tfvars.json, written by scripts/release.sh); null before the first release."
  value       = var.container_image
}

output "dashboard_url" {
  description = "The operators' CloudWatch dashboard gaib-backups."
  value       = "https://${var.aws_region}.console.aws.amazon.com/cloudwatch/home?region=${var.aws_region}#dashboards:name=${aws_cloudwatch_dashboard.operations.dashboard_name}"
}
