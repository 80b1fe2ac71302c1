# IAM for the Gaib backup stack: every role, its trust policy and its attached customer-managed policy, plus
# the KMS key policies. Least privilege: each action is listed by name (no wildcard actions on "*"), each
# resource is the stack's own ARN where the service allows one, and "*" resources carry conditions.

locals {
  root_arn = "arn:${local.partition}:iam::${local.account_id}:root"

  # Administrative actions only: no principal gets Encrypt/Decrypt through the account root, so reading a
  # backup's plaintext needs one of the roles below.
  kms_admin_actions = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
  ]

  kms_use_actions = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
  ]

  # Services the task roles reach the backup key through.
  kms_via_services = [
    "s3.${local.region}.amazonaws.com",
    "dynamodb.${local.region}.amazonaws.com",
    "sns.${local.region}.amazonaws.com",
  ]

  backups_key_arn_pattern = "arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"

  replication_role_name = "gaib-backups-replication"
  replication_role_arn  = "arn:${local.partition}:iam::${local.account_id}:role/${local.replication_role_name}"

  task_definition_family_arns = [
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${aws_ecs_task_definition.backup.family}:*",
  ]
}

# =====================================================================================================
# Trust policies
# =====================================================================================================

data "aws_iam_policy_document" "trust_ecs_tasks" {
  statement {
    sid     = "EcsTasksAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

data "aws_iam_policy_document" "trust_events" {
  statement {
    sid     = "EventBridgeAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "trust_lambda" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "trust_s3" {
  statement {
    sid     = "S3AssumeRoleForReplication"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# =====================================================================================================
# ECS task execution role: pull the image, write the task's logs, read the bot token secret.
# =====================================================================================================

resource "aws_iam_role" "ecs_task_execution" {
  name                 = "gaib-backup-task-execution"
  description          = "ECS agent for the Gaib backup/restore tasks: image pull, logs, task secrets"
  assume_role_policy   = data.aws_iam_policy_document.trust_ecs_tasks.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "ecs_task_execution" {
  statement {
    sid = "EcrAuthToken"
    # GetAuthorizationToken has no resource-level permissions; it grants nothing without the pull below.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPullGaibImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.gaib.arn]
  }

  statement {
    sid = "WriteTaskLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.backup_task.arn}:log-stream:*"]
  }

  dynamic "statement" {
    for_each = var.discord_bot_token_secret_arn == null ? [] : [var.discord_bot_token_secret_arn]

    content {
      sid       = "ReadBotTokenSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "ecs_task_execution" {
  name        = "gaib-backup-task-execution"
  description = "Image pull, task logs and task secrets for the Gaib ECS tasks"
  policy      = data.aws_iam_policy_document.ecs_task_execution.json
}

resource "aws_iam_role_policy_attachment" "ecs_task_execution" {
  role       = aws_iam_role.ecs_task_execution.name
  policy_arn = aws_iam_policy.ecs_task_execution.arn
}

# =====================================================================================================
# Backup task role (scheduled runs): create, read and verify backups; prune them (delete markers only).
# =====================================================================================================

resource "aws_iam_role" "backup_task" {
  name                 = "gaib-backup-task"
  description          = "Gaib scheduled runs: write, read and prune backups, catalog, metrics, notifications"
  assume_role_policy   = data.aws_iam_policy_document.trust_ecs_tasks.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "backup_task" {
  statement {
    sid       = "ListBackupBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.backups.arn]
  }

  statement {
    sid = "ReadWriteBackupObjects"
    # Objects are written once (If-None-Match: *) and tagged Tier=free|premium on upload; no delete, and
    # certainly no s3:DeleteObjectVersion: removing deleted versions for good is the lifecycle rules' job.
    actions = [
      "s3:GetObject",
      "s3:GetObjectTagging",
      "s3:PutObject",
      "s3:PutObjectTagging",
    ]
    resources = ["${aws_s3_bucket.backups.arn}/*"]
  }

  statement {
    sid = "PruneBundleObjects"
    # Scheduled runs prune by the tier's retention: state backups and snapshots only. On the versioned bucket
    # DeleteObject adds a delete marker (recoverable for noncurrent_version_retention_days); nobody holds
    # s3:DeleteObjectVersion. Schedules, exports, theme registries and audit records are never deleted.
    actions = ["s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.backups.arn}/state/*",
      "${aws_s3_bucket.backups.arn}/snapshots/*",
    ]
  }

  statement {
    sid = "PruneCatalogItems"
    # Prune removes the catalog items of pruned bundles first (BatchWriteItem with deletes only).
    actions   = ["dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.backup_metadata.arn]
  }

  dynamic "statement" {
    for_each = length(var.bot_token_secret_arns) == 0 ? [] : [var.bot_token_secret_arns]

    content {
      # The bot tokens schedules name (for config exports and snapshots), read at run time.
      sid       = "ReadScheduleBotTokens"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }

  statement {
    sid = "CatalogItems"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = [
      aws_dynamodb_table.backup_metadata.arn,
      "${aws_dynamodb_table.backup_metadata.arn}/index/*",
    ]
  }

  statement {
    sid       = "UseBackupKey"
    actions   = local.kms_use_actions
    resources = [aws_kms_key.backups.arn]
  }

  statement {
    sid       = "PublishNotifications"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.backup_notifications.arn]
  }

  statement {
    sid       = "PublishGaibMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    # PutMetricData has no resource-level permissions; the namespace condition is its only scope.
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.metric_namespace]
    }
  }

  dynamic "statement" {
    for_each = var.state_bucket_name == null ? [] : [var.state_bucket_name]

    content {
      sid       = "ReadStateBackend"
      actions   = ["s3:GetObject", "s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.value}", "arn:${local.partition}:s3:::${statement.value}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.state_kms_key_arn == null ? [] : [var.state_kms_key_arn]

    content {
      sid       = "DecryptStateBackend"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "backup_task" {
  name        = "gaib-backup-task"
  description = "Gaib scheduled runs: create/read/prune backups, catalog items, metrics in Gaib/Backups, notifications"
  policy      = data.aws_iam_policy_document.backup_task.json
}

resource "aws_iam_role_policy_attachment" "backup_task" {
  role       = aws_iam_role.backup_task.name
  policy_arn = aws_iam_policy.backup_task.arn
}

# =====================================================================================================
# Restore/prune role (on-demand task): everything the backup role may do, plus deletes and old versions.
# =====================================================================================================

resource "aws_iam_role" "restore_task" {
  name                 = "gaib-restore-task"
  description          = "Gaib restores and prunes: may delete backups and catalog items"
  assume_role_policy   = data.aws_iam_policy_document.trust_ecs_tasks.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "restore_task" {
  source_policy_documents = [data.aws_iam_policy_document.backup_task.json]

  statement {
    sid       = "ListBackupVersions"
    actions   = ["s3:ListBucketVersions"]
    resources = [aws_s3_bucket.backups.arn]
  }

  statement {
    sid = "PruneAndRecoverBackupObjects"
    # DeleteObject only adds a delete marker (versioning): a mistaken prune stays recoverable through
    # GetObjectVersion until the noncurrent-version rule removes it. Nobody holds s3:DeleteObjectVersion.
    actions = [
      "s3:DeleteObject",
      "s3:GetObjectVersion",
      "s3:GetObjectVersionTagging",
    ]
    resources = ["${aws_s3_bucket.backups.arn}/*"]
  }

  statement {
    sid       = "DeleteCatalogItems"
    actions   = ["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.backup_metadata.arn]
  }
}

resource "aws_iam_policy" "restore_task" {
  name        = "gaib-restore-task"
  description = "Gaib restore and prune: backup permissions plus object/catalog deletes"
  policy      = data.aws_iam_policy_document.restore_task.json
}

resource "aws_iam_role_policy_attachment" "restore_task" {
  role       = aws_iam_role.restore_task.name
  policy_arn = aws_iam_policy.restore_task.arn
}

# =====================================================================================================
# EventBridge → ECS: start the backup task definition in the cluster, pass its two roles.
# =====================================================================================================

resource "aws_iam_role" "eventbridge_ecs" {
  name                 = "gaib-backup-eventbridge-ecs"
  description          = "EventBridge schedules starting the Gaib backup task"
  assume_role_policy   = data.aws_iam_policy_document.trust_events.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "eventbridge_ecs" {
  statement {
    sid       = "RunBackupTask"
    actions   = ["ecs:RunTask"]
    resources = local.task_definition_family_arns

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.ecs_cluster_arn]
    }
  }

  statement {
    sid     = "PassBackupTaskRoles"
    actions = ["iam:PassRole"]
    resources = [
      aws_iam_role.ecs_task_execution.arn,
      aws_iam_role.backup_task.arn,
    ]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    # enable_ecs_managed_tags on the targets tags the started task.
    sid       = "TagStartedTasks"
    actions   = ["ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/*"]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }
}

resource "aws_iam_policy" "eventbridge_ecs" {
  name        = "gaib-backup-eventbridge-ecs"
  description = "Run the gaib-backup task definition in the configured cluster"
  policy      = data.aws_iam_policy_document.eventbridge_ecs.json
}

resource "aws_iam_role_policy_attachment" "eventbridge_ecs" {
  role       = aws_iam_role.eventbridge_ecs.name
  policy_arn = aws_iam_policy.eventbridge_ecs.arn
}

# =====================================================================================================
# Discord notifier Lambda
# =====================================================================================================

resource "aws_iam_role" "discord_notifier" {
  name                 = "gaib-discord-notifier"
  description          = "Gaib SNS to Discord notifier Lambda"
  assume_role_policy   = data.aws_iam_policy_document.trust_lambda.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "discord_notifier" {
  statement {
    sid = "WriteOwnLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.discord_notifier.arn}:log-stream:*"]
  }

  dynamic "statement" {
    for_each = local.webhook_is_secretsmanager ? [var.discord_webhook_secret_arn] : []

    content {
      sid       = "ReadWebhookSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.webhook_is_secretsmanager ? [] : [var.discord_webhook_secret_arn]

    content {
      sid       = "ReadWebhookParameter"
      actions   = ["ssm:GetParameter"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.discord_webhook_secret_kms_key_arn == null ? [] : [var.discord_webhook_secret_kms_key_arn]

    content {
      sid       = "DecryptWebhookSecret"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  statement {
    # Environment variables are encrypted with the backup key, and so is the dead-letter queue.
    sid       = "UseBackupKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.backups.arn]
  }

  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
  }

  statement {
    sid = "XRayTraces"
    # X-Ray segment upload has no resource-level permissions.
    actions = [
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "discord_notifier" {
  name        = "gaib-discord-notifier"
  description = "Logs, webhook secret, DLQ and tracing for the Gaib Discord notifier"
  policy      = data.aws_iam_policy_document.discord_notifier.json
}

resource "aws_iam_role_policy_attachment" "discord_notifier" {
  role       = aws_iam_role.discord_notifier.name
  policy_arn = aws_iam_policy.discord_notifier.arn
}

# =====================================================================================================
# Notification audit Lambda (SNS → CloudWatch Logs)
# =====================================================================================================

resource "aws_iam_role" "notification_audit" {
  name                 = "gaib-notification-audit"
  description          = "Gaib SNS to CloudWatch Logs audit Lambda"
  assume_role_policy   = data.aws_iam_policy_document.trust_lambda.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "notification_audit" {
  statement {
    sid = "WriteOwnLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.notification_audit.arn}:log-stream:*"]
  }

  statement {
    # The dead-letter queue is encrypted with the backup key.
    sid       = "UseBackupKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.backups.arn]
  }

  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
  }

  statement {
    sid = "XRayTraces"
    # X-Ray segment upload has no resource-level permissions.
    actions = [
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "notification_audit" {
  name        = "gaib-notification-audit"
  description = "Logs, DLQ and tracing for the Gaib notification audit Lambda"
  policy      = data.aws_iam_policy_document.notification_audit.json
}

resource "aws_iam_role_policy_attachment" "notification_audit" {
  role       = aws_iam_role.notification_audit.name
  policy_arn = aws_iam_policy.notification_audit.arn
}

# =====================================================================================================
# S3 replication role (premium objects → replica region)
# =====================================================================================================

resource "aws_iam_role" "replication" {
  count = var.enable_replication ? 1 : 0

  name                 = local.replication_role_name
  description          = "S3 replication of premium Gaib backups to ${var.replica_region}"
  assume_role_policy   = data.aws_iam_policy_document.trust_s3.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "replication" {
  count = var.enable_replication ? 1 : 0

  statement {
    sid       = "ReadReplicationConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [aws_s3_bucket.backups.arn]
  }

  statement {
    sid = "ReadSourceVersions"
    actions = [
      "s3:GetObjectVersionAcl",
      "s3:GetObjectVersionForReplication",
      "s3:GetObjectVersionTagging",
    ]
    resources = ["${aws_s3_bucket.backups.arn}/*"]
  }

  statement {
    sid = "WriteReplicas"
    actions = [
      "s3:ReplicateObject",
      "s3:ReplicateTags",
    ]
    resources = ["${aws_s3_bucket.replica[0].arn}/*"]
  }

  statement {
    sid       = "DecryptSource"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.backups.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.aws_region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "EncryptReplica"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.replica[0].arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.replica_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "replication" {
  count = var.enable_replication ? 1 : 0

  name        = "gaib-backups-replication"
  description = "Replicate Tier=premium Gaib backups to the replica bucket"
  policy      = data.aws_iam_policy_document.replication[0].json
}

resource "aws_iam_role_policy_attachment" "replication" {
  count = var.enable_replication ? 1 : 0

  role       = aws_iam_role.replication[0].name
  policy_arn = aws_iam_policy.replication[0].arn
}

# =====================================================================================================
# S3 Batch Replication role: copies objects written before a server moved to premium (see
# docs/infrastructure.md, "Copying older objects"). S3 replication acts on writes, so re-tagging an existing
# object Tier=premium does not replicate it; a Batch Operations job (S3ReplicateObject) run with this role
# does, through the replication configuration and its role above. The job only asks S3 to replicate: it
# reads and writes no object itself.
# =====================================================================================================

data "aws_iam_policy_document" "trust_s3_batch_operations" {
  statement {
    sid     = "S3BatchOperationsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["batchoperations.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "batch_replication" {
  count = var.enable_replication ? 1 : 0

  name                 = "gaib-backups-batch-replication"
  description          = "S3 Batch Replication jobs copying pre-existing Tier=premium Gaib objects to ${var.replica_region}"
  assume_role_policy   = data.aws_iam_policy_document.trust_s3_batch_operations.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "batch_replication" {
  count = var.enable_replication ? 1 : 0

  statement {
    sid       = "InitiateReplicationOfBackupObjects"
    actions   = ["s3:InitiateReplication"]
    resources = ["${aws_s3_bucket.backups.arn}/*"]
  }

  statement {
    # The job's generated manifest lists the objects eligible under the bucket's replication configuration.
    sid       = "GenerateManifestFromReplicationConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"]
    resources = [aws_s3_bucket.backups.arn]
  }
}

resource "aws_iam_policy" "batch_replication" {
  count = var.enable_replication ? 1 : 0

  name        = "gaib-backups-batch-replication"
  description = "Start replication of existing Tier=premium Gaib objects (S3 Batch Replication)"
  policy      = data.aws_iam_policy_document.batch_replication[0].json
}

resource "aws_iam_role_policy_attachment" "batch_replication" {
  count = var.enable_replication ? 1 : 0

  role       = aws_iam_role.batch_replication[0].name
  policy_arn = aws_iam_policy.batch_replication[0].arn
}

# =====================================================================================================
# KMS key policies
# =====================================================================================================

data "aws_iam_policy_document" "backups_key" {
  #checkov:skip=CKV_AWS_111:KMS key policy: Resource "*" means this key only, and the unconditioned statement grants the account administrative actions (no Encrypt/Decrypt) so the key cannot be orphaned
  #checkov:skip=CKV_AWS_356:KMS key policy: a key policy's Resource must be "*" (this key); every non-administrative statement is limited by principal and kms:ViaService or source conditions
  statement {
    sid       = "KeyAdministrationByAccount"
    actions   = local.kms_admin_actions
    resources = ["*"] # in a key policy "*" is this key

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  statement {
    sid       = "TaskRolesUseKeyThroughS3DynamoDBSNS"
    actions   = local.kms_use_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.backup_task.arn, aws_iam_role.restore_task.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.kms_via_services
    }
  }

  statement {
    # Lets the deploying principal create the encrypted table, functions and image repository: DynamoDB,
    # Lambda and ECR create grants on the key for the resource, never for a person (ECR's grant is how it
    # encrypts pushed layers and decrypts them for a pull; the puller needs no KMS permission).
    sid       = "AccountCreatesGrantsForDynamoDBLambdaAndECR"
    actions   = ["kms:CreateGrant"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com", "lambda.${local.region}.amazonaws.com", "ecr.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "NotifierLambdaEnvironmentAndDeadLetters"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.discord_notifier.arn, aws_iam_role.notification_audit.arn]
    }
  }

  statement {
    # Static on purpose (the replication role exists only with var.enable_replication): the principal is the
    # account, narrowed to the replication role's ARN, and the role's own policy must allow it too.
    sid       = "S3ReplicationDecryptsSource"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = [local.replication_role_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncryptGaibLogGroups"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.ecs_log_group_name}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.lambda_log_group_name}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.audit_log_group_name}",
      ]
    }
  }

  statement {
    # CloudWatch alarms publish to the encrypted topic; EventBridge writes to the encrypted dead-letter queue.
    sid       = "AlarmsAndSchedulesUseEncryptedTopicAndQueue"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "replica_key" {
  #checkov:skip=CKV_AWS_111:KMS key policy: Resource "*" means this key only, and the unconditioned statement grants the account administrative actions (no Encrypt/Decrypt) so the key cannot be orphaned
  #checkov:skip=CKV_AWS_356:KMS key policy: a key policy's Resource must be "*" (this key); every non-administrative statement is limited by principal and kms:ViaService or source conditions
  count = var.enable_replication ? 1 : 0

  statement {
    sid       = "KeyAdministrationByAccount"
    actions   = local.kms_admin_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  statement {
    sid       = "S3ReplicationEncryptsReplicas"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.replication[0].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.replica_region}.amazonaws.com"]
    }
  }

  statement {
    # Disaster recovery: the restore role reads replicas through S3 in the replica region.
    sid       = "RestoreRoleReadsReplicas"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.restore_task.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.replica_region}.amazonaws.com"]
    }
  }
}
