"""Issue 24, item 7: the policies of infrastructure/terraform, rendered from the .tf files (not copies) and
evaluated with conditions and policy variables (tests/infra/iameval.py), keep servers apart.

The table: a gaib-server-task session tagged server A asks for server B's objects, catalog items, secrets and
keys (read, write, delete, list, tag) and is refused, while the same request for server A is allowed; then the
single requests that must be refused whoever's server they name (the coordinator reading a bundle, anyone but
gaib-operator changing a tier item or an object's ServerId tag, ...) and the ones each role needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from gaib.storage import keys
from tests.infra.iameval import Decision, Renderer, Request, evaluate
from tests.support.terraform import Stack

A = "111111111111111111"
B = "222222222222222222"
SNAP = "20261125T170312042Z-a1b2c3d4"
SHA = "ab" * 32
ACCOUNT = "123456789012"
REGION = "eu-west-1"
OPERATOR_PERSON = f"arn:aws:iam::{ACCOUNT}:role/ops-alice"
OWNER_A = f"arn:aws:iam::{ACCOUNT}:role/owner-a"


@dataclass(frozen=True)
class World:
    """The stack's policies, rendered once, and the ARNs the requests name."""

    renderer: Renderer
    identity: dict[str, list[dict[str, Any]]]
    resource_policies: dict[str, dict[str, Any]]
    roles: dict[str, str]
    bucket: str
    table: str
    topic: str
    backups_key: str
    mac_key: str

    def obj(self, key: str) -> str:
        return f"{self.bucket}/{key}"

    def secret(self, name: str) -> str:
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"

    def decide(self, who: str, action: str, resource: str, context: Mapping[str, Any]) -> Decision:
        principal = self.roles.get(who, who)
        identity = self.identity.get(who, [OWNER_TOOL_POLICY])
        return evaluate(Request(principal, action, resource, dict(context)), identity, self.resource_policy(resource))

    def resource_policy(self, resource: str) -> dict[str, Any] | None:
        if resource.startswith(self.bucket):
            return self.resource_policies["bucket"]
        if resource == self.topic:
            return self.resource_policies["topic"]
        if resource == self.backups_key:
            return self.resource_policies["backups_key"]
        if resource == self.mac_key:
            return self.resource_policies["mac_key"]
        if resource == self.roles["server"]:
            return self.resource_policies["trust_server_task"]
        return None


# An owner's tool principal: its own account-side policy lets it call STS; the trust policy decides.
OWNER_TOOL_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"}]}


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    r = Renderer(stack, {"local.operator_principal_arns": [OPERATOR_PERSON]}, ACCOUNT, REGION)
    world = World(
        renderer=r,
        identity={"server": [r.policy("server_task")], "coordinator": [r.policy("coordinator")],
                  "operator": [r.policy("operator")]},
        resource_policies={
            "bucket": r.policy("backups_bucket"), "topic": r.policy("backup_notifications_topic"),
            "backups_key": r.policy("backups_key"), "mac_key": r.policy("manifest_mac_key"),
            "trust_server_task": r.policy("trust_server_task",
                                          {"OwnerToolsOpenSessionsForTheirServer": ["arn:aws:iam::*:role/owner-*"]}),
        },
        roles={"server": r.lookup("aws_iam_role.server_task.arn"),
               "coordinator": r.lookup("aws_iam_role.coordinator.arn"),
               "operator": r.lookup("aws_iam_role.operator.arn")},
        bucket=r.lookup("aws_s3_bucket.backups.arn"),
        table=r.lookup("aws_dynamodb_table.backup_metadata.arn"),
        topic=r.lookup("aws_sns_topic.backup_notifications.arn"),
        backups_key=r.lookup("aws_kms_key.backups.arn"),
        mac_key=r.lookup("aws_kms_key.manifest_mac.arn"),
    )
    assert world.roles == {"server": f"arn:aws:iam::{ACCOUNT}:role/gaib-server-task",
                           "coordinator": f"arn:aws:iam::{ACCOUNT}:role/gaib-coordinator",
                           "operator": f"arn:aws:iam::{ACCOUNT}:role/gaib-operator"}
    return world


def session(server: str, **more: Any) -> dict[str, Any]:
    """The condition keys of a request made in a gaib-server-task session tagged ``server``."""
    return {"aws:PrincipalTag/ServerId": server, **more}


def upload(w: World, **tags: str) -> dict[str, Any]:
    """The condition keys of a PutObject as gaib.storage.s3 sends it: the backup key named (the bucket policy
    refuses an upload that names no key or another one) and the object's tags."""
    return {"s3:x-amz-server-side-encryption-aws-kms-key-id": w.backups_key,
            **{f"s3:RequestObjectTag/{k}": v for k, v in tags.items()}}


# --- the cross-tenant table: a session of A on B's things (denied) and on A's own (allowed) ------------

@dataclass(frozen=True)
class Pair:
    """A request of a session tagged A about ``target``'s data: denied for B, allowed for A."""

    what: str
    action: str
    resource: Callable[[World, str], str]
    context: Callable[[World, str], Mapping[str, Any]] = field(default=lambda w, t: {})


def _prefix_reads() -> list[Pair]:
    # Every prefix keys.py files a server's objects under (state/, snapshots/, media/, exports/, themes/,
    # metadata/): a prefix added there and not to the policy fails its own-server row.
    kinds = keys.server_prefixes(A)
    assert set(kinds) == {"backups", "snapshots", "media", "exports", "themes", "metadata"}
    return [Pair(f"read an object under {kind}/", "s3:GetObject",
                 lambda w, t, kind=kind: w.obj(keys.server_prefixes(t)[kind] + "some-object"))
            for kind in sorted(kinds)]


PAIRS: list[Pair] = [
    *_prefix_reads(),
    Pair("read a snapshot's bans (personal data)", "s3:GetObject",
         lambda w, t: w.obj(keys.snapshot_key(t, SNAP, "bans.json.gz"))),
    Pair("read a snapshot's messages", "s3:GetObject",
         lambda w, t: w.obj(keys.snapshot_messages_key(t, SNAP, "333333333333333333"))),
    Pair("read a state backup", "s3:GetObject", lambda w, t: w.obj(keys.backup_key(t, "prod", SNAP))),
    Pair("read the theme audit", "s3:GetObject", lambda w, t: w.obj(keys.theme_audit_key(t, SNAP))),
    Pair("read an old version of a manifest", "s3:GetObjectVersion",
         lambda w, t: w.obj(keys.snapshot_key(t, SNAP, "manifest.json"))),
    Pair("read an object's tags", "s3:GetObjectTagging", lambda w, t: w.obj(keys.media_key(t, SHA))),
    Pair("write a manifest (the forged copy)", "s3:PutObject",
         lambda w, t: w.obj(keys.snapshot_key(t, SNAP, "manifest.json")),
         lambda w, t: upload(w, ServerId=t, Tier="free")),
    Pair("overwrite the backup schedule", "s3:PutObject", lambda w, t: w.obj(keys.schedule_key(t)),
         lambda w, t: upload(w, ServerId=t, Tier="free")),
    Pair("tag an object on upload", "s3:PutObjectTagging",
         lambda w, t: w.obj(keys.snapshot_key(t, SNAP, "state.json.gz")),
         lambda w, t: {"s3:RequestObjectTag/ServerId": t, "s3:RequestObjectTag/Tier": "free"}),
    Pair("delete a snapshot part", "s3:DeleteObject", lambda w, t: w.obj(keys.snapshot_key(t, SNAP, "bans.json.gz"))),
    Pair("delete a state backup", "s3:DeleteObject", lambda w, t: w.obj(keys.backup_key(t, "prod", SNAP))),
    Pair("delete an image", "s3:DeleteObject", lambda w, t: w.obj(keys.media_key(t, SHA))),
    Pair("list the snapshots", "s3:ListBucket", lambda w, t: w.bucket,
         lambda w, t: {"s3:prefix": keys.snapshot_prefix(t)}),
    Pair("list a workspace's backups", "s3:ListBucket", lambda w, t: w.bucket,
         lambda w, t: {"s3:prefix": keys.backups_prefix(t, "prod")}),
    Pair("list old versions", "s3:ListBucketVersions", lambda w, t: w.bucket,
         lambda w, t: {"s3:prefix": keys.snapshot_prefix(t, SNAP)}),
    Pair("read the tier item", "dynamodb:GetItem", lambda w, t: w.table,
         lambda w, t: {"dynamodb:LeadingKeys": [keys.server_pk(t)]}),
    Pair("query the bundle catalog", "dynamodb:Query", lambda w, t: w.table,
         lambda w, t: {"dynamodb:LeadingKeys": [keys.server_pk(t)]}),
    Pair("put a snapshot item", "dynamodb:PutItem", lambda w, t: w.table,
         lambda w, t: {"dynamodb:LeadingKeys": [keys.server_pk(t)],
                       "dynamodb:Attributes": ["PK", "SK", "snapshot_id", "tier", "size"]}),
    Pair("update the schedule item", "dynamodb:UpdateItem", lambda w, t: w.table,
         lambda w, t: {"dynamodb:LeadingKeys": [keys.server_pk(t)], "dynamodb:Attributes": ["last_run"]}),
    Pair("delete a backup item", "dynamodb:DeleteItem", lambda w, t: w.table,
         lambda w, t: {"dynamodb:LeadingKeys": [keys.server_pk(t)]}),
    Pair("prune items in a batch", "dynamodb:BatchWriteItem", lambda w, t: w.table,
         lambda w, t: {"dynamodb:LeadingKeys": [keys.server_pk(t)]}),
    Pair("read the bot-token secret", "secretsmanager:GetSecretValue", lambda w, t: w.secret(f"gaib/bot-{t}"),
         lambda w, t: {"secretsmanager:ResourceTag/ServerId": t}),
    Pair("describe the webhook secret", "secretsmanager:DescribeSecret", lambda w, t: w.secret(f"gaib/hook-{t}"),
         lambda w, t: {"secretsmanager:ResourceTag/ServerId": t}),
]


@pytest.mark.parametrize("pair", PAIRS, ids=[p.what for p in PAIRS])
def test_a_session_of_server_a_is_refused_server_bs_data_and_allowed_its_own(world: World, pair: Pair) -> None:
    theirs = world.decide("server", pair.action, pair.resource(world, B), session(A, **pair.context(world, B)))
    own = world.decide("server", pair.action, pair.resource(world, A), session(A, **pair.context(world, A)))
    assert (theirs, own) == ("implicit-deny", "allow"), pair.what


def test_the_table_is_long_enough() -> None:
    assert len(PAIRS) >= 25
    assert {p.action.split(":")[0] for p in PAIRS} == {"s3", "dynamodb", "secretsmanager"}


# --- requests refused whatever server they name ----------------------------------------------------------

@dataclass(frozen=True)
class Case:
    what: str
    who: str
    action: str
    resource: Callable[[World], str]
    context: Mapping[str, Any] | Callable[[World], Mapping[str, Any]]
    expected: Decision | tuple[Decision, ...]

    def keys(self, w: World) -> Mapping[str, Any]:
        return self.context(w) if callable(self.context) else self.context


def _tier_write(attrs: Sequence[str]) -> dict[str, Any]:
    return {"dynamodb:LeadingKeys": [keys.server_pk(A)], "dynamodb:Attributes": ["PK", "SK", *attrs]}


DENY = ("implicit-deny", "explicit-deny")
TIER_FIELDS = ["tier", "server_tier", "server_id", "set_by", "set_at", "previous_tier"]

REFUSED: list[Case] = [
    # The coordinator schedules; it reads no bundle, no secret, no bundle listing, and changes no tier or tag.
    Case("coordinator reads a bundle's bans", "coordinator", "s3:GetObject",
         lambda w: w.obj(keys.snapshot_key(A, SNAP, "bans.json.gz")), {}, DENY),
    Case("coordinator reads a manifest", "coordinator", "s3:GetObject",
         lambda w: w.obj(keys.snapshot_key(A, SNAP, "manifest.json")), {}, DENY),
    Case("coordinator reads a state backup", "coordinator", "s3:GetObject",
         lambda w: w.obj(keys.backup_key(A, "prod", SNAP)), {}, DENY),
    Case("coordinator lists the bucket", "coordinator", "s3:ListBucket", lambda w: w.bucket,
         {"s3:prefix": keys.snapshot_prefix(A)}, DENY),
    Case("coordinator reads a server's secret", "coordinator", "secretsmanager:GetSecretValue",
         lambda w: w.secret("gaib/bot-a"), {"secretsmanager:ResourceTag/ServerId": A}, DENY),
    Case("coordinator queries a server's bundle catalog", "coordinator", "dynamodb:Query", lambda w: w.table,
         {"dynamodb:LeadingKeys": [keys.server_pk(A)]}, DENY),
    Case("coordinator writes a tier item", "coordinator", "dynamodb:UpdateItem", lambda w: w.table,
         _tier_write(TIER_FIELDS), DENY),
    Case("coordinator re-tags an object", "coordinator", "s3:PutObjectTagging",
         lambda w: w.obj(keys.snapshot_key(A, SNAP, "state.json.gz")),
         {"s3:RequestObjectTag/ServerId": A, "s3:RequestObjectTag/Tier": "premium"}, DENY),
    Case("coordinator decrypts through S3", "coordinator", "kms:Decrypt", lambda w: w.backups_key,
         {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}, DENY),
    Case("coordinator makes a manifest MAC", "coordinator", "kms:GenerateMac", lambda w: w.mac_key,
         {"kms:MacAlgorithm": "HMAC_SHA_256"}, DENY),
    # A server's own session changes no tier and no ServerId tag.
    Case("server session updates its own tier item", "server", "dynamodb:UpdateItem", lambda w: w.table,
         session(A, **_tier_write(["tier", "server_tier", "set_by", "set_at"])), DENY),
    Case("server session updates only its tier field", "server", "dynamodb:UpdateItem", lambda w: w.table,
         session(A, **_tier_write(["tier"])), DENY),
    Case("server session moves itself in the tier-index", "server", "dynamodb:UpdateItem", lambda w: w.table,
         session(A, **_tier_write(["server_tier"])), DENY),
    Case("server session puts its own tier item as if set by someone", "server", "dynamodb:PutItem",
         lambda w: w.table, session(A, **_tier_write(TIER_FIELDS)), DENY),
    Case("server session forges who set a tier in a batch", "server", "dynamodb:BatchWriteItem", lambda w: w.table,
         session(A, **_tier_write(["set_by"])), DENY),
    Case("coordinator moves a server in the tier-index", "coordinator", "dynamodb:UpdateItem", lambda w: w.table,
         _tier_write(["server_tier"]), DENY),
    Case("server session re-tags its object as another server's", "server", "s3:PutObjectTagging",
         lambda w: w.obj(keys.snapshot_key(A, SNAP, "manifest.json")),
         session(A, **{"s3:RequestObjectTag/ServerId": B, "s3:ExistingObjectTag/ServerId": A}), DENY),
    Case("server session drops its object's ServerId tag", "server", "s3:PutObjectTagging",
         lambda w: w.obj(keys.snapshot_key(A, SNAP, "manifest.json")),
         session(A, **{"s3:RequestObjectTag/Tier": "premium", "s3:ExistingObjectTag/ServerId": A}), DENY),
    Case("server session uploads under its prefix labelled as another server", "server", "s3:PutObject",
         lambda w: w.obj(keys.snapshot_key(A, SNAP, "manifest.json")),
         lambda w: session(A, **upload(w, ServerId=B, Tier="free")), DENY),
    Case("server session uploads without naming the backup key", "server", "s3:PutObject",
         lambda w: w.obj(keys.snapshot_key(A, SNAP, "manifest.json")),
         session(A, **{"s3:RequestObjectTag/ServerId": A}), DENY),
    Case("server session changes a secret's ServerId tag", "server", "secretsmanager:TagResource",
         lambda w: w.secret("gaib/bot-a"), session(A, **{"secretsmanager:ResourceTag/ServerId": A,
                                                         "aws:TagKeys": ["ServerId"]}), DENY),
    Case("server session reads an untagged secret", "server", "secretsmanager:GetSecretValue",
         lambda w: w.secret("gaib/operator-bot"), session(A), DENY),
    # Cross-server requests with no single target.
    Case("server session lists every server's snapshots", "server", "s3:ListBucket", lambda w: w.bucket,
         session(A, **{"s3:prefix": "snapshots/"}), DENY),
    Case("server session lists the whole bucket", "server", "s3:ListBucket", lambda w: w.bucket, session(A), DENY),
    Case("server session reads A's and B's items in one batch", "server", "dynamodb:BatchGetItem",
         lambda w: w.table, session(A, **{"dynamodb:LeadingKeys": [keys.server_pk(A), keys.server_pk(B)]}), DENY),
    Case("server session deletes A's and B's items in one batch", "server", "dynamodb:BatchWriteItem",
         lambda w: w.table, session(A, **{"dynamodb:LeadingKeys": [keys.server_pk(A), keys.server_pk(B)]}), DENY),
    Case("server session lists a tier's servers", "server", "dynamodb:Query",
         lambda w: f"{w.table}/index/tier-index", session(A, **{"dynamodb:LeadingKeys": ["premium"]}), DENY),
    Case("server session writes a scheduler block", "server", "dynamodb:PutItem", lambda w: w.table,
         session(A, **{"dynamodb:LeadingKeys": [keys.scheduler_pk("free")]}), DENY),
    Case("server session decrypts with the backup key outside S3/DynamoDB/SNS", "server", "kms:Decrypt",
         lambda w: w.backups_key, session(A), DENY),
    Case("server session re-encrypts elsewhere", "server", "kms:Encrypt", lambda w: w.backups_key,
         session(A, **{"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}), DENY),
    Case("server session deletes its exports (never deleted)", "server", "s3:DeleteObject",
         lambda w: w.obj(keys.export_key(A, SNAP)), session(A), DENY),
    Case("server session reads its own data without TLS", "server", "s3:GetObject",
         lambda w: w.obj(keys.snapshot_key(A, SNAP, "bans.json.gz")),
         session(A, **{"aws:SecureTransport": "false"}), DENY),
    # Opening sessions: a session cannot open another server's session, nor can a wildcard or extra tag.
    Case("server session of A opens a session of B", "server", "sts:AssumeRole", lambda w: w.roles["server"],
         session(A, **{"aws:RequestTag/ServerId": B, "aws:TagKeys": ["ServerId"]}), DENY),
    Case("coordinator opens a session tagged *", "coordinator", "sts:TagSession", lambda w: w.roles["server"],
         {"aws:RequestTag/ServerId": "*", "aws:TagKeys": ["ServerId"]}, DENY),
    Case("coordinator opens a session tagged with a path", "coordinator", "sts:TagSession",
         lambda w: w.roles["server"], {"aws:RequestTag/ServerId": f"{A}/../{B}", "aws:TagKeys": ["ServerId"]}, DENY),
    Case("coordinator opens an untagged session", "coordinator", "sts:AssumeRole", lambda w: w.roles["server"],
         {}, DENY),
    Case("coordinator adds a second session tag", "coordinator", "sts:TagSession", lambda w: w.roles["server"],
         {"aws:RequestTag/ServerId": A, "aws:TagKeys": ["ServerId", "Tier"]}, DENY),
    Case("owner tool of A opens a session of B", OWNER_A, "sts:AssumeRole", lambda w: w.roles["server"],
         {"aws:PrincipalTag/ServerId": A, "aws:RequestTag/ServerId": B, "aws:TagKeys": ["ServerId"]}, DENY),
    Case("someone not listed assumes the operator role", f"arn:aws:iam::{ACCOUNT}:role/owner-a", "sts:AssumeRole",
         lambda w: f"arn:aws:iam::{ACCOUNT}:role/gaib-operator", {}, DENY),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.what for c in REFUSED])
def test_refused_whoever_asks(world: World, case: Case) -> None:
    got = world.decide(case.who, case.action, case.resource(world), case.keys(world))
    assert got in case.expected, f"{case.what}: {got}"


# --- what each role needs (so the table above is not refusing everything) --------------------------------

ALLOWED: list[Case] = [
    Case("coordinator lists a tier's servers", "coordinator", "dynamodb:Query",
         lambda w: f"{w.table}/index/tier-index", {"dynamodb:LeadingKeys": ["premium"]}, "allow"),
    Case("coordinator reads schedules and claims of many servers", "coordinator", "dynamodb:BatchGetItem",
         lambda w: w.table, {"dynamodb:LeadingKeys": [keys.server_pk(A), keys.server_pk(B)]}, "allow"),
    Case("coordinator claims a server for a window", "coordinator", "dynamodb:PutItem", lambda w: w.table,
         {"dynamodb:LeadingKeys": [keys.server_pk(B)],
          "dynamodb:Attributes": ["PK", "SK", "kind", "server_id", "tier", "window", "expires_at"]}, "allow"),
    Case("coordinator takes a block", "coordinator", "dynamodb:PutItem", lambda w: w.table,
         {"dynamodb:LeadingKeys": [keys.scheduler_pk("free")], "dynamodb:Attributes": ["PK", "SK", "kind"]},
         "allow"),
    Case("coordinator reads heartbeats", "coordinator", "dynamodb:Query", lambda w: w.table,
         {"dynamodb:LeadingKeys": [keys.scheduler_pk("premium")]}, "allow"),
    Case("coordinator opens a session of A", "coordinator", "sts:AssumeRole", lambda w: w.roles["server"],
         {"aws:RequestTag/ServerId": A, "aws:TagKeys": ["ServerId"]}, "allow"),
    Case("coordinator tags that session", "coordinator", "sts:TagSession", lambda w: w.roles["server"],
         {"aws:RequestTag/ServerId": A, "aws:TagKeys": ["ServerId"]}, "allow"),
    Case("coordinator publishes a run report", "coordinator", "sns:Publish", lambda w: w.topic, {}, "allow"),
    Case("coordinator encrypts for the topic", "coordinator", "kms:GenerateDataKey", lambda w: w.backups_key,
         {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}, "allow"),
    Case("server session decrypts its objects through S3", "server", "kms:Decrypt", lambda w: w.backups_key,
         session(A, **{"kms:ViaService": f"s3.{REGION}.amazonaws.com"}), "allow"),
    Case("server session seals a manifest", "server", "kms:GenerateMac", lambda w: w.mac_key,
         session(A, **{"kms:MacAlgorithm": "HMAC_SHA_256"}), "allow"),
    Case("server session checks a manifest", "server", "kms:VerifyMac", lambda w: w.mac_key,
         session(A, **{"kms:MacAlgorithm": "HMAC_SHA_256"}), "allow"),
    Case("server session publishes its events", "server", "sns:Publish", lambda w: w.topic, session(A), "allow"),
    # tier_of(register=True): a server's first bundle registers it with a free TIER item (put if absent).
    Case("server session registers its server", "server", "dynamodb:PutItem", lambda w: w.table,
         session(A, **_tier_write(["tier", "server_tier", "server_id"])), "allow"),
    Case("owner tool of A opens a session of A", OWNER_A, "sts:AssumeRole", lambda w: w.roles["server"],
         {"aws:PrincipalTag/ServerId": A, "aws:RequestTag/ServerId": A, "aws:TagKeys": ["ServerId"]}, "allow"),
    Case("operator sets a tier", "operator", "dynamodb:UpdateItem", lambda w: w.table, _tier_write(TIER_FIELDS),
         "allow"),
    Case("operator re-tags a server's objects", "operator", "s3:PutObjectTagging",
         lambda w: w.obj(keys.snapshot_key(B, SNAP, "state.json.gz")),
         {"s3:RequestObjectTag/ServerId": B, "s3:RequestObjectTag/Tier": "premium"}, "allow"),
    Case("operator reads a server's bans without its bot", "operator", "s3:GetObject",
         lambda w: w.obj(keys.snapshot_key(B, SNAP, "bans.json.gz")), {}, "allow"),
    Case("operator binds a secret to its server", "operator", "secretsmanager:TagResource",
         lambda w: w.secret("gaib/bot-b"), {"aws:TagKeys": ["ServerId"]}, "allow"),
    Case("operator re-seals a manifest", "operator", "kms:GenerateMac", lambda w: w.mac_key,
         {"kms:MacAlgorithm": "HMAC_SHA_256"}, "allow"),
    Case("operator opens a session of B", "operator", "sts:AssumeRole", lambda w: w.roles["server"],
         {"aws:RequestTag/ServerId": B, "aws:TagKeys": ["ServerId"]}, "allow"),
    Case("a listed person assumes the operator role", OPERATOR_PERSON, "sts:AssumeRole",
         lambda w: f"arn:aws:iam::{ACCOUNT}:role/gaib-operator", {}, "allow"),
]


@pytest.mark.parametrize("case", ALLOWED, ids=[c.what for c in ALLOWED])
def test_allowed_for_the_role_that_needs_it(world: World, case: Case) -> None:
    resource = case.resource(world)
    if resource == f"arn:aws:iam::{ACCOUNT}:role/gaib-operator":
        got = evaluate(Request(case.who, case.action, resource, dict(case.keys(world))), [OWNER_TOOL_POLICY],
                       world.renderer.policy("trust_operator"))
    else:
        got = world.decide(case.who, case.action, resource, case.keys(world))
    assert got == case.expected, case.what


def test_assuming_the_operator_role_needs_a_listed_principal(world: World) -> None:
    trust = world.renderer.policy("trust_operator")
    role = f"arn:aws:iam::{ACCOUNT}:role/gaib-operator"
    assert evaluate(Request(OWNER_A, "sts:AssumeRole", role), [OWNER_TOOL_POLICY], trust) == "implicit-deny"
    assert evaluate(Request(OPERATOR_PERSON, "sts:AssumeRole", role), [OWNER_TOOL_POLICY], trust) == "allow"
    # The coordinator's and the server sessions' own policies cannot reach it either.
    for who in ("coordinator", "server"):
        assert evaluate(Request(world.roles[who], "sts:AssumeRole", role, session(A)), world.identity[who],
                        trust) == "implicit-deny"


def test_only_optional_statements_are_dynamic(world: World) -> None:
    # The renderer leaves dynamic statements out; only the optional state backend and owner tools are dynamic.
    r = world.renderer
    assert r.dynamic_sids("server_task") == ["ReadStateBackend", "DecryptStateBackend"]
    assert r.dynamic_sids("coordinator") == [] and r.dynamic_sids("operator") == []
    assert r.dynamic_sids("trust_server_task") == ["OwnerToolsOpenSessionsForTheirServer"]


def test_manifest_mac_key_is_an_hmac_key_given_to_the_tasks(stack: Stack) -> None:
    key = stack.resource("aws_kms_key", "manifest_mac")
    assert (key["customer_master_key_spec"], key["key_usage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert key["policy"] == "${data.aws_iam_policy_document.manifest_mac_key.json}"
    assert stack.outputs["manifest_mac_key_id"]["value"] == "${aws_kms_key.manifest_mac.key_id}"
    # The agreed settings (gaib.settings): the tasks get the per-server role, the operator role and the MAC key.
    env = stack.locals["backup_container"]["environment"]  # a concat(...) expression, kept as text
    for name, value in (("GAIB_SERVER_ROLE_ARN", "aws_iam_role.server_task.arn"),
                        ("GAIB_OPERATOR_ROLE_ARN", "aws_iam_role.operator.arn"),
                        ("GAIB_MAC_KEY_ID", "aws_kms_key.manifest_mac.key_id")):
        assert f'{{name = "{name}", value = {value}}}' in env, name
    for task in ("backup", "restore"):
        assert stack.resource("aws_ecs_task_definition", task)["task_role_arn"] == "${aws_iam_role.coordinator.arn}"


def test_what_iam_cannot_tell_apart_in_a_tier_item(world: World) -> None:
    # DynamoDB policies see attribute names, not values or sort keys: the registration put above has the shape
    # of an overwrite claiming premium. Such an item has no set_by (refused to anyone but gaib-operator), which
    # is why a TIER item without set_by must count as the default tier (docs/infrastructure.md, "Threat model").
    overwrite = world.decide("server", "dynamodb:PutItem", world.table,
                             session(A, **_tier_write(["tier", "server_tier", "server_id"])))
    with_author = world.decide("server", "dynamodb:PutItem", world.table,
                               session(A, **_tier_write(["tier", "server_tier", "server_id", "set_by"])))
    assert (overwrite, with_author) == ("allow", "explicit-deny")
