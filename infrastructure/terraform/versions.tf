# Terraform and provider requirements for the Gaib backup stack.
#
# The primary provider manages everything in var.aws_region; the aliased "replica" provider manages the
# cross-region replica bucket and its KMS key (us-west-2 by default).

terraform {
  required_version = ">= 1.5.0"

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
