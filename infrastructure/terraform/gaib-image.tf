# The container image the scheduled and on-demand tasks run: its ECR repository (immutable tags, scan on push,
# encrypted with the backup key, the last var.ecr_keep_images images kept) and the image reference the task
# definitions use. docs/deploy.md: scripts/release.sh builds the root Dockerfile from the lock, pushes it tagged
# with the git commit and writes the pushed digest to release.auto.tfvars.json beside this file, which
# Terraform reads as var.container_image: the reference comes from the build, nobody types it.

locals {
  ecr_repository_name = "gaib"

  # Where scripts/release.sh writes the image it pushed (git-ignored; one per operator checkout).
  release_tfvars_file = "release.auto.tfvars.json"
}

resource "aws_ecr_repository" "gaib" {
  name = local.ecr_repository_name
  # A tag (the git commit) names one image for good: a rollback to a tag gets the image that was tested.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = false

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.backups.arn
  }
}

# Untagged images (a push interrupted between layers and tag) go after a day; of the tagged ones the newest
# var.ecr_keep_images stay, so a rollback can go back that many releases. The image the task definitions
# name must stay among them: release more than ecr_keep_images times without deploying and it expires.
resource "aws_ecr_lifecycle_policy" "gaib" {
  repository = aws_ecr_repository.gaib.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after 1 day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last ${var.ecr_keep_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}
