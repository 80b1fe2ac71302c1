from __future__ import annotations

import pytest

from gaib.config.permissions import (
    ALL_KNOWN,
    PERMISSIONS,
    format_permissions,
    parse_permissions,
    permission_names,
)
from gaib.errors import ConfigError


def test_table_matches_discord_bits() -> None:
    assert len(PERMISSIONS) == 52
    assert ALL_KNOWN == 8866461766385663
    assert PERMISSIONS["ADMINISTRATOR"] == 8
    assert PERMISSIONS["VIEW_CHANNEL"] == 1024
    assert PERMISSIONS["SEND_POLLS"] == 1 << 49
    assert PERMISSIONS["BYPASS_SLOWMODE"] == 1 << 52
    assert all(v != 1 << 47 for v in PERMISSIONS.values())


def test_names_to_int_and_back() -> None:
    value = parse_permissions(["VIEW_CHANNEL", "SEND_MESSAGES", "ADMINISTRATOR"])
    assert value == 1024 | 2048 | 8
    assert permission_names(value) == (["ADMINISTRATOR", "VIEW_CHANNEL", "SEND_MESSAGES"], 0)


@pytest.mark.parametrize("given", [3072, "3072", ["VIEW_CHANNEL", "SEND_MESSAGES"], ["VIEW_CHANNEL", 2048]])
def test_int_decimal_string_and_list_forms_agree(given: object) -> None:
    assert parse_permissions(given) == 3072


def test_unknown_bits_round_trip() -> None:
    value = (1 << 47) | (1 << 60) | PERMISSIONS["SPEAK"]
    out = format_permissions(value)
    assert out == ["SPEAK", (1 << 47) | (1 << 60)]
    assert parse_permissions(out) == value
    assert parse_permissions(str(value)) == value


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_permissions(["VIEW_CHANELS"])
    assert "did you mean 'VIEW_CHANNEL'" in exc.value.message
    assert exc.value.exit_code == 2
    assert exc.value.details == {"index": 0}


def test_lower_case_name_is_rejected_with_the_right_spelling() -> None:
    with pytest.raises(ConfigError, match="did you mean 'SEND_MESSAGES'"):
        parse_permissions(["send_messages"])


@pytest.mark.parametrize("bad", [-1, True, 1.5, [["VIEW_CHANNEL"]], [None], {"a": 1}, 1 << 200, "1" * 41])
def test_malformed_values_are_errors(bad: object) -> None:
    with pytest.raises(ConfigError):
        parse_permissions(bad)


def test_empty_forms_mean_no_permissions() -> None:
    assert parse_permissions([]) == 0
    assert parse_permissions(None) == 0
    assert format_permissions(0) == []
