"""compat.md, "Themes": the original's theme folders (manifest fields, split files, variable types,
extends), its search order and its merge rules, each applied through the CLI."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gaib.config.permissions import PERMISSIONS
from tests.compat.originals import cycle, live, ok
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle
from tests.support.themes import write_theme
from tests.support.tiers import on_tier

DESERT = {
    "theme.yaml": """\
        name: desert
        version: 1.2.0
        description: A desert community
        author: Stilgar
        license: MIT
        tags: [dune, community]
        variables:
          community_name:
            type: string
            description: Shown in topics
            default: Sietch Tabr
            pattern: "^[A-Z][A-Za-z ]+$"
          leader_color:
            type: color
            default: "#C8A04A"
          hoist_leaders:
            type: boolean
            default: true
          memes_nsfw:
            type: boolean
            default: false
          chat_slowmode:
            type: number
            default: 5
            min: 0
            max: 21600
          motto:
            type: string
            required: true
        files:
          server: meta.yaml
          roles: people/roles.yaml
          channels: places.yaml
        """,
    "meta.yaml": """\
        name: ${community_name}
        description: ${motto}
        """,
    "people/roles.yaml": """\
        - name: Naib
          color: ${leader_color}
          hoist: ${hoist_leaders}
          permissions: [KICK_MEMBERS, MANAGE_MESSAGES]
        - name: Fremen
          permissions: [VIEW_CHANNEL, SEND_MESSAGES]
        """,
    "places.yaml": """\
        categories:
          - name: The Gathering
            permissions:
              "@everyone": {allow: [VIEW_CHANNEL], deny: [SEND_MESSAGES]}
              Fremen: {allow: [SEND_MESSAGES], deny: [ATTACH_FILES]}
        channels:
          - name: welcome
            category: The Gathering
            topic: Welcome to ${community_name}. ${motto}
          - name: desert-memes
            category: The Gathering
            nsfw: ${memes_nsfw}
            slowmode: ${chat_slowmode}
            topic: Memes of ${planet}
        """,
}


def test_split_file_theme_with_typed_variables(gaib: CliRunner, guild: EmulatorHandle) -> None:
    write_theme(gaib.cwd / "themes", "desert", DESERT)
    (gaib.cwd / "discord-server.yaml").write_text(textwrap.dedent("""\
        version: "1"
        theme:
          name: desert
          source: local
          variables:
            motto: Water is life
            memes_nsfw: true
            chat_slowmode: 10
        """), encoding="utf-8")
    first = cycle(gaib)
    assert first["summary"]["create"] == 5
    roles, chans = live(guild)
    naib = next(r for r in roles if r["name"] == "Naib")
    assert naib["hoist"] is True and naib["color"] == 0xC8A04A
    by_name = {c["name"]: c for c in chans}
    assert by_name["desert-memes"]["nsfw"] is True and by_name["desert-memes"]["rate_limit_per_user"] == 10
    assert by_name["welcome"]["topic"] == "Welcome to Sietch Tabr. Water is life"
    # a name the theme does not declare stays as written, with a warning
    assert by_name["desert-memes"]["topic"] == "Memes of ${planet}"
    r = ok(gaib("server", "plan", "--json"))
    assert "'${planet}' is not a variable with a value in this theme" in r.stderr
    info = ok(gaib("server", "theme", "info", "desert", "--json")).data
    assert (info["license"], info["tags"], info["variables"]["chat_slowmode"]["max"]) == ("MIT", ["dune", "community"],
                                                                                         21600)


def test_variable_constraints_are_checked(gaib: CliRunner, guild: EmulatorHandle) -> None:
    write_theme(gaib.cwd / "themes", "desert", DESERT)
    base = 'version: "1"\ntheme:\n  name: desert\n  source: local\n  variables:\n'
    cases = {"    motto: x\n    chat_slowmode: 30000\n": "30000 is above the maximum 21600",
             "    motto: x\n    memes_nsfw: maybe\n": "expected true or false",
             "    motto: x\n    community_name: tabr\n": "does not match the pattern",
             "    chat_slowmode: 1\n": "needs the variable 'motto'"}
    for text, message in cases.items():
        (gaib.cwd / "discord-server.yaml").write_text(base + text, encoding="utf-8")
        r = gaib("server", "plan", "--json")
        assert r.exit_code == 2 and message in r.error["message"], (text, r.stdout)


def test_extends_and_the_merge_rules(gaib: CliRunner, guild: EmulatorHandle) -> None:
    """A theme extending another; a config overriding a theme channel by name alone (no second
    channel) and one role's overwrite on a theme category (the theme's deny for it stays)."""
    write_theme(gaib.cwd / "themes", "desert", DESERT)
    write_theme(gaib.cwd / "themes", "deep-desert", {
        "theme.yaml": """\
            name: deep-desert
            version: 2.0.0
            extends: desert
            variables:
              motto: {type: string, default: Dune is life}
            """,
        "roles.yaml": """\
            roles:
              - name: Fremen
                color: "#D2691E"
              - name: Sandrider
            """,
    })
    (gaib.cwd / "discord-server.yaml").write_text(textwrap.dedent("""\
        version: "1"
        theme:
          name: deep-desert
          source: local
        categories:
          - name: the gathering
            permissions:
              fremen: {allow: [SEND_MESSAGES, EMBED_LINKS]}
        channels:
          - name: welcome
            topic: Ours now
        """), encoding="utf-8")
    cycle(gaib)
    roles, chans = live(guild)
    assert sorted(r["name"] for r in roles) == ["@everyone", "Fremen", "Naib", "Sandrider"]
    assert next(r for r in roles if r["name"] == "Fremen")["color"] == 0xD2691E
    welcome = [c for c in chans if c["name"] == "welcome"]
    assert len(welcome) == 1 and welcome[0]["topic"] == "Ours now"
    cat = next(c for c in chans if c["type"] == 4)
    assert welcome[0]["parent_id"] == cat["id"]  # the theme's category stays
    fremen = next(r["id"] for r in roles if r["name"] == "Fremen")
    ow = next(o for o in cat["permission_overwrites"] if o["id"] == fremen)
    assert int(ow["allow"]) == PERMISSIONS["SEND_MESSAGES"] | PERMISSIONS["EMBED_LINKS"]
    assert int(ow["deny"]) == PERMISSIONS["ATTACH_FILES"]  # the theme's deny was not dropped
    everyone = next(o for o in cat["permission_overwrites"] if o["id"] == guild.guild_id)
    assert int(everyone["deny"]) == PERMISSIONS["SEND_MESSAGES"]


def test_search_order_builtin_then_project_then_home(gaib: CliRunner, guild: EmulatorHandle) -> None:
    on_tier(gaib, "premium")  # several on-demand backups today
    home_themes = Path(gaib.environ["HOME"]) / ".gaib" / "themes"
    write_theme(home_themes, "oasis", {"theme.yaml": "name: oasis\nversion: 1.0.0\n",
                                       "roles.yaml": "- name: From Home\n"})
    write_theme(gaib.cwd / "themes", "basic", {"theme.yaml": "name: basic\nversion: 9.0.0\n",
                                               "roles.yaml": "- name: Local Basic\n"})
    (gaib.cwd / "discord-server.yaml").write_text('version: "1"\ntheme: {name: oasis}\n', encoding="utf-8")
    cycle(gaib)
    assert "From Home" in {r["name"] for r in live(guild)[0]}
    # the built-in 'basic' comes before ./themes/basic, unless source: local asks for the local one
    (gaib.cwd / "discord-server.yaml").write_text('version: "1"\ntheme: {name: basic}\n', encoding="utf-8")
    r = ok(gaib("server", "plan", "--json"))
    assert "set theme.source: local to use it" in r.stderr
    assert "discord_role.staff" in {c["address"] for c in r.data["changes"]}
    (gaib.cwd / "discord-server.yaml").write_text('version: "1"\ntheme: {name: basic, source: local}\n',
                                                  encoding="utf-8")
    cycle(gaib)
    assert sorted(r["name"] for r in live(guild)[0]) == ["@everyone", "Local Basic"]
    rows = ok(gaib("server", "th", "list", "--json")).data["themes"]
    assert [(t["name"], t["origin"]) for t in rows] == [("basic", "builtin"), ("sietch", "builtin"),
                                                        ("basic", "project"), ("oasis", "home")]
