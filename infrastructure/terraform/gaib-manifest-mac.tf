# The KMS HMAC key that authenticates bundle manifests (issue 24, item 2): a manifest carries a MAC over its
# canonical body, which names its server, made with this key (kms:GenerateMac) and checked (kms:VerifyMac)
# before a restore, download, compare or verify trusts it. The key never leaves KMS and is not in the bucket,
# so whoever can write objects cannot forge a manifest. Tasks get its id as GAIB_MAC_KEY_ID.
# HMAC keys have no automatic rotation in KMS; re-sealing with a new key is `gaib snapshot reseal` (docs).

resource "aws_kms_key" "manifest_mac" {
  description              = "Gaib manifest MACs (HMAC-SHA-256): authenticates each bundle manifest and the server it names"
  customer_master_key_spec = "HMAC_256"
  key_usage                = "GENERATE_VERIFY_MAC"
  deletion_window_in_days  = 30
  policy                   = data.aws_iam_policy_document.manifest_mac_key.json
}

resource "aws_kms_alias" "manifest_mac" {
  name          = "alias/gaib-manifest-mac"
  target_key_id = aws_kms_key.manifest_mac.key_id
}

data "aws_iam_policy_document" "manifest_mac_key" {
  #checkov:skip=CKV_AWS_111:KMS key policy: Resource "*" means this key only, and the unconditioned statement grants the account administrative actions (no GenerateMac/VerifyMac) so the key cannot be orphaned
  #checkov:skip=CKV_AWS_356:KMS key policy: a key policy's Resource must be "*" (this key); the MAC statement is limited by principal and kms:MacAlgorithm
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
    sid       = "ServerSessionsAndOperatorsMac"
    actions   = ["kms:GenerateMac", "kms:VerifyMac"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.server_task.arn, aws_iam_role.operator.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:MacAlgorithm"
      values   = ["HMAC_SHA_256"]
    }
  }
}
