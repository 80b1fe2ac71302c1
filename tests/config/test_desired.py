from __future__ import annotations

from collections.abc import Callable

import pytest

from gaib.config.desired import DesiredChannel, DesiredOverwrite, DesiredServer, from_desired, to_desired
from gaib.discord.models import ChannelType
from gaib.errors import ConfigError
from gaib.themes.effective import LoadedConfig


def test_to_desired_flattens(load: Callable[..., LoadedConfig]) -> None:
    loaded = load('version: "1.0"\nserver: {name: Dune}\nroles:\n  - {name: Mod, color: "#010203", '
                  'permissions: [VIEW_CHANNEL], hoist: true}\ncategories:\n  - name: C\n    permissions:\n'
                  '      "@everyone": {deny: [VIEW_CHANNEL]}\n      Mod: {allow: [VIEW_CHANNEL]}\n'
                  'channels:\n  - {name: news, type: announcement, category: C, slowmode: 7}\n')
    d = to_desired(loaded.config)
    assert d.name == "Dune"
    assert d.roles[0].color == 0x010203 and d.roles[0].permissions == 1024 and d.roles[0].hoist
    assert d.categories[0].overwrites == (DesiredOverwrite("@everyone", 0, 1024), DesiredOverwrite("Mod", 1024, 0))
    assert d.channels[0] == DesiredChannel("news", ChannelType.ANNOUNCEMENT, "C", None, False, 7, None, None, None, ())


def test_to_desired_refuses_an_unmerged_config(load: Callable[..., LoadedConfig]) -> None:
    loaded = load('version: "1.0"\ntheme: basic\n')
    assert len(to_desired(loaded.config).channels) == 5
    with pytest.raises(ConfigError):
        to_desired(loaded.source)


def test_from_desired_rejects_what_a_config_cannot_hold() -> None:
    with pytest.raises(ConfigError, match="cannot be written"):
        from_desired(DesiredServer("xy", channels=(DesiredChannel("c", ChannelType.CATEGORY),)))
    with pytest.raises(ConfigError, match="two overwrites"):
        from_desired(DesiredServer("xy", channels=(DesiredChannel("c", overwrites=(
            DesiredOverwrite("A", 1), DesiredOverwrite("A", 2))),)))
    with pytest.raises(ConfigError, match="slowmode"):
        from_desired(DesiredServer("xy", channels=(DesiredChannel("c", slowmode=999999),)))
