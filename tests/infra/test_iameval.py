"""The test evaluator (tests/infra/iameval.py) against the IAM User Guide's documented behaviour: condition
operators with and without IfExists and set qualifiers, missing keys, policy variables in resources and in
condition values, explicit deny over allow, and who must allow for S3, KMS and sts:AssumeRole. The tenant
table (test_tenant_isolation.py) is only as good as these rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.iameval import Request, condition_holds, evaluate

ROLE = "arn:aws:iam::123456789012:role/worker"
OTHER = "arn:aws:iam::123456789012:role/other"
ROOT = "arn:aws:iam::123456789012:root"


@pytest.mark.parametrize(("operator", "key", "wanted", "context", "expected"), [
    # A missing key fails a positive operator, satisfies a negated one and any ...IfExists.
    ("StringEquals", "k", ["a"], {}, False),
    ("StringNotEquals", "k", ["a"], {}, True),
    ("StringEqualsIfExists", "k", ["a"], {}, True),
    ("StringEqualsIfExists", "k", ["a"], {"k": "b"}, False),
    ("StringNotLike", "k", ["a*"], {}, True),
    # Values of one key are OR-ed; StringEquals is exact and case-sensitive, Like takes * and ?.
    ("StringEquals", "k", ["a", "b"], {"k": "b"}, True),
    ("StringEquals", "k", ["A"], {"k": "a"}, False),
    ("StringEqualsIgnoreCase", "k", ["A"], {"k": "a"}, True),
    ("StringEquals", "k", ["a*"], {"k": "ab"}, False),
    ("StringLike", "k", ["a*"], {"k": "ab"}, True),
    ("StringLike", "k", ["a?c"], {"k": "abc"}, True),
    ("StringLike", "k", ["a?c"], {"k": "abbc"}, False),
    # Condition keys are case-insensitive.
    ("StringEquals", "AWS:PrincipalTag/ServerId", ["1"], {"aws:principaltag/serverid": "1"}, True),
    # Policy variables in condition values take the request's value; without one the value matches nothing.
    ("StringEquals", "r", ["${aws:PrincipalTag/ServerId}"], {"r": "1", "aws:PrincipalTag/ServerId": "1"}, True),
    ("StringEquals", "r", ["${aws:PrincipalTag/ServerId}"], {"r": "2", "aws:PrincipalTag/ServerId": "1"}, False),
    ("StringEquals", "r", ["${aws:PrincipalTag/ServerId}"], {"r": "${aws:PrincipalTag/ServerId}"}, False),
    # A substituted value is literal: a tag of "*" is not a wildcard.
    ("StringLike", "r", ["x/${aws:PrincipalTag/ServerId}"], {"r": "x/123", "aws:PrincipalTag/ServerId": "*"}, False),
    # ${*} is a literal asterisk.
    ("StringLike", "r", ["*${*}*"], {"r": "a*b"}, True),
    ("StringLike", "r", ["*${*}*"], {"r": "ab"}, False),
    # Sets: ForAllValues holds for a missing key and when every value is allowed; ForAnyValue needs one.
    ("ForAllValues:StringEquals", "s", ["a", "b"], {}, True),
    ("ForAllValues:StringEquals", "s", ["a", "b"], {"s": ["a", "b"]}, True),
    ("ForAllValues:StringEquals", "s", ["a", "b"], {"s": ["a", "c"]}, False),
    ("ForAllValues:StringLike", "s", ["SERVER#*"], {"s": ["SERVER#1", "SCHEDULER#free"]}, False),
    ("ForAnyValue:StringEquals", "s", ["a"], {}, False),
    ("ForAnyValue:StringEquals", "s", ["a"], {"s": ["c", "a"]}, True),
    ("ForAnyValue:StringEquals", "s", ["a"], {"s": ["c", "d"]}, False),
    ("ForAnyValue:StringNotEquals", "s", ["a"], {"s": ["a", "d"]}, True),
    # Null: "false" means the key is present; Bool compares the text.
    ("Null", "k", ["false"], {"k": "x"}, True),
    ("Null", "k", ["false"], {}, False),
    ("Null", "k", ["true"], {}, True),
    ("Bool", "aws:SecureTransport", ["false"], {"aws:SecureTransport": "true"}, False),
    ("ArnLike", "a", ["arn:aws:iam::*:role/x"], {"a": "arn:aws:iam::123456789012:role/x"}, True),
    ("ArnNotEquals", "a", ["arn:aws:iam::1:role/x"], {"a": "arn:aws:iam::1:role/y"}, True),
])
def test_condition_operators(operator: str, key: str, wanted: list[str], context: dict[str, Any],
                             expected: bool) -> None:
    assert condition_holds(operator, key, wanted, context) is expected


def test_an_operator_the_evaluator_does_not_model_is_an_error_not_a_silent_pass() -> None:
    with pytest.raises(ValueError, match="not modelled"):
        condition_holds("NumericLessThan", "k", ["1"], {"k": "0"})


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ABAC = policy({"Effect": "Allow", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::b/state/${aws:PrincipalTag/ServerId}/*"})


def test_policy_variables_in_resources_scope_a_session_to_its_tag() -> None:
    own = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/state/1/x", {"aws:PrincipalTag/ServerId": "1"})
    other = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/state/2/x", {"aws:PrincipalTag/ServerId": "1"})
    untagged = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/state/1/x")
    prefix = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/state/12/x", {"aws:PrincipalTag/ServerId": "1"})
    assert evaluate(own, [ABAC]) == "allow"
    assert evaluate(other, [ABAC]) == "implicit-deny"
    assert evaluate(untagged, [ABAC]) == "implicit-deny"
    assert evaluate(prefix, [ABAC]) == "implicit-deny"


def test_actions_match_case_insensitively_resources_case_sensitively() -> None:
    request = Request(ROLE, "S3:getobject", "arn:aws:s3:::b/state/1/x", {"aws:PrincipalTag/ServerId": "1"})
    assert evaluate(request, [ABAC]) == "allow"
    upper = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/STATE/1/x", {"aws:PrincipalTag/ServerId": "1"})
    assert evaluate(upper, [ABAC]) == "implicit-deny"


def test_an_explicit_deny_wins_over_any_allow() -> None:
    deny = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                   "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    request = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/state/1/x", {"aws:PrincipalTag/ServerId": "1"})
    assert evaluate(request, [ABAC], deny) == "allow"
    insecure = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/state/1/x",
                       {"aws:PrincipalTag/ServerId": "1", "aws:SecureTransport": "false"})
    assert evaluate(insecure, [ABAC], deny) == "explicit-deny"


def test_a_resource_policy_alone_allows_s3_but_kms_needs_the_key_policy() -> None:
    bucket = policy({"Effect": "Allow", "Principal": {"AWS": [ROLE]}, "Action": "s3:GetObject",
                     "Resource": "arn:aws:s3:::b/*"})
    assert evaluate(Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/k"), [], bucket) == "allow"
    assert evaluate(Request(OTHER, "s3:GetObject", "arn:aws:s3:::b/k"), [], bucket) == "implicit-deny"
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    identity = policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key})
    admin_only = policy({"Effect": "Allow", "Principal": {"AWS": [ROOT]}, "Action": "kms:DescribeKey", "Resource": "*"})
    delegating = policy({"Effect": "Allow", "Principal": {"AWS": [ROOT]}, "Action": "kms:*", "Resource": "*"})
    assert evaluate(Request(ROLE, "kms:Decrypt", key), [identity], admin_only) == "implicit-deny"
    assert evaluate(Request(ROLE, "kms:Decrypt", key), [identity], delegating) == "allow"
    assert evaluate(Request(ROLE, "kms:Decrypt", key), [], delegating) == "implicit-deny"


def test_dynamodb_leading_keys_with_for_all_values() -> None:
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/t"
    own = policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table, "Condition": {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["SERVER#${aws:PrincipalTag/ServerId}"]}}})
    tag = {"aws:PrincipalTag/ServerId": "1"}
    assert evaluate(Request(ROLE, "dynamodb:GetItem", table, {**tag, "dynamodb:LeadingKeys": ["SERVER#1"]}),
                    [own]) == "allow"
    assert evaluate(Request(ROLE, "dynamodb:GetItem", table, {**tag, "dynamodb:LeadingKeys": ["SERVER#2"]}),
                    [own]) == "implicit-deny"
    assert evaluate(Request(ROLE, "dynamodb:GetItem", table,
                            {**tag, "dynamodb:LeadingKeys": ["SERVER#1", "SERVER#2"]}), [own]) == "implicit-deny"
