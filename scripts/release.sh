#!/usr/bin/env bash
# Builds the Gaib container image from the committed tree (root Dockerfile, dependencies from
# requirements/runtime.txt with their hashes), tags it with the git commit, pushes it to the stack's ECR
# repository and prints its digest (the only line on stdout; progress goes to stderr). It then writes
# infrastructure/terraform/release.auto.tfvars.json ({"container_image": "<repository>@sha256:<digest>"}),
# which Terraform reads, so the next `terraform apply` deploys exactly that image. Refuses a tree with uncommitted changes: the image is the
# commit its tag names. docs/deploy.md walks through a first deployment, an upgrade and a rollback.
#
# Usage: scripts/release.sh            build, tag, push the current commit (a commit already pushed is
#                                      not built again: its tag is immutable; its digest is reused)
#        scripts/release.sh --use TAG  no build: point release.auto.tfvars.json at an image already in the
#                                      repository (a rollback: TAG is the git commit of an earlier release)
#        scripts/release.sh --list     the images in the repository, newest first, and the one deployed here
# Needs git, docker (with a running engine) and the AWS CLI v2 with credentials for the stack's account.
# Env: GAIB_ECR_REPOSITORY  the repository URL (default: `terraform output -raw ecr_repository_url` in
#                           infrastructure/terraform), e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/gaib
#      GAIB_PLATFORM        the image platform (default linux/amd64, the task definitions' X86_64)
set -euo pipefail
cd "$(dirname "$0")/.."
tfdir=infrastructure/terraform
tfvars="$tfdir/release.auto.tfvars.json"

die() { echo "release.sh: $*" >&2; exit 1; }

mode=build tag=""
case "${1:-}" in
  "") ;;
  --use) [ -n "${2:-}" ] || die "--use needs a tag (the git commit of an earlier release; see --list)"; mode=use tag="$2" ;;
  --list) mode=list ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

if [ "$mode" = build ]; then
  # Untracked files count too (git-ignored ones, such as .venv and release.auto.tfvars.json, do not): the
  # build context is the commit itself (git archive), so anything not committed would silently be left out.
  if [ -n "$(git status --porcelain --untracked-files=normal)" ]; then
    git status --short >&2
    die "the working tree has uncommitted changes; commit or stash them first (the image is tagged with the commit)"
  fi
  tag="$(git rev-parse --verify HEAD)"
fi

repo="${GAIB_ECR_REPOSITORY:-}"
if [ -z "$repo" ]; then
  repo="$(terraform -chdir="$tfdir" output -raw ecr_repository_url 2>/dev/null)" \
    || die "no ECR repository: set GAIB_ECR_REPOSITORY or apply the Terraform first (docs/deploy.md)"
fi
[[ "$repo" =~ ^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9][a-z0-9._/-]*)$ ]] \
  || die "'$repo' is not an ECR repository URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)"
registry="${repo%%/*}" region="${BASH_REMATCH[2]}" name="${BASH_REMATCH[3]}"
ecr() { aws ecr "$@" --region "$region" --repository-name "$name"; }

deployed() { [ -f "$tfvars" ] && sed -n 's/.*"container_image": *"\([^"]*\)".*/\1/p' "$tfvars" || true; }

if [ "$mode" = list ]; then
  echo "deployed here ($tfvars): $(deployed)"
  ecr describe-images --output text \
    --query 'reverse(sort_by(imageDetails, &imagePushedAt))[].[imagePushedAt, join(`,`, imageTags || `[]`), imageDigest]'
  exit 0
fi

digest_of() {  # digest_of TAG: the pushed image's digest, empty when the tag is not in the repository
  ecr describe-images --image-ids "imageTag=$1" --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true
}

digest="$(digest_of "$tag")"
if [ "$mode" = use ]; then
  [[ "$digest" == sha256:* ]] || die "no image tagged '$tag' in $repo (scripts/release.sh --list shows them)"
elif [[ "$digest" == sha256:* ]]; then
  echo "release.sh: $repo:$tag is already pushed (tags are immutable); not building it again" >&2
else
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry" >&2
  # The context is the commit, not the working folder: exactly what the tag names, lock included.
  git archive --format=tar "$tag" | docker build --platform "${GAIB_PLATFORM:-linux/amd64}" \
    --label "org.opencontainers.image.revision=$tag" --tag "$repo:$tag" - >&2
  docker push "$repo:$tag" >&2
  digest="$(digest_of "$tag")"
  [[ "$digest" == sha256:* ]] || die "pushed $repo:$tag but ECR reports no digest for it"
fi

previous="$(deployed)"
image="$repo@$digest"
printf '{\n  "container_image": "%s"\n}\n' "$image" > "$tfvars"
{
  echo "release.sh: image $repo:$tag"
  echo "release.sh: wrote $tfvars: $image (was: ${previous:-nothing})"
  echo "release.sh: deploy it with: terraform -chdir=$tfdir apply"
} >&2
echo "$digest"  # the only line on stdout
