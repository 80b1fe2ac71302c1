# The Gaib container image the ECS task definitions run (infrastructure/terraform, docs/deploy.md).
#
#   base     python:3.11-slim-bookworm pinned by digest (Python 3.11: the interpreter the locks are compiled
#            for, see the header of requirements/runtime.txt). To move to a newer base, look its digest up
#            (`docker buildx imagetools inspect python:3.11-slim-bookworm`) and replace the one below.
#   build    a virtualenv at /opt/gaib with every dependency from requirements/runtime.txt, each file checked
#            against the lock's hashes, then gaib's own wheel built from the source with the locked
#            setuptools (no build-isolation download) and installed without dependencies.
#   runtime  the base again, with /opt/gaib copied in and setuptools, pip and wheel removed: no compiler
#            (the slim base has none), no package manager, no pip or apt cache.
#
# Runs as uid/gid 1000 (the task definitions' `user`), with no ENTRYPOINT: a task's command starts with
# `gaib`, which is on the PATH. The root file system may be read-only (the task definitions set
# readonlyRootFilesystem): Gaib writes only under /tmp, the declared volume the task definitions mount their
# scratch volume on, which is also the working folder (a relative .gaib lands there) and HOME.
# tests/infra/test_image.py holds CMD, USER, WORKDIR and the volume equal to the task definitions.
# Build: scripts/release.sh (tags with the git commit, pushes to ECR, prints the digest).

FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91 AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

FROM base AS build
WORKDIR /src
COPY requirements/runtime.txt requirements/runtime.txt
RUN python -m venv /opt/gaib \
    && /opt/gaib/bin/pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/gaib/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/gaib/bin/pip install --no-cache-dir --no-deps --no-index /wheels/gaib-*.whl \
    && /opt/gaib/bin/pip uninstall --yes setuptools pip \
    && /opt/gaib/bin/gaib --version

FROM base AS runtime
LABEL org.opencontainers.image.title="gaib" \
      org.opencontainers.image.description="Discord servers as code: scheduled backups, snapshots and restores on AWS" \
      org.opencontainers.image.licenses="MIT"
# The interpreter's own pip, setuptools and wheel go too: nothing installs anything at run time.
RUN python -m pip uninstall --no-cache-dir --yes pip setuptools wheel \
    && groupadd --gid 1000 gaib \
    && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin gaib
COPY --from=build /opt/gaib /opt/gaib
ENV PATH=/opt/gaib/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp
VOLUME ["/tmp"]
WORKDIR /tmp
USER 1000:1000
# A scheduled task runs once and exits; ECS judges it by its exit code, so there is nothing to probe.
HEALTHCHECK NONE
CMD ["gaib", "--help"]
