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
# Tenant roles (issue 24): every server's data is reachable only through a session of gaib-server-task
# tagged ServerId = that server (attribute-based access: the session tag is substituted into the resource
# ARNs and conditions below). The scheduled run's task role gaib-coordinator does the cross-server work
# (tier listing, claims, blocks, heartbeats) and opens those sessions; it cannot read a bundle or a secret.
# gaib-operator changes tiers and tags and may read personal data. docs/infrastructure.md, "Roles", has
# the table of what each may and may not do; tests/infra/test_tenant_isolation.py evaluates these policies.
# =====================================================================================================

locals {
  # The one session tag, as IAM substitutes it at request time ("$${" is Terraform's escape for a literal "${").
  server_tag = "$${aws:PrincipalTag/ServerId}"

  secret_arn_pattern = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:*"

  # The fields only a tier change writes (gaib.tiers.manager: who, when, from what). DynamoDB policies see
  # attribute names, never values or sort keys, so the rule is: nobody but gaib-operator writes these, and a
  # TIER item without set_by counts as the default tier (a server session registers its server with a free
  # TIER item, put if absent, which it could also overwrite; docs/infrastructure.md, "Threat model").
  tier_change_attributes = ["set_by", "set_at", "previous_tier"]

  # Who may assume gaib-operator: the listed principals, or (none listed) only the account's root user.
  operator_principal_arns = length(var.operator_principal_arns) > 0 ? var.operator_principal_arns : [local.root_arn]
}

# --- trust policies -----------------------------------------------------------------------------------

data "aws_iam_policy_document" "trust_server_task" {
  statement {
    # A session always carries exactly one tag, ServerId: without it no permission below applies.
    sid     = "CoordinatorAndOperatorOpenServerSessions"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.coordinator.arn, aws_iam_role.operator.arn]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/ServerId"
      values   = ["false"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["ServerId"]
    }
  }

  dynamic "statement" {
    for_each = length(var.owner_principal_arns) == 0 ? [] : [var.owner_principal_arns]

    content {
      # Owner tools: a principal tagged ServerId (one owner's role or user) opens sessions for that server only.
      sid     = "OwnerToolsOpenSessionsForTheirServer"
      actions = ["sts:AssumeRole", "sts:TagSession"]

      principals {
        type        = "AWS"
        identifiers = [local.root_arn]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:PrincipalArn"
        values   = statement.value
      }

      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/ServerId"
        values   = [local.server_tag]
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "aws:TagKeys"
        values   = ["ServerId"]
      }
    }
  }

  statement {
    # A tag value with a wildcard or a slash would widen the ARNs it is substituted into; server ids are digits.
    sid     = "DenyServerIdsThatAreNotPlainNames"
    effect  = "Deny"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }

    condition {
      test     = "StringLike"
      variable = "aws:RequestTag/ServerId"
      values   = ["*$${*}*", "*$${?}*", "*$${$}*", "*/*"]
    }
  }
}

data "aws_iam_policy_document" "trust_operator" {
  statement {
    sid     = "ListedOperatorsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = local.operator_principal_arns
    }
  }
}

# --- gaib-server-task: one server, through a session tagged ServerId ---------------------------------

resource "aws_iam_role" "server_task" {
  name                 = "gaib-server-task"
  description          = "Gaib per-server sessions (tag ServerId): that server's objects, catalog partition and secrets only"
  assume_role_policy   = data.aws_iam_policy_document.trust_server_task.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "server_task" {
  statement {
    sid     = "ListOwnPrefixes"
    actions = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [
      aws_s3_bucket.backups.arn,
    ]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        "state/${local.server_tag}/*",
        "snapshots/${local.server_tag}/*",
        "media/${local.server_tag}/*",
        "exports/${local.server_tag}/*",
        "themes/${local.server_tag}/*",
        "metadata/${local.server_tag}/*",
      ]
    }
  }

  statement {
    # Every object of a server lives under one of these prefixes (gaib.storage.keys.server_prefixes).
    sid = "ReadOwnObjects"
    actions = [
      "s3:GetObject",
      "s3:GetObjectTagging",
      "s3:GetObjectVersion",
      "s3:GetObjectVersionTagging",
    ]
    resources = [
      "${aws_s3_bucket.backups.arn}/state/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/snapshots/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/media/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/exports/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/themes/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/metadata/${local.server_tag}/*",
    ]
  }

  statement {
    # Objects are written once (If-None-Match: *), tagged ServerId and Tier on upload; a ServerId tag, when the
    # upload carries one, must name the session's server.
    sid     = "WriteOwnObjects"
    actions = ["s3:PutObject"]
    resources = [
      "${aws_s3_bucket.backups.arn}/state/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/snapshots/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/media/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/exports/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/themes/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/metadata/${local.server_tag}/*",
    ]

    condition {
      test     = "StringEqualsIfExists"
      variable = "s3:RequestObjectTag/ServerId"
      values   = [local.server_tag]
    }
  }

  statement {
    # An upload's tags need s3:PutObjectTagging too. The tag set must name the session's server: a request
    # that drops or changes ServerId is refused (re-tagging is gaib-operator's).
    sid     = "TagOwnObjectsWithTheirServer"
    actions = ["s3:PutObjectTagging"]
    resources = [
      "${aws_s3_bucket.backups.arn}/state/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/snapshots/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/media/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/exports/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/themes/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/metadata/${local.server_tag}/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "s3:RequestObjectTag/ServerId"
      values   = [local.server_tag]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "s3:ExistingObjectTag/ServerId"
      values   = [local.server_tag]
    }
  }

  statement {
    # Prune (state backups, snapshots, unreferenced media) and settled journals; on the versioned bucket a
    # delete is a delete marker. Exports, theme registries and audit records are never deleted, and nobody
    # holds s3:DeleteObjectVersion: removing old versions for good is the lifecycle rules' job.
    sid     = "PruneOwnObjects"
    actions = ["s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.backups.arn}/state/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/snapshots/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/media/${local.server_tag}/*",
      "${aws_s3_bucket.backups.arn}/metadata/${local.server_tag}/*",
    ]
  }

  statement {
    sid       = "DescribeCatalog"
    actions   = ["dynamodb:DescribeTable"]
    resources = [aws_dynamodb_table.backup_metadata.arn]
  }

  statement {
    # The server's partition only: every key of the request must lead with SERVER#{the session's server}.
    sid = "OwnCatalogPartition"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.backup_metadata.arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = ["SERVER#${local.server_tag}"]
    }
  }

  statement {
    sid       = "DenyTierChanges"
    effect    = "Deny"
    actions   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.backup_metadata.arn]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "dynamodb:Attributes"
      values   = local.tier_change_attributes
    }
  }

  statement {
    # No server-side code updates a tier in place (bundle items carry theirs from their first write).
    sid       = "DenyTierUpdates"
    effect    = "Deny"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.backup_metadata.arn]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "dynamodb:Attributes"
      values   = ["server_tier", "tier"]
    }
  }

  statement {
    # The bot token (and webhook) secrets of this server: the secret's ServerId tag must equal the session's.
    sid       = "ReadOwnSecrets"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = [local.secret_arn_pattern]

    condition {
      test     = "StringEquals"
      variable = "secretsmanager:ResourceTag/ServerId"
      values   = [local.server_tag]
    }
  }

  statement {
    sid       = "DenySecretTagChanges"
    effect    = "Deny"
    actions   = ["secretsmanager:TagResource", "secretsmanager:UntagResource"]
    resources = [local.secret_arn_pattern]
  }

  statement {
    # Only through S3, DynamoDB and SNS, whose own checks above scope the request to this server (S3 Bucket
    # Keys make the bucket ARN the encryption context, so a per-server context is not available).
    sid       = "UseBackupKeyThroughS3DynamoDBSNS"
    actions   = local.kms_use_actions
    resources = [aws_kms_key.backups.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.kms_via_services
    }
  }

  statement {
    # Manifest MACs (gaib.secrets.mac_kms): the message names the server, and only this session can write
    # under its server's prefix, so a MAC made here cannot authenticate a bundle stored for another server.
    sid       = "SealAndCheckManifests"
    actions   = ["kms:GenerateMac", "kms:VerifyMac"]
    resources = [aws_kms_key.manifest_mac.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:MacAlgorithm"
      values   = ["HMAC_SHA_256"]
    }
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

resource "aws_iam_policy" "server_task" {
  name        = "gaib-server-task"
  description = "One Gaib server per session (tag ServerId): its objects, catalog partition, secrets, manifest MACs"
  policy      = data.aws_iam_policy_document.server_task.json
}

resource "aws_iam_role_policy_attachment" "server_task" {
  role       = aws_iam_role.server_task.name
  policy_arn = aws_iam_policy.server_task.arn
}

# --- gaib-coordinator: the scheduled (and on-demand) tasks' role --------------------------------------

resource "aws_iam_role" "coordinator" {
  name                 = "gaib-coordinator"
  description          = "Gaib scheduled runs: tier listing, claims, blocks, heartbeats; opens gaib-server-task sessions per server"
  assume_role_policy   = data.aws_iam_policy_document.trust_ecs_tasks.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "coordinator" {
  statement {
    sid       = "DescribeCatalog"
    actions   = ["dynamodb:DescribeTable"]
    resources = [aws_dynamodb_table.backup_metadata.arn]
  }

  statement {
    # The scheduler lists a tier's servers through the keys-only tier-index.
    sid       = "ListServersByTier"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.backup_metadata.arn}/index/tier-index"]
  }

  statement {
    # Schedules, claims and tier items by key (get_many), and the run's claims, blocks and heartbeats.
    sid = "ReadAndClaimByKey"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.backup_metadata.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["SERVER#*", "SCHEDULER#*"]
    }
  }

  statement {
    # Queries only in the scheduler's partitions: a server's bundle listing is read in that server's session.
    sid       = "QuerySchedulerPartitions"
    actions   = ["dynamodb:Query"]
    resources = [aws_dynamodb_table.backup_metadata.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["SCHEDULER#*"]
    }
  }

  statement {
    sid       = "DenyTierChanges"
    effect    = "Deny"
    actions   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.backup_metadata.arn]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "dynamodb:Attributes"
      values   = local.tier_change_attributes
    }
  }

  statement {
    # Heartbeats update their tier field; nothing the coordinator writes moves a server in the tier-index.
    sid       = "DenyTierIndexUpdates"
    effect    = "Deny"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.backup_metadata.arn]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "dynamodb:Attributes"
      values   = ["server_tier"]
    }
  }

  statement {
    # Per-server work happens in a session of gaib-server-task tagged with that server, and only that tag.
    sid       = "OpenServerSessions"
    actions   = ["sts:AssumeRole", "sts:TagSession"]
    resources = [aws_iam_role.server_task.arn]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/ServerId"
      values   = ["false"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["ServerId"]
    }
  }

  statement {
    # The catalog's and the topic's encryption only: no S3, so no bundle can be decrypted with this role.
    sid       = "UseBackupKeyThroughDynamoDBSNS"
    actions   = local.kms_use_actions
    resources = [aws_kms_key.backups.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
    }
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

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.metric_namespace]
    }
  }

  statement {
    # Stated, not only left out: the coordinator reads no object and no secret.
    sid    = "DenyBundlesAndSecrets"
    effect = "Deny"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "secretsmanager:GetSecretValue",
    ]
    resources = [
      "${aws_s3_bucket.backups.arn}/*",
      local.secret_arn_pattern,
    ]
  }
}

resource "aws_iam_policy" "coordinator" {
  name        = "gaib-coordinator"
  description = "Gaib scheduled runs across servers: tier listing, claims, blocks, heartbeats, per-server sessions"
  policy      = data.aws_iam_policy_document.coordinator.json
}

resource "aws_iam_role_policy_attachment" "coordinator" {
  role       = aws_iam_role.coordinator.name
  policy_arn = aws_iam_policy.coordinator.arn
}

# --- gaib-operator: tiers, tags, personal data ---------------------------------------------------------

resource "aws_iam_role" "operator" {
  name                 = "gaib-operator"
  description          = "Gaib operators: set tiers, re-tag objects and secrets, read any server's backups"
  assume_role_policy   = data.aws_iam_policy_document.trust_operator.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "operator" {
  statement {
    sid       = "ListBackupBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.backups.arn]
  }

  statement {
    # Tier changes re-tag a server's objects (Tier=...); reading personal data without the server's bot.
    sid = "ReadAndRetagObjects"
    actions = [
      "s3:GetObject",
      "s3:GetObjectTagging",
      "s3:PutObjectTagging",
    ]
    resources = ["${aws_s3_bucket.backups.arn}/*"]
  }

  statement {
    # The TIER item (who/when, by STS identity), its audit record, the tier-index.
    sid = "TierItems"
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
    # Binding a secret to its server (the ServerId tag schedule enable and notify set check).
    sid       = "TagSecretsWithTheirServer"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource"]
    resources = [local.secret_arn_pattern]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["ServerId"]
    }
  }

  statement {
    sid       = "OpenServerSessions"
    actions   = ["sts:AssumeRole", "sts:TagSession"]
    resources = [aws_iam_role.server_task.arn]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/ServerId"
      values   = ["false"]
    }
  }

  statement {
    sid       = "UseBackupKeyThroughS3DynamoDBSNS"
    actions   = local.kms_use_actions
    resources = [aws_kms_key.backups.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.kms_via_services
    }
  }

  statement {
    # Re-sealing old bundles and checking any server's manifests.
    sid       = "SealAndCheckManifests"
    actions   = ["kms:GenerateMac", "kms:VerifyMac"]
    resources = [aws_kms_key.manifest_mac.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:MacAlgorithm"
      values   = ["HMAC_SHA_256"]
    }
  }

  statement {
    sid       = "PublishNotifications"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.backup_notifications.arn]
  }
}

resource "aws_iam_policy" "operator" {
  name        = "gaib-operator"
  description = "Gaib operators: tier set, object and secret tags, reading any server's backups"
  policy      = data.aws_iam_policy_document.operator.json
}

resource "aws_iam_role_policy_attachment" "operator" {
  role       = aws_iam_role.operator.name
  policy_arn = aws_iam_policy.operator.arn
}

# =====================================================================================================
# EventBridge → ECS: start the backup task definition in the cluster, pass its two roles (execution, task).
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
      aws_iam_role.coordinator.arn,
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
    # Server sessions and operators read objects: through S3 (whose policy scopes them), DynamoDB and SNS.
    sid       = "TaskRolesUseKeyThroughS3DynamoDBSNS"
    actions   = local.kms_use_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.server_task.arn, aws_iam_role.operator.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.kms_via_services
    }
  }

  statement {
    # The coordinator never through S3: it cannot decrypt a bundle even if an S3 permission slipped in.
    sid       = "CoordinatorUsesKeyThroughDynamoDBSNS"
    actions   = local.kms_use_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.coordinator.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
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
    # Disaster recovery: a server's session reads its replicas through S3 in the replica region.
    sid       = "ServerSessionsReadReplicas"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.server_task.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.replica_region}.amazonaws.com"]
    }
  }
}
