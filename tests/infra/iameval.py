"""An IAM policy evaluator for the tests, and the renderer that turns the Terraform's ``aws_iam_policy_document``
data sources into the JSON policies AWS would receive.

Why our own (docs/infrastructure.md, "Roles", has the long form): no package on PyPI both evaluates a request
against policies with condition operators and substitutes policy variables in condition values.
principalmapper 1.1.5 (last release January 2022, AGPL) substitutes ``${...}`` in resources only, so
``secretsmanager:ResourceTag/ServerId = ${aws:PrincipalTag/ServerId}`` is compared literally, and matches
ARNs case-insensitively; iamprover widens every variable to ``*`` (it can only ever find an ABAC policy
open); iam-ape and policy-sentry expand permissions without evaluating requests; moto's enforcement ignores
most conditions. This module implements the documented evaluation logic for what the stack uses, and
``test_iameval.py`` holds it to the examples of the IAM User Guide, operator by operator.

Evaluation (one account; the User Guide's "policy evaluation logic"):

* an explicit ``Deny`` in any policy that applies wins;
* otherwise S3, SNS and Secrets Manager allow when an identity policy **or** the resource policy allows the
  principal; KMS and ``sts:AssumeRole``/``TagSession`` only when the key or trust policy allows the principal
  itself, or names the account (``:root``) and an identity policy allows too;
* otherwise the request is denied (implicitly).

Matching: actions case-insensitively with ``*``/``?``; resources and ``*Like`` values case-sensitively with
``*``/``?``; policy variables ``${key}`` take the request's value of ``key`` (literally: a ``*`` in a tag
value is not a wildcard), ``${*}``, ``${?}`` and ``${$}`` are those characters, and an element whose variable
has no value matches nothing. Condition operators: ``String*``, ``Arn*``, ``Bool``, ``Null``, each with
``IfExists``, and the ``ForAllValues:``/``ForAnyValue:`` set operators; values of one key are OR-ed, keys and
operators AND-ed. A missing key fails a positive operator and satisfies a negated one (``StringNotEquals``...)
and any ``IfExists``; ``ForAllValues`` holds for a missing or empty key, ``ForAnyValue`` does not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.support.terraform import Stack

Context = Mapping[str, str | Sequence[str]]
Decision = Literal["allow", "explicit-deny", "implicit-deny"]

# --- matching -----------------------------------------------------------------------------------------

_SPECIALS = {"*": "*", "?": "?", "$": "$"}
_VARIABLE = re.compile(r"\$\{([^{}]+)\}")


class _Unresolved(Exception):
    """A policy variable without a value in the request: the element matches nothing."""


def _context_value(context: Context, key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():
            return [value] if isinstance(value, str) else list(value)
    return None


def _pattern(text: str, context: Context, *, wildcards: bool) -> str:
    """A regular expression for a policy element: variables substituted (literally), ``*``/``?`` as
    wildcards when ``wildcards``."""
    out: list[str] = []
    pos = 0
    for match in _VARIABLE.finditer(text):
        out.append(_glob(text[pos:match.start()], wildcards))
        key = match.group(1)
        if key in _SPECIALS:
            out.append(re.escape(_SPECIALS[key]))
        else:
            values = _context_value(context, key)
            if not values or len(values) != 1:
                raise _Unresolved(key)
            out.append(re.escape(values[0]))
        pos = match.end()
    out.append(_glob(text[pos:], wildcards))
    return "".join(out)


def _glob(text: str, wildcards: bool) -> str:
    if not wildcards:
        return re.escape(text)
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)


def _matches(element: str, value: str, context: Context, *, wildcards: bool = True, ignore_case: bool = False) -> bool:
    try:
        pattern = _pattern(element, context, wildcards=wildcards)
    except _Unresolved:
        return False
    return re.fullmatch(pattern, value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def _listed(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# --- conditions ---------------------------------------------------------------------------------------

_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
_POSITIVE_OF = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
                "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}
_KNOWN = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "Null", *_NEGATED}


def _one_matches(operator: str, wanted: list[str], actual: str, context: Context) -> bool:
    """Does ``actual`` match any of the policy's ``wanted`` values under the positive ``operator``?"""
    for value in wanted:
        if operator == "StringEquals" and _matches(value, actual, context, wildcards=False):
            return True
        if operator == "StringEqualsIgnoreCase" and _matches(value, actual, context, wildcards=False,
                                                             ignore_case=True):
            return True
        if operator in {"StringLike", "ArnLike", "ArnEquals"} and _matches(value, actual, context):
            return True
        if operator == "Bool" and value.lower() == actual.lower():
            return True
    return False


def condition_holds(operator: str, key: str, wanted: Sequence[str], context: Context) -> bool:
    """One ``"Operator": {"key": [values]}`` entry against the request's context."""
    qualifier = ""
    if ":" in operator and operator.split(":", 1)[0] in {"ForAllValues", "ForAnyValue"}:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in _KNOWN:
        raise ValueError(f"condition operator {operator!r} is not modelled")
    actual = _context_value(context, key)
    values = list(wanted)
    if base == "Null":
        absent = actual is None or actual == []
        return any((v.lower() == "true") == absent for v in values)
    negated = base in _NEGATED
    positive = _POSITIVE_OF.get(base, base)
    if qualifier == "ForAllValues":
        if not actual:
            return True
        return all(_one_matches(positive, values, a, context) != negated for a in actual)
    if qualifier == "ForAnyValue":
        if not actual:
            return False
        return any(_one_matches(positive, values, a, context) != negated for a in actual)
    if actual is None:
        return if_exists or negated
    hit = any(_one_matches(positive, values, a, context) for a in actual)
    return not hit if negated else hit


# --- statements and policies --------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One API request: who (a role's ARN), what, on which resource, with which condition keys."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def full_context(self) -> dict[str, str | Sequence[str]]:
        return {"aws:PrincipalArn": self.principal, "aws:SecureTransport": "true", **self.context}


def _statement_applies(st: Mapping[str, Any], request: Request, context: Context, *,
                       resource_policy: bool) -> bool:
    if resource_policy and not _principal_named(st, request.principal, context):
        return False
    if "Action" in st and not any(_matches(a, request.action, {}, ignore_case=True) for a in _listed(st["Action"])):
        return False
    if "NotAction" in st and any(_matches(a, request.action, {}, ignore_case=True) for a in _listed(st["NotAction"])):
        return False
    if "Resource" in st and not any(_matches(r, request.resource, context) for r in _listed(st["Resource"])):
        return False
    if "NotResource" in st and any(_matches(r, request.resource, context) for r in _listed(st["NotResource"])):
        return False
    for operator, keys in st.get("Condition", {}).items():
        for key, wanted in keys.items():
            if not condition_holds(operator, key, _listed(wanted), context):
                return False
    return True


def _principal_named(st: Mapping[str, Any], principal: str, context: Context) -> bool:
    named = st.get("Principal")
    if named == "*":
        return True
    if not isinstance(named, Mapping):
        return False
    return any(arn in {"*", principal} or _is_root_of(arn, principal) for arn in _listed(named.get("AWS")))


def _is_root_of(root: str, principal: str) -> bool:
    match = re.fullmatch(r"arn:([^:]+):iam::(\d{12}):root", root)
    return bool(match) and f":{match.group(2)}:" in principal


def _allows_directly(policy: Mapping[str, Any], request: Request, context: Context) -> tuple[bool, bool]:
    """(the resource policy allows the principal by its own ARN, it allows the principal's account)."""
    direct = account = False
    for st in _listed_statements(policy):
        if st.get("Effect") != "Allow" or not _statement_applies(st, request, context, resource_policy=True):
            continue
        arns = _listed((st.get("Principal") or {}).get("AWS")) if isinstance(st.get("Principal"), Mapping) else ["*"]
        if any(_is_root_of(a, request.principal) for a in arns) and request.principal not in arns:
            account = True
        else:
            direct = True
    return direct, account


def _listed_statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def evaluate(request: Request, identity: Sequence[Mapping[str, Any]],
             resource_policy: Mapping[str, Any] | None = None) -> Decision:
    """The decision for ``request`` made by a principal with the ``identity`` policies, on a resource with
    ``resource_policy`` (a bucket, topic, key or trust policy; None for none)."""
    context = request.full_context()
    policies = [(p, False) for p in identity] + ([(resource_policy, True)] if resource_policy else [])
    for policy, is_resource in policies:
        for st in _listed_statements(policy):
            if st.get("Effect") == "Deny" and _statement_applies(st, request, context, resource_policy=is_resource):
                return "explicit-deny"
    identity_allows = any(st.get("Effect") == "Allow"
                          and _statement_applies(st, request, context, resource_policy=False)
                          for p in identity for st in _listed_statements(p))
    direct, account = _allows_directly(resource_policy, request, context) if resource_policy else (False, False)
    service = request.action.split(":", 1)[0].lower()
    # KMS and STS need the key or trust policy; elsewhere, in one account, either policy suffices.
    allowed = direct or (account and identity_allows) if service in {"kms", "sts"} else direct or identity_allows
    return "allow" if allowed else "implicit-deny"


# --- Terraform → JSON policies ------------------------------------------------------------------------

_REF = re.compile(r"\$\$\{|\$\{([^{}]*)\}")


@dataclass
class Renderer:
    """Renders the stack's policy documents as AWS would receive them, for one account and region.

    References are resolved from the stack itself (locals, resource names) and from ``values`` (variables and
    anything computed, such as ``local.operator_principal_arns``); an unknown reference raises KeyError, so a
    policy cannot silently render to something the tests do not see."""

    stack: Stack
    values: dict[str, Any]
    account: str = "123456789012"
    region: str = "eu-west-1"

    def _resource_attr(self, rtype: str, name: str, attr: str) -> Any:
        res = self.stack.resource(rtype, name)
        if attr == "arn":
            if rtype == "aws_s3_bucket":
                return f"arn:aws:s3:::{self.text(res['bucket'])}"
            if rtype == "aws_dynamodb_table":
                return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{self.text(res['name'])}"
            if rtype == "aws_iam_role":
                return f"arn:aws:iam::{self.account}:role/{self.text(res['name'])}"
            if rtype == "aws_sns_topic":
                return f"arn:aws:sns:{self.region}:{self.account}:{self.text(res['name'])}"
            if rtype == "aws_kms_key":
                return f"arn:aws:kms:{self.region}:{self.account}:key/{self.key_id(name)}"
        if rtype == "aws_kms_key" and attr == "key_id":
            return self.key_id(name)
        raise KeyError(f"{rtype}.{name}.{attr}")

    @staticmethod
    def key_id(name: str) -> str:
        return f"00000000-0000-4000-8000-{sum(map(ord, name)):012d}"

    def lookup(self, expr: str) -> Any:
        expr = expr.strip()
        if expr in self.values:
            return self.values[expr]
        parts = expr.split(".")
        if parts[0] == "local" and len(parts) == 2:
            return self.value(self.stack.locals[parts[1]])
        if parts[0] == "var" and len(parts) == 2:
            if parts[1] == "account_id":
                return self.account
            if parts[1] == "aws_region":
                return self.region
        if parts[0] == "data" and parts[1:3] == ["aws_partition", "current"]:
            return "aws"
        if len(parts) == 3 and parts[0].startswith("aws_"):
            return self._resource_attr(parts[0], parts[1], parts[2])
        raise KeyError(expr)

    def text(self, raw: str) -> str:
        """A string with its references resolved (each must resolve to a string) and ``$${`` unescaped."""
        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            found = self.lookup(match.group(1))
            if not isinstance(found, str):
                raise KeyError(f"{match.group(1)} is not a string inside {raw!r}")
            return found
        return _REF.sub(sub, raw)

    def value(self, raw: Any) -> Any:
        if isinstance(raw, list):
            out: list[Any] = []
            for item in raw:
                got = self.value(item)
                out.extend(got if isinstance(got, list) and isinstance(item, str) and _whole_ref(item) else [got])
            return out
        if isinstance(raw, str):
            whole = _whole_ref(raw)
            if whole is not None:
                return self.lookup(whole)
            return self.text(raw)
        return raw

    def strings(self, raw: Any) -> list[str]:
        got = self.value(raw)
        got = got if isinstance(got, list) else [got]
        assert all(isinstance(g, str) for g in got), got
        return list(got)

    def policy(self, name: str, dynamic: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON policy of ``aws_iam_policy_document.<name>``: its static statements, and the dynamic ones
        (they exist only for optional variables; :meth:`dynamic_sids` lists them) whose sid ``dynamic`` maps to
        the value their ``for_each`` would give (``statement.value``)."""
        doc = self.stack.policy(name)
        assert "source_policy_documents" not in doc, f"{name}: source documents are not rendered"
        statements = [self.statement(st) for st in doc.get("statement", [])]
        for dyn in doc.get("dynamic", []):
            for body in dyn.values():
                content = body["content"][0]
                if dynamic and content["sid"] in dynamic:
                    scoped = Renderer(self.stack, {**self.values, "statement.value": dynamic[content["sid"]]},
                                      self.account, self.region)
                    statements.append(scoped.statement(content))
        return {"Version": "2012-10-17", "Statement": statements}

    def dynamic_sids(self, name: str) -> list[str]:
        return [body["content"][0]["sid"] for dyn in self.stack.policy(name).get("dynamic", [])
                for body in dyn.values()]

    def statement(self, st: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"Sid": st.get("sid", ""), "Effect": st.get("effect", "Allow")}
        for hcl, key in (("actions", "Action"), ("not_actions", "NotAction"),
                         ("resources", "Resource"), ("not_resources", "NotResource")):
            if hcl in st:
                out[key] = self.strings(st[hcl])
        for principal in st.get("principals", []):
            if principal["type"] == "*":  # the data source writes type "*" as "Principal": "*"
                assert self.strings(principal["identifiers"]) == ["*"], st
                out["Principal"] = "*"
                continue
            out.setdefault("Principal", {}).setdefault(principal["type"], []).extend(
                self.strings(principal["identifiers"]))
        for cond in st.get("condition", []):
            variable = self.text(cond["variable"])
            block = out.setdefault("Condition", {}).setdefault(cond["test"], {})
            assert variable not in block, f"{st.get('sid')}: two {cond['test']} conditions on {variable}"
            block[variable] = self.strings(cond["values"])
        json.dumps(out)  # plain JSON, nothing left unresolved
        return out


def _whole_ref(raw: str) -> str | None:
    match = re.fullmatch(r"\$\{([^{}]*)\}", raw)
    return match.group(1) if match else None
