"""The identity port's contract (gaib.secrets.identity), kept by both adapters: STS on moto and the local
self-declared actor; and the secret source's ``bound_server`` on Secrets Manager (moto) and local variables."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import boto3
import pytest

from gaib.errors import InvalidName, SecretUnavailable, StorageError
from gaib.secrets.aws import SecretsManagerSource
from gaib.secrets.env import EnvSecretSource
from gaib.secrets.identity import Caller, Identity, is_session_of
from gaib.secrets.local_identity import LocalIdentity
from gaib.secrets.sts import StsIdentity

ROLE = "arn:aws:iam::123456789012:role/ops/gaib-operator"


def _local() -> Identity:
    return LocalIdentity("ops@example")


def _sts() -> Identity:
    return StsIdentity(region="us-east-1", endpoint_url=boto3.client("sts").meta.endpoint_url)


@pytest.fixture(params=["local", pytest.param("sts", marks=pytest.mark.aws)])
def identity(request: pytest.FixtureRequest) -> Callable[[], Identity]:
    if request.param == "sts":
        request.getfixturevalue("aws_env")
        return _sts
    return _local


def test_the_caller_is_named_and_asked_once(identity: Callable[[], Identity]) -> None:
    source = identity()
    first = source.caller()
    assert isinstance(first, Caller) and first.name
    assert source.caller() is first  # cached for the run
    if first.verified:
        assert first.arn == first.name and first.arn.startswith("arn:aws:")
    else:
        assert first.arn is None and first.name == "ops@example"


def test_the_local_caller_defaults_to_user_at_host_and_is_never_verified() -> None:
    caller = LocalIdentity(None).caller()
    assert "@" in caller.name and not caller.verified and not is_session_of(caller, ROLE)


@pytest.mark.aws
def test_sts_names_an_assumed_role_session_and_tells_the_operator(aws_env: dict[str, str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    creds = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="alice")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])

    caller = _sts().caller()

    assert caller.arn == "arn:aws:sts::123456789012:assumed-role/gaib-operator/alice"
    assert is_session_of(caller, ROLE) and is_session_of(caller, "arn:aws:iam::123456789012:role/gaib-operator")
    assert not is_session_of(caller, "arn:aws:iam::123456789012:role/gaib-server-task")
    assert not is_session_of(caller, "arn:aws:iam::999999999999:role/gaib-operator")  # another account
    assert not is_session_of(caller, None)


@pytest.mark.aws
def test_sts_unreachable_is_a_storage_error() -> None:
    with pytest.raises(StorageError) as info:
        StsIdentity(region="us-east-1", endpoint_url="http://127.0.0.1:9").caller()
    assert "STS" in info.value.message


@pytest.mark.parametrize("arn", ["arn:aws:iam::123456789012:user/gaib-operator",
                                 "arn:aws:sts::123456789012:assumed-role/gaib-operator-2/x",
                                 "arn:aws:sts::123456789012:federated-user/gaib-operator", "gaib-operator"])
def test_only_a_session_of_the_role_itself_is_the_operator(arn: str) -> None:
    assert not is_session_of(Caller(name=arn, arn=arn), ROLE)


@pytest.mark.aws
def test_secrets_manager_tells_the_server_a_secret_is_bound_to(aws_env: dict[str, str], moto_endpoint: str) -> None:
    client = boto3.client("secretsmanager")
    tagged = client.create_secret(Name=f"gaib/t-{uuid.uuid4().hex[:8]}", SecretString="x" * 30,
                                  Tags=[{"Key": "Team", "Value": "a"}, {"Key": "ServerId", "Value": "42"}])["ARN"]
    untagged = client.create_secret(Name=f"gaib/u-{uuid.uuid4().hex[:8]}", SecretString="x" * 30)["ARN"]
    source = SecretsManagerSource(region="us-east-1", endpoint_url=moto_endpoint)

    assert source.binds_servers is True
    assert (source.bound_server(tagged), source.bound_server(untagged)) == ("42", None)
    with pytest.raises(SecretUnavailable):
        source.bound_server("gaib/no-such-secret")
    with pytest.raises(InvalidName):
        source.bound_server("a b")


def test_local_variables_are_bound_to_no_server() -> None:
    source = EnvSecretSource({"GAIB_SECRET_X": "token-value-000000000000"})
    assert source.binds_servers is False and source.bound_server("x") is None
    with pytest.raises(InvalidName):
        source.bound_server("a b")
