# =====================================================================================================
# Owner notifications: the notifier Lambda reads which webhook each server's owner registered
# (`gaib server notify set`) and that webhook's secret. Everything else the Lambda may do is in
# gaib-backups-iam.tf (aws_iam_policy.discord_notifier).
#
# Scoped as narrowly as the key shapes allow:
# - the catalog: GetItem only, on partitions `SERVER#{id}` (dynamodb:LeadingKeys) and only the key and
#   `webhook_secret` attributes (dynamodb:Attributes with Select = SPECIFIC_ATTRIBUTES), which only the
#   `SERVER#{id}/NOTIFY` item carries; no Query, Scan or write;
# - the secrets: only names under `gaib/webhooks/` (the prefix `gaib server notify set` requires) that
#   carry a `ServerId` tag; the Lambda also checks at run time that the tag names the server whose event
#   it delivers, so a secret bound to server B never carries server A's events.
# =====================================================================================================

locals {
  owner_webhook_secret_arns = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:gaib/webhooks/*"
}

data "aws_iam_policy_document" "discord_notifier_owners" {
  statement {
    sid       = "ReadServersWebhookNames"
    actions   = ["dynamodb:GetItem"]
    resources = [aws_dynamodb_table.backup_metadata.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["SERVER#*"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:Attributes"
      values   = ["PK", "SK", "webhook_secret"]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "dynamodb:Select"
      values   = ["SPECIFIC_ATTRIBUTES"]
    }
  }

  statement {
    sid       = "ReadServersWebhookSecrets"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = [local.owner_webhook_secret_arns]

    condition {
      test     = "Null"
      variable = "secretsmanager:ResourceTag/ServerId"
      values   = ["false"]
    }
  }
}

resource "aws_iam_role_policy" "discord_notifier_owners" {
  name   = "gaib-discord-notifier-owners"
  role   = aws_iam_role.discord_notifier.id
  policy = data.aws_iam_policy_document.discord_notifier_owners.json
}
