# Inputs of the Gaib backup stack. Every variable has a type, a description and, where a wrong value would
# only fail at apply time (or silently), a validation block.
#
# The tier table lives in src/gaib/tiers/table.py (POLICIES). The variables below that repeat a number of
# it (replica_region, the three schedules, the retention and Glacier transition days) carry that number as
# their default, and tests/infra/test_tier_alignment.py fails when the two disagree: change both together.

# --- account and regions --------------------------------------------------------------------------

variable "account_id" {
  type        = string
  description = "AWS account id (12 digits) the stack is deployed into; names the bucket gaib-backups-{account_id}. Checked against the caller identity at plan time."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "aws_region" {
  type        = string
  description = "Primary region: the backup bucket, table, key, topic, schedules and alarms live here."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as us-east-1."
  }
}

variable "replica_region" {
  type        = string
  description = "Region of the premium cross-region replica bucket and its KMS key (the premium tier's replica_region in gaib.tiers.table). Must differ from aws_region."
  default     = "us-west-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", var.replica_region))
    error_message = "replica_region must be an AWS region name such as us-west-2."
  }
}

variable "enable_replication" {
  type        = bool
  description = "Create the replica bucket, its KMS key, the replication role and the premium-only replication rule (the premium tier's cross-region copy)."
  default     = true
}

# --- schedules ------------------------------------------------------------------------------------

variable "free_backup_schedule" {
  type        = string
  description = "EventBridge schedule of the free tier's daily backup run (UTC); the free tier's backup_schedule in gaib.tiers.table."
  default     = "cron(0 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron\\([^)]+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\))$", var.free_backup_schedule))
    error_message = "free_backup_schedule must be an EventBridge cron(...) or rate(...) expression."
  }
}

variable "premium_backup_schedule" {
  type        = string
  description = "EventBridge schedule of the premium tier's hourly backup run (UTC); the premium tier's backup_schedule in gaib.tiers.table."
  default     = "cron(0 * * * ? *)"

  validation {
    condition     = can(regex("^(cron\\([^)]+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\))$", var.premium_backup_schedule))
    error_message = "premium_backup_schedule must be an EventBridge cron(...) or rate(...) expression."
  }
}

variable "premium_snapshot_schedule" {
  type        = string
  description = "EventBridge schedule of the premium tier's weekly full snapshot run (UTC); the premium tier's snapshot_schedule in gaib.tiers.table."
  default     = "cron(0 4 ? * SUN *)"

  validation {
    condition     = can(regex("^(cron\\([^)]+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\))$", var.premium_snapshot_schedule))
    error_message = "premium_snapshot_schedule must be an EventBridge cron(...) or rate(...) expression."
  }
}

# --- retention ------------------------------------------------------------------------------------

variable "verify_schedule" {
  type        = string
  description = "EventBridge schedule (UTC) of the weekly verification of stored backups and snapshots (both tiers)."
  default     = "cron(0 5 ? * SUN *)"

  validation {
    condition     = can(regex("^(cron\\([^)]+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\))$", var.verify_schedule))
    error_message = "verify_schedule must be an EventBridge cron(...) or rate(...) expression."
  }
}

variable "tasks_per_window" {
  type        = map(number)
  description = "Fargate tasks started per window, by scheduled run (free, premium, premium_snapshots, free_verify, premium_verify); they split the servers through claims in the catalog. Runs not named start 1."
  default = {
    free              = 1
    premium           = 1
    premium_snapshots = 1
    free_verify       = 1
    premium_verify    = 1
  }

  validation {
    condition     = alltrue([for k, v in var.tasks_per_window : contains(["free", "premium", "premium_snapshots", "free_verify", "premium_verify"], k) && v >= 1 && v <= 10 && floor(v) == v])
    error_message = "tasks_per_window maps free, premium, premium_snapshots, free_verify or premium_verify to a whole number of tasks from 1 to 10 (EventBridge's limit per target)."
  }
}

variable "task_concurrency" {
  type        = number
  description = "Servers each scheduled task works on at once (run-scheduled --concurrency)."
  default     = 16

  validation {
    condition     = var.task_concurrency >= 1 && var.task_concurrency <= 256 && floor(var.task_concurrency) == var.task_concurrency
    error_message = "task_concurrency must be a whole number from 1 to 256."
  }
}

variable "free_retention_days" {
  type        = number
  description = "The free tier's retention in days, as in gaib.tiers.table (which is what prune applies; this copy does not change it). No lifecycle rule expires current objects by age: prune removes backups older than this, never a server's newest."
  default     = 7

  validation {
    condition     = var.free_retention_days >= 1 && var.free_retention_days <= 3650 && floor(var.free_retention_days) == var.free_retention_days
    error_message = "free_retention_days must be a whole number between 1 and 3650."
  }
}

variable "premium_retention_days" {
  type        = number
  description = "The premium tier's retention in days, as in gaib.tiers.table (which is what prune applies; this copy does not change it). Bounds premium_glacier_transition_days; no lifecycle rule expires current objects by age."
  default     = 90

  validation {
    condition     = var.premium_retention_days >= 1 && var.premium_retention_days <= 3650 && floor(var.premium_retention_days) == var.premium_retention_days
    error_message = "premium_retention_days must be a whole number between 1 and 3650."
  }
}

variable "premium_glacier_transition_days" {
  type        = number
  description = "Age in days at which large premium objects move to S3 Glacier Instant Retrieval (the premium tier's glacier_ir_after_days in gaib.tiers.table). Must be below premium_retention_days."
  default     = 30

  validation {
    condition     = var.premium_glacier_transition_days >= 0 && floor(var.premium_glacier_transition_days) == var.premium_glacier_transition_days
    error_message = "premium_glacier_transition_days must be a whole number >= 0."
  }
}

variable "glacier_min_object_size_bytes" {
  type        = number
  description = "Only premium objects larger than this many bytes transition to Glacier Instant Retrieval (smaller ones cost more there: 128 KB billing minimum plus the transition request). See docs/infrastructure.md."
  default     = 1048576

  validation {
    condition     = var.glacier_min_object_size_bytes >= 131072 && floor(var.glacier_min_object_size_bytes) == var.glacier_min_object_size_bytes
    error_message = "glacier_min_object_size_bytes must be a whole number >= 131072 (Glacier IR bills every object as at least 128 KB)."
  }
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Grace period: days a version that prune deleted (or a replaced document version) stays recoverable with GetObjectVersion before S3 removes it for good. The only lifecycle expiry of backup data."
  default     = 7

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 365 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number between 1 and 365."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the stack's CloudWatch log groups (ECS task and notifier Lambda)."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "catalog_deletion_protection" {
  type        = bool
  description = "Deletion protection of the gaib-backup-metadata table. Leave on in production."
  default     = true
}

# --- notifications --------------------------------------------------------------------------------

variable "alert_email" {
  type        = string
  description = "Optional e-mail address subscribed to gaib-backup-notifications (the address must confirm the subscription). null for none."
  default     = null

  validation {
    condition     = var.alert_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be null or an e-mail address."
  }
}

variable "discord_webhook_secret_arn" {
  type        = string
  description = "ARN of the Secrets Manager secret or SSM SecureString parameter holding the Discord webhook URL (never the URL itself)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)$", var.discord_webhook_secret_arn))
    error_message = "discord_webhook_secret_arn must be a Secrets Manager secret ARN or an SSM parameter ARN; do not pass the webhook URL."
  }
}

variable "discord_webhook_secret_kms_key_arn" {
  type        = string
  description = "ARN of the customer-managed KMS key that encrypts the webhook secret/parameter, if it is not the AWS-managed default key. null otherwise."
  default     = null

  validation {
    condition     = var.discord_webhook_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.discord_webhook_secret_kms_key_arn))
    error_message = "discord_webhook_secret_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "bucket_size_alarm_bytes" {
  type        = number
  description = "Alarm when the backup bucket holds more than this many bytes (Standard + Glacier IR)."
  default     = 107374182400

  validation {
    condition     = var.bucket_size_alarm_bytes > 0
    error_message = "bucket_size_alarm_bytes must be positive."
  }
}

# --- scheduled task (ECS Fargate) -----------------------------------------------------------------

variable "container_image" {
  type        = string
  description = "The Gaib image the tasks run, in this stack's ECR repository (output ecr_repository_url), by digest (@sha256:...) or tag. Not typed by hand: scripts/release.sh pushes the image and writes its digest to release.auto.tfvars.json beside the .tf files, which Terraform loads. null (no release yet) only for the first `terraform apply -target=aws_ecr_repository.gaib` (docs/deploy.md). Its ENTRYPOINT must be empty: the task command starts with `gaib`."
  default     = null

  validation {
    condition     = var.container_image == null || can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$", var.container_image))
    error_message = "container_image must be an ECR image reference with a tag or digest."
  }
}

variable "ecr_keep_images" {
  type        = number
  description = "Images the ECR repository keeps (the newest by push time; untagged ones go after a day). A rollback can go back this many releases, and the deployed image must stay among them: deploy before releasing this many more."
  default     = 20

  validation {
    condition     = var.ecr_keep_images >= 2 && var.ecr_keep_images <= 1000 && floor(var.ecr_keep_images) == var.ecr_keep_images
    error_message = "ecr_keep_images must be a whole number from 2 (the deployed image and the one to roll back to) to 1000."
  }
}

variable "ecs_cluster_arn" {
  type        = string
  description = "ARN of the existing ECS cluster the scheduled backup tasks run in."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]+$", var.ecs_cluster_arn))
    error_message = "ecs_cluster_arn must be an ECS cluster ARN."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the task subnets; the task's security group (HTTPS egress only) is created in it."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets (with a NAT or VPC endpoints for S3, DynamoDB, KMS, SNS, CloudWatch, ECR, Logs, and egress to Discord) the tasks run in."

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must be a non-empty list of subnet ids."
  }
}

variable "task_cpu" {
  type        = number
  description = "Fargate CPU units of the backup task."
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "task_memory" {
  type        = number
  description = "Fargate memory (MiB) of the backup task; must be a valid pairing with task_cpu."
  default     = 512

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720 && var.task_memory % 512 == 0
    error_message = "task_memory must be a multiple of 512 between 512 and 30720."
  }
}

# --- what the scheduled run reads (optional) ------------------------------------------------------

variable "discord_bot_token_secret_arn" {
  type        = string
  description = "Secrets Manager ARN of the Discord bot token given to the task as DISCORD_BOT_TOKEN (config exports read the live guild). null for none."
  default     = null

  validation {
    condition     = var.discord_bot_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.discord_bot_token_secret_arn))
    error_message = "discord_bot_token_secret_arn must be null or a Secrets Manager secret ARN."
  }
}

variable "operator_principal_arns" {
  type        = list(string)
  description = "IAM principals (ARN patterns) that may assume gaib-operator: tier changes, object and secret tags, reading any server's backups. Empty: only the account's root user."
  default     = []

  validation {
    condition     = alltrue([for arn in var.operator_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "operator_principal_arns must hold IAM or STS principal ARNs of an account."
  }
}

variable "owner_principal_arns" {
  type        = list(string)
  description = "IAM principals (ARN patterns) of owners' tools, each tagged ServerId: they may open gaib-server-task sessions for that server only."
  default     = []

  validation {
    condition     = alltrue([for arn in var.owner_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "owner_principal_arns must hold IAM or STS principal ARNs of an account."
  }
}

variable "state_bucket_name" {
  type        = string
  description = "Bucket of the Gaib S3 state backend the scheduled run backs up (read-only access is granted). null for none."
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be null or a valid S3 bucket name."
  }
}

variable "state_kms_key_arn" {
  type        = string
  description = "KMS key ARN encrypting the state bucket, if it uses SSE-KMS with a customer-managed key. null otherwise."
  default     = null

  validation {
    condition     = var.state_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.state_kms_key_arn))
    error_message = "state_kms_key_arn must be null or a KMS key ARN."
  }
}
