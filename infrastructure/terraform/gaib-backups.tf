# Gaib backup stack: the backup bucket (+ premium replica), its KMS keys, the catalog table, the scheduled
# ECS runs, notifications and alarms. IAM roles and policies live in gaib-backups-iam.tf.
# docs/infrastructure.md explains every resource, the metrics the code publishes and the costs.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name        = "gaib"
  bucket_name = "gaib-backups-${var.account_id}"
  table_name  = "gaib-backup-metadata"
  topic_name  = "gaib-backup-notifications"
  partition   = data.aws_partition.current.partition
  account_id  = var.account_id
  region      = var.aws_region

  common_tags = {
    Project   = "gaib"
    Component = "backups"
    ManagedBy = "terraform"
  }

  # CloudWatch metrics the Gaib code publishes (docs/infrastructure.md, "Metrics").
  metric_namespace = "Gaib/Backups"

  # The scheduled runs. Each becomes an EventBridge rule, a target running the backup task definition with
  # this command, and a heartbeat alarm (ScheduledRunHeartbeat, dimensions Tier and Operation).
  scheduled_runs = {
    free = {
      description = "Gaib free tier: daily state backups"
      schedule    = var.free_backup_schedule
      tier        = "free"
      operation   = "backup"
      command     = ["gaib", "server", "backup", "run-scheduled", "--tier", "free"]
      # Heartbeat: one run per day; alarm when two consecutive daily periods (yesterday and today) hold none.
      heartbeat_period     = 86400
      heartbeat_evaluation = 2
    }
    premium = {
      description          = "Gaib premium tier: hourly state backups"
      schedule             = var.premium_backup_schedule
      tier                 = "premium"
      operation            = "backup"
      command              = ["gaib", "server", "backup", "run-scheduled", "--tier", "premium"]
      heartbeat_period     = 3600
      heartbeat_evaluation = 2
    }
    premium_snapshots = {
      description          = "Gaib premium tier: weekly full snapshots"
      schedule             = var.premium_snapshot_schedule
      tier                 = "premium"
      operation            = "snapshot"
      command              = ["gaib", "server", "backup", "run-scheduled", "--tier", "premium", "--snapshots"]
      heartbeat_period     = 86400
      heartbeat_evaluation = 7
    }
    # Weekly verification: re-read the newest backup and snapshot of every server (and a few more at random)
    # and check every checksum; failures are verify.failed events and BackupErrors (Operation=verify).
    free_verify = {
      description          = "Gaib free tier: weekly verification of stored backups"
      schedule             = var.verify_schedule
      tier                 = "free"
      operation            = "verify"
      command              = ["gaib", "server", "backup", "verify", "--tier", "free", "--sample", "1"]
      heartbeat_period     = 86400
      heartbeat_evaluation = 7
    }
    premium_verify = {
      description          = "Gaib premium tier: weekly verification of stored backups and snapshots"
      schedule             = var.verify_schedule
      tier                 = "premium"
      operation            = "verify"
      command              = ["gaib", "server", "backup", "verify", "--tier", "premium", "--sample", "2"]
      heartbeat_period     = 86400
      heartbeat_evaluation = 7
    }
  }

  # What each scheduled run's tasks are started with: run-scheduled gets the window EventBridge fired for
  # (the event's time, so a start retried later still works on its own window) and its concurrency.
  # EventBridge replaces <time> in the input template; jsonencode escapes '<' and '>', so they are put back.
  run_commands = {
    for key, run in local.scheduled_runs : key => run.operation == "verify" ? run.command : concat(
      run.command, ["--window", "<time>", "--concurrency", tostring(var.task_concurrency)]
    )
  }

  # BackupErrors alarms: one per (Tier, Operation) pair the scheduled runs publish.
  error_alarms = {
    for key, run in local.scheduled_runs : key => { tier = run.tier, operation = run.operation }
  }

  webhook_is_secretsmanager = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.discord_webhook_secret_arn))
  # An SSM parameter ARN is arn:...:parameter/NAME; the Lambda is given the name with its leading slash.
  webhook_parameter_name = local.webhook_is_secretsmanager ? null : "/${element(split(":parameter/", var.discord_webhook_secret_arn), 1)}"

  ecs_log_group_name    = "/ecs/gaib-backup"
  lambda_function_name  = "gaib-discord-notifier"
  lambda_log_group_name = "/aws/lambda/gaib-discord-notifier"
  audit_function_name   = "gaib-notification-audit"
  audit_log_group_name  = "/aws/lambda/gaib-notification-audit"

  lambda_source_dir = "${path.module}/../../src/gaib/aws_lambda"
}

# =====================================================================================================
# KMS: one customer-managed key for the bucket, table, topic, queue and log groups in the primary region.
# =====================================================================================================

resource "aws_kms_key" "backups" {
  description             = "Gaib backups: S3 objects, DynamoDB catalog, SNS notifications, DLQ and logs"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.backups_key.json
}

resource "aws_kms_alias" "backups" {
  name          = "alias/gaib-backups"
  target_key_id = aws_kms_key.backups.key_id
}

# =====================================================================================================
# S3: the backup bucket
# =====================================================================================================

resource "aws_s3_bucket" "backups" {
  bucket = local.bucket_name

  lifecycle {
    prevent_destroy = true

    precondition {
      condition     = var.account_id == data.aws_caller_identity.current.account_id
      error_message = "account_id does not match the account of the credentials in use."
    }
    precondition {
      condition     = var.replica_region != var.aws_region
      error_message = "replica_region must differ from aws_region."
    }
  }
}

resource "aws_s3_bucket_versioning" "backups" {
  bucket = aws_s3_bucket.backups.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "backups" {
  bucket = aws_s3_bucket.backups.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.backups.arn
    }
    # One data key per bucket instead of one KMS request per object: cuts KMS request cost ~99%.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "backups" {
  bucket = aws_s3_bucket.backups.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "backups" {
  bucket = aws_s3_bucket.backups.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_policy" "backups" {
  bucket = aws_s3_bucket.backups.id
  policy = data.aws_iam_policy_document.backups_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.backups]
}

data "aws_iam_policy_document" "backups_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.backups.arn,
      "${aws_s3_bucket.backups.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "DenyObjectsNotEncryptedWithTheBackupKey"
    effect  = "Deny"
    actions = ["s3:PutObject"]
    resources = [
      "${aws_s3_bucket.backups.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    # Requests that name another key are refused; requests that name none get the bucket default.
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.backups.arn]
    }
  }
}

# Lifecycle never expires a current object: which backups and snapshots to keep is decided by Gaib's prune
# (gaib.bundles.retention; it always keeps a server's newest backup, however old), and only prune deletes
# them. A delete leaves a noncurrent version, which stays recoverable for noncurrent_version_retention_days
# and is then removed here. Tier tags only choose the storage class.
resource "aws_s3_bucket_lifecycle_configuration" "backups" {
  bucket = aws_s3_bucket.backups.id

  # Objects under 128 KB never transition (S3's default, written out so it is not left to chance); the
  # premium transition rule below raises the bar further with its own size filter.
  transition_default_minimum_object_size = "all_storage_classes_128K"

  rule {
    id     = "premium-tier-glacier-ir"
    status = "Enabled"

    filter {
      and {
        tags = {
          Tier = "premium"
        }
        object_size_greater_than = var.glacier_min_object_size_bytes
      }
    }

    # Glacier Instant Retrieval: restores read objects with a plain GetObject (no RestoreObject wait).
    transition {
      days          = var.premium_glacier_transition_days
      storage_class = "GLACIER_IR"
    }
  }

  rule {
    id     = "removed-versions-and-leftovers"
    status = "Enabled"

    filter {}

    # Versions prune deleted (or a document's replaced versions): gone for good after the grace period.
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    # A delete marker with no version left behind it.
    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  lifecycle {
    precondition {
      condition     = var.premium_glacier_transition_days < var.premium_retention_days
      error_message = "premium_glacier_transition_days must be lower than premium_retention_days."
    }
  }

  depends_on = [aws_s3_bucket_versioning.backups]
}

resource "aws_s3_bucket_logging" "backups" {
  bucket        = aws_s3_bucket.backups.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "gaib-backups/"

  target_object_key_format {
    partitioned_prefix {
      partition_date_source = "EventTime"
    }
  }
}

resource "aws_s3_bucket_notification" "backups" {
  bucket      = aws_s3_bucket.backups.id
  eventbridge = true
}

# -----------------------------------------------------------------------------------------------------
# Server access logs of the backup bucket (who read or wrote which backup). S3 log delivery only writes to
# SSE-S3 buckets, so this one bucket cannot use the KMS key.
# -----------------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 server access log delivery only supports SSE-S3 (AES256) on the target bucket, not SSE-KMS
  #checkov:skip=CKV_AWS_18:This is the access-log target bucket itself; logging it would log the log deliveries
  #checkov:skip=CKV_AWS_144:Access logs are audit data of the primary region; the backups they describe are replicated, the logs need not be
  bucket = "gaib-backups-logs-${var.account_id}"

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

resource "aws_s3_bucket_notification" "access_logs" {
  bucket      = aws_s3_bucket.access_logs.id
  eventbridge = true
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

data "aws_iam_policy_document" "access_logs_bucket" {
  statement {
    sid       = "AllowServerAccessLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/gaib-backups/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.backups.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.access_logs.arn,
      "${aws_s3_bucket.access_logs.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# =====================================================================================================
# Cross-region replication of premium objects (var.enable_replication)
# =====================================================================================================

resource "aws_kms_key" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  description             = "Gaib backups: premium replica bucket in ${var.replica_region}"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.replica_key[0].json
}

resource "aws_kms_alias" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  name          = "alias/gaib-backups-replica"
  target_key_id = aws_kms_key.replica[0].key_id
}

resource "aws_s3_bucket" "replica" {
  #checkov:skip=CKV_AWS_144:This bucket is the cross-region replica; replicating it again would add a third copy
  #checkov:skip=CKV_AWS_18:Written only by S3 replication and read only for disaster recovery; reads and writes are audited through the primary bucket's access logs and CloudTrail
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  bucket = "gaib-backups-${var.account_id}-replica"

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  bucket = aws_s3_bucket.replica[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  bucket = aws_s3_bucket.replica[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.replica[0].arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  bucket = aws_s3_bucket.replica[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  bucket = aws_s3_bucket.replica[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  bucket = aws_s3_bucket.replica[0].id

  transition_default_minimum_object_size = "all_storage_classes_128K"

  # Replicas carry the source object's tags, so the same Tier filter applies. As on the primary, no rule
  # expires a current object: an age-based expiry would delete the only off-region copy of a quiet server's
  # newest backup (see docs/infrastructure.md on why the replica is a superset of the primary).
  rule {
    id     = "premium-tier-glacier-ir"
    status = "Enabled"

    filter {
      and {
        tags = {
          Tier = "premium"
        }
        object_size_greater_than = var.glacier_min_object_size_bytes
      }
    }

    transition {
      days          = var.premium_glacier_transition_days
      storage_class = "GLACIER_IR"
    }
  }

  rule {
    id     = "removed-versions-and-leftovers"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.replica]
}

resource "aws_s3_bucket_notification" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  bucket      = aws_s3_bucket.replica[0].id
  eventbridge = true
}

resource "aws_s3_bucket_policy" "replica" {
  count    = var.enable_replication ? 1 : 0
  provider = aws.replica

  bucket = aws_s3_bucket.replica[0].id
  policy = data.aws_iam_policy_document.replica_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.replica]
}

data "aws_iam_policy_document" "replica_bucket" {
  count = var.enable_replication ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.replica[0].arn,
      "${aws_s3_bucket.replica[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_replication_configuration" "backups" {
  count = var.enable_replication ? 1 : 0

  bucket = aws_s3_bucket.backups.id
  role   = aws_iam_role.replication[0].arn

  rule {
    id       = "premium-to-${var.replica_region}"
    status   = "Enabled"
    priority = 1

    filter {
      tag {
        key   = "Tier"
        value = "premium"
      }
    }

    # S3 does not replicate delete markers for tag-filtered rules: objects prune deletes on the primary stay
    # current in the replica (docs/infrastructure.md, "Replica bucket").
    delete_marker_replication {
      status = "Disabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }

    destination {
      bucket        = aws_s3_bucket.replica[0].arn
      storage_class = "STANDARD"

      encryption_configuration {
        replica_kms_key_id = aws_kms_key.replica[0].arn
      }
    }
  }

  depends_on = [
    aws_s3_bucket_versioning.backups,
    aws_s3_bucket_versioning.replica,
  ]
}

# =====================================================================================================
# DynamoDB: the backup catalog
# =====================================================================================================

resource "aws_dynamodb_table" "backup_metadata" {
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "PK"
  range_key                   = "SK"
  deletion_protection_enabled = var.catalog_deletion_protection

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }

  attribute {
    name = "server_tier"
    type = "S"
  }

  # The scheduler lists the servers of one tier. Backup items carry `tier` and `server_id` too, so the index
  # keys on `server_tier`, an attribute only the per-server item (SK "TIER") carries: the index is sparse,
  # one entry per server. Range key PK (SERVER#{server_id}) pages through the servers in a stable order.
  global_secondary_index {
    name            = "tier-index"
    hash_key        = "server_tier"
    range_key       = "PK"
    projection_type = "KEYS_ONLY"
  }

  # A safety net only: Gaib sets expires_at on items it has already superseded (daily quota counters, run
  # claims), never on a backup, snapshot or deployment item it lists; those leave only through prune.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.backups.arn
  }

  lifecycle {
    prevent_destroy = true
  }
}

# =====================================================================================================
# Scheduled runs: EventBridge → ECS Fargate
# =====================================================================================================

resource "aws_cloudwatch_log_group" "backup_task" {
  name              = local.ecs_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.backups.arn
}

resource "aws_security_group" "backup_task" {
  name        = "gaib-backup-task"
  description = "Gaib scheduled backup task: no inbound, HTTPS out only (AWS APIs and Discord)"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS to AWS APIs and the Discord API"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_task_definition" "backup" {
  family                   = "gaib-backup"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.ecs_task_execution.arn
  task_role_arn            = aws_iam_role.coordinator.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "scratch"
  }

  container_definitions = jsonencode([local.backup_container])

  lifecycle {
    precondition {
      condition     = var.container_image != null
      error_message = "container_image is not set: run scripts/release.sh, which pushes the image and writes release.auto.tfvars.json (docs/deploy.md; the first time, create the repository alone with terraform apply -target=aws_ecr_repository.gaib)."
    }
    precondition {
      condition     = var.container_image == null ? true : startswith(var.container_image, "${aws_ecr_repository.gaib.repository_url}@") || startswith(var.container_image, "${aws_ecr_repository.gaib.repository_url}:")
      error_message = "container_image must be an image of this stack's repository (output ecr_repository_url): the execution role may pull from that one only."
    }
  }
}

# The on-demand restore/prune task (run by an operator with `aws ecs run-task --overrides ...`); same image and
# task role: like a scheduled run, it acts on a server through a gaib-server-task session tagged with that
# server (deletes, old versions), never with the task role itself. No schedule points at it.
resource "aws_ecs_task_definition" "restore" {
  family                   = "gaib-restore"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.ecs_task_execution.arn
  task_role_arn            = aws_iam_role.coordinator.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "scratch"
  }

  container_definitions = jsonencode([merge(local.backup_container, { command = ["gaib", "server", "backup", "list"] })])

  lifecycle {
    precondition {
      condition     = var.container_image != null
      error_message = "container_image is not set: run scripts/release.sh, which pushes the image and writes release.auto.tfvars.json (docs/deploy.md; the first time, create the repository alone with terraform apply -target=aws_ecr_repository.gaib)."
    }
    precondition {
      condition     = var.container_image == null ? true : startswith(var.container_image, "${aws_ecr_repository.gaib.repository_url}@") || startswith(var.container_image, "${aws_ecr_repository.gaib.repository_url}:")
      error_message = "container_image must be an image of this stack's repository (output ecr_repository_url): the execution role may pull from that one only."
    }
  }
}

locals {
  backup_container = {
    name      = "gaib"
    image     = var.container_image
    essential = true
    command   = local.scheduled_runs.free.command
    # The image's USER and WORKDIR (Dockerfile; tests/infra/test_image.py holds them equal). The root file
    # system is read-only: Gaib writes only under /tmp, the image's VOLUME, where the scratch volume goes.
    readonlyRootFilesystem = true
    privileged             = false
    user                   = "1000:1000"
    workingDirectory       = "/tmp"
    linuxParameters = {
      initProcessEnabled = true
      capabilities       = { drop = ["ALL"] }
    }
    mountPoints = [
      { sourceVolume = "scratch", containerPath = "/tmp", readOnly = false },
    ]
    environment = concat(
      [
        { name = "GAIB_BACKUP_BUCKET", value = aws_s3_bucket.backups.id },
        { name = "GAIB_BACKUP_TABLE", value = aws_dynamodb_table.backup_metadata.name },
        { name = "GAIB_BACKUP_KMS_KEY", value = aws_kms_key.backups.arn },
        { name = "GAIB_BACKUP_TOPIC_ARN", value = aws_sns_topic.backup_notifications.arn },
        { name = "GAIB_METRICS_NAMESPACE", value = local.metric_namespace },
        # Per-server sessions (docs/infrastructure.md, "Roles") and the manifest MAC key.
        { name = "GAIB_SERVER_ROLE_ARN", value = aws_iam_role.server_task.arn },
        { name = "GAIB_OPERATOR_ROLE_ARN", value = aws_iam_role.operator.arn },
        { name = "GAIB_MAC_KEY_ID", value = aws_kms_key.manifest_mac.key_id },
        { name = "AWS_REGION", value = var.aws_region },
        { name = "TMPDIR", value = "/tmp" },
      ],
      var.state_bucket_name == null ? [] : [{ name = "GAIB_S3_BUCKET", value = var.state_bucket_name }],
    )
    secrets = var.discord_bot_token_secret_arn == null ? [] : [
      { name = "DISCORD_BOT_TOKEN", valueFrom = var.discord_bot_token_secret_arn },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.backup_task.name
        "awslogs-region"        = var.aws_region
        "awslogs-stream-prefix" = "gaib"
      }
    }
  }
}

resource "aws_cloudwatch_event_rule" "scheduled_run" {
  for_each = local.scheduled_runs

  name                = "gaib-${replace(each.key, "_", "-")}"
  description         = each.value.description
  schedule_expression = each.value.schedule
  state               = "ENABLED"
}

resource "aws_cloudwatch_event_target" "scheduled_run" {
  for_each = local.scheduled_runs

  rule      = aws_cloudwatch_event_rule.scheduled_run[each.key].name
  target_id = "gaib-${replace(each.key, "_", "-")}"
  arn       = var.ecs_cluster_arn
  role_arn  = aws_iam_role.eventbridge_ecs.arn

  ecs_target {
    task_definition_arn = aws_ecs_task_definition.backup.arn
    # N identical tasks per window split the servers through their claims in the catalog (no coordinator).
    task_count              = lookup(var.tasks_per_window, each.key, 1)
    launch_type             = "FARGATE"
    platform_version        = "LATEST"
    enable_ecs_managed_tags = true

    network_configuration {
      subnets          = var.subnet_ids
      security_groups  = [aws_security_group.backup_task.id]
      assign_public_ip = false
    }
  }

  input_transformer {
    input_paths = {
      time = "$.time"
    }
    input_template = replace(replace(jsonencode({
      containerOverrides = [
        {
          name    = "gaib"
          command = local.run_commands[each.key]
        },
      ]
    }), "\\u003c", "<"), "\\u003e", ">")
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letters.arn
  }
}

# Failed deliveries (EventBridge could not start a task; the notifier Lambda failed after its retries).
resource "aws_sqs_queue" "dead_letters" {
  name                              = "gaib-backup-dead-letters"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.backups.arn
  kms_data_key_reuse_period_seconds = 3600
}

resource "aws_sqs_queue_policy" "dead_letters" {
  queue_url = aws_sqs_queue.dead_letters.id
  policy    = data.aws_iam_policy_document.dead_letters_queue.json
}

data "aws_iam_policy_document" "dead_letters_queue" {
  statement {
    sid       = "AllowScheduleRulesToDeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.scheduled_run : rule.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dead_letters.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# =====================================================================================================
# Notifications: SNS topic → Discord notifier Lambda, CloudWatch Logs audit Lambda (+ optional e-mail)
# =====================================================================================================

resource "aws_sns_topic" "backup_notifications" {
  name              = local.topic_name
  kms_master_key_id = aws_kms_key.backups.arn
}

resource "aws_sns_topic_policy" "backup_notifications" {
  arn    = aws_sns_topic.backup_notifications.arn
  policy = data.aws_iam_policy_document.backup_notifications_topic.json
}

data "aws_iam_policy_document" "backup_notifications_topic" {
  statement {
    sid       = "AllowCloudWatchAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.backup_notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "AllowGaibTaskRoles"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.backup_notifications.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.server_task.arn, aws_iam_role.coordinator.arn, aws_iam_role.operator.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.backup_notifications.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# E-mail (the seed's "Email via SES"): an SNS e-mail subscription; the address confirms it once.
resource "aws_sns_topic_subscription" "email" {
  count = var.alert_email == null ? 0 : 1

  topic_arn = aws_sns_topic.backup_notifications.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

data "archive_file" "discord_notifier" {
  type        = "zip"
  output_path = "${path.module}/build/discord_notifier.zip"

  # Only the notifier module and empty package markers: it needs nothing but the standard library and the
  # runtime's boto3, and must not pull the CLI's dependencies in through gaib/__init__.py.
  source {
    content  = "\"\"\"Gaib (Lambda package: notifier only).\"\"\"\n"
    filename = "gaib/__init__.py"
  }

  source {
    content  = file("${local.lambda_source_dir}/__init__.py")
    filename = "gaib/aws_lambda/__init__.py"
  }

  source {
    content  = file("${local.lambda_source_dir}/discord_notifier.py")
    filename = "gaib/aws_lambda/discord_notifier.py"
  }
}

resource "aws_cloudwatch_log_group" "discord_notifier" {
  name              = local.lambda_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.backups.arn
}

resource "aws_lambda_function" "discord_notifier" {
  #checkov:skip=CKV_AWS_117:The notifier reaches only Secrets Manager/SSM and Discord over HTTPS and no VPC resource; a VPC would add NAT and ENI permissions without reducing exposure
  #checkov:skip=CKV_AWS_272:The package is built from the reviewed repository by archive_file at plan time; there is no AWS Signer profile in this stack to sign it
  function_name                  = local.lambda_function_name
  description                    = "Posts gaib-backup-notifications messages to a Discord webhook"
  role                           = aws_iam_role.discord_notifier.arn
  runtime                        = "python3.12"
  handler                        = "gaib.aws_lambda.discord_notifier.handler"
  filename                       = data.archive_file.discord_notifier.output_path
  source_code_hash               = data.archive_file.discord_notifier.output_base64sha256
  architectures                  = ["arm64"]
  memory_size                    = 128
  timeout                        = 60
  reserved_concurrent_executions = 5
  kms_key_arn                    = aws_kms_key.backups.arn

  environment {
    variables = merge(
      local.webhook_is_secretsmanager ? { GAIB_DISCORD_WEBHOOK_SECRET_ARN = var.discord_webhook_secret_arn } : { GAIB_DISCORD_WEBHOOK_PARAMETER = local.webhook_parameter_name },
      { LOG_LEVEL = "INFO" },
      # Owner notifications: where each server's webhook secret is named (gaib-notify-owners.tf).
      { GAIB_CATALOG_TABLE = aws_dynamodb_table.backup_metadata.name },
    )
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letters.arn
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.discord_notifier.name
  }

  depends_on = [
    aws_iam_role_policy_attachment.discord_notifier,
    aws_iam_role_policy.discord_notifier_owners,
    aws_cloudwatch_log_group.discord_notifier,
  ]
}

resource "aws_lambda_function_event_invoke_config" "discord_notifier" {
  function_name                = aws_lambda_function.discord_notifier.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_permission" "sns_invoke_discord_notifier" {
  statement_id   = "AllowInvokeFromBackupNotifications"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.discord_notifier.function_name
  principal      = "sns.amazonaws.com"
  source_arn     = aws_sns_topic.backup_notifications.arn
  source_account = local.account_id
}

resource "aws_sns_topic_subscription" "discord_notifier" {
  topic_arn = aws_sns_topic.backup_notifications.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.discord_notifier.arn

  depends_on = [aws_lambda_permission.sns_invoke_discord_notifier]
}

# CloudWatch Logs (the seed's audit trail): every message on the topic becomes one JSON line in the log
# group /aws/lambda/gaib-notification-audit (KMS, log_retention_days), written by a tiny Lambda.

data "archive_file" "notification_audit" {
  type        = "zip"
  output_path = "${path.module}/build/notification_audit.zip"

  source {
    content  = "\"\"\"Gaib (Lambda package: notification audit only).\"\"\"\n"
    filename = "gaib/__init__.py"
  }

  source {
    content  = file("${local.lambda_source_dir}/__init__.py")
    filename = "gaib/aws_lambda/__init__.py"
  }

  source {
    content  = file("${local.lambda_source_dir}/audit_log.py")
    filename = "gaib/aws_lambda/audit_log.py"
  }
}

resource "aws_cloudwatch_log_group" "notification_audit" {
  name              = local.audit_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.backups.arn
}

resource "aws_lambda_function" "notification_audit" {
  #checkov:skip=CKV_AWS_117:The audit Lambda only writes its own log group; a VPC would add NAT and ENI permissions without reducing exposure
  #checkov:skip=CKV_AWS_272:The package is built from the reviewed repository by archive_file at plan time; there is no AWS Signer profile in this stack to sign it
  function_name                  = local.audit_function_name
  description                    = "Writes every gaib-backup-notifications message to CloudWatch Logs (audit trail)"
  role                           = aws_iam_role.notification_audit.arn
  runtime                        = "python3.12"
  handler                        = "gaib.aws_lambda.audit_log.handler"
  filename                       = data.archive_file.notification_audit.output_path
  source_code_hash               = data.archive_file.notification_audit.output_base64sha256
  architectures                  = ["arm64"]
  memory_size                    = 128
  timeout                        = 30
  reserved_concurrent_executions = 2
  kms_key_arn                    = aws_kms_key.backups.arn

  environment {
    variables = { LOG_LEVEL = "INFO" }
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letters.arn
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.notification_audit.name
  }

  depends_on = [
    aws_iam_role_policy_attachment.notification_audit,
    aws_cloudwatch_log_group.notification_audit,
  ]
}

resource "aws_lambda_permission" "sns_invoke_notification_audit" {
  statement_id   = "AllowInvokeFromBackupNotifications"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.notification_audit.function_name
  principal      = "sns.amazonaws.com"
  source_arn     = aws_sns_topic.backup_notifications.arn
  source_account = local.account_id
}

resource "aws_sns_topic_subscription" "notification_audit" {
  topic_arn = aws_sns_topic.backup_notifications.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.notification_audit.arn

  depends_on = [aws_lambda_permission.sns_invoke_notification_audit]
}

# =====================================================================================================
# CloudWatch alarms (they notify the same topic, so they reach Discord and e-mail)
# =====================================================================================================

resource "aws_cloudwatch_metric_alarm" "backup_errors" {
  for_each = local.error_alarms

  alarm_name          = "gaib-backup-errors-${replace(each.key, "_", "-")}"
  alarm_description   = "Gaib ${each.value.tier} ${each.value.operation} runs reported errors (BackupErrors > 0)."
  namespace           = local.metric_namespace
  metric_name         = "BackupErrors"
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"

  dimensions = {
    Tier      = each.value.tier
    Operation = each.value.operation
  }

  alarm_actions = [aws_sns_topic.backup_notifications.arn]
  ok_actions    = [aws_sns_topic.backup_notifications.arn]
}

resource "aws_cloudwatch_metric_alarm" "missed_run" {
  for_each = local.scheduled_runs

  alarm_name          = "gaib-missed-run-${replace(each.key, "_", "-")}"
  alarm_description   = "No ScheduledRunHeartbeat from the ${each.value.tier} ${each.value.operation} schedule (${each.value.schedule}): a scheduled run did not happen or did not finish."
  namespace           = local.metric_namespace
  metric_name         = "ScheduledRunHeartbeat"
  statistic           = "Sum"
  period              = each.value.heartbeat_period
  evaluation_periods  = each.value.heartbeat_evaluation
  datapoints_to_alarm = each.value.heartbeat_evaluation
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  # No datapoint at all is exactly the failure this alarm exists for.
  treat_missing_data = "breaching"

  dimensions = {
    Tier      = each.value.tier
    Operation = each.value.operation
  }

  alarm_actions = [aws_sns_topic.backup_notifications.arn]
  ok_actions    = [aws_sns_topic.backup_notifications.arn]
}

resource "aws_cloudwatch_metric_alarm" "bucket_size" {
  alarm_name          = "gaib-backup-bucket-size"
  alarm_description   = "The backup bucket holds more than ${var.bucket_size_alarm_bytes} bytes (Standard + Glacier IR)."
  evaluation_periods  = 1
  threshold           = var.bucket_size_alarm_bytes
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "total"
    expression  = "standard + glacier_ir"
    label       = "Backup bucket bytes"
    return_data = true
  }

  metric_query {
    id = "standard"

    metric {
      namespace   = "AWS/S3"
      metric_name = "BucketSizeBytes"
      stat        = "Average"
      period      = 86400
      dimensions = {
        BucketName  = aws_s3_bucket.backups.id
        StorageType = "StandardStorage"
      }
    }
  }

  metric_query {
    id = "glacier_ir"

    metric {
      namespace   = "AWS/S3"
      metric_name = "BucketSizeBytes"
      stat        = "Average"
      period      = 86400
      dimensions = {
        BucketName  = aws_s3_bucket.backups.id
        StorageType = "GlacierInstantRetrievalStorage"
      }
    }
  }

  alarm_actions = [aws_sns_topic.backup_notifications.arn]
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "gaib-backup-dead-letters"
  alarm_description   = "A scheduled run could not be started or a notification could not be delivered (messages in gaib-backup-dead-letters)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"

  dimensions = {
    QueueName = aws_sqs_queue.dead_letters.name
  }

  alarm_actions = [aws_sns_topic.backup_notifications.arn]
}
