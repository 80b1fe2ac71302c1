# Terraform, backend and provider requirements for the Gaib backup stack.
#
# The primary provider manages everything in var.aws_region; the aliased "replica" provider manages the
# cross-region replica bucket and its KMS key (us-west-2 by default).

terraform {
  required_version = ">= 1.5.0"

  # Terraform's own state lives in S3 with a DynamoDB lock: the stack holds buckets and a table with
  # prevent_destroy, so its state must not live on one laptop. The settings are given at init from a file
  # kept out of git (docs/deploy.md): terraform init -backend-config=backend.hcl
  # Checks without AWS (validate, fmt): terraform init -backend=false
  backend "s3" {}

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.73 added transition_default_minimum_object_size on aws_s3_bucket_lifecycle_configuration.
      version = ">= 5.73.0, < 7.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4.0, < 3.0.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.common_tags
  }
}

provider "aws" {
  alias  = "replica"
  region = var.replica_region

  default_tags {
    tags = local.common_tags
  }
}
