"""A whole project folder as a user of the original Gaib has it, used with no edit: gaib.yaml with an S3
backend (moto), the state at ``servers/default/terraform.tfstate``, discord-server.yaml using a
split-file theme folder with boolean variables. Plan, apply, clean plan, backup, restore."""

from __future__ import annotations

import json
import textwrap
import uuid

import boto3
import pytest

from gaib.state.s3 import ensure_state_infra
from tests.compat.originals import cycle, live, ok, original_state, seed_live
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle
from tests.support.themes import write_theme

THEME = {
    "theme.yaml": """\
        name: sietch-lite
        version: 0.3.1
        description: Roles and rooms of a small sietch
        author: Chani
        license: Apache-2.0
        tags: [dune]
        variables:
          sietch_name: {type: string, default: Tabr}
          hoist_naib: {type: boolean, default: true}
          memes_nsfw: {type: boolean, default: false}
          announce: {type: boolean, default: true}
          naib_color: {type: color, default: "#C8A04A"}
          slowmode: {type: number, default: 2, min: 0, max: 60}
        """,
    "server.yaml": """\
        name: Sietch ${sietch_name}
        description: The sietch of ${sietch_name}
        """,
    "roles.yaml": """\
        roles:
          - name: Naib
            color: ${naib_color}
            hoist: ${hoist_naib}
            mentionable: ${announce}
            permissions: [KICK_MEMBERS, MANAGE_MESSAGES, MANAGE_THREADS]
          - name: Fedaykin
            color: "#8B0000"
            permissions: [VIEW_CHANNEL, SEND_MESSAGES]
          - name: Pilgrim
        """,
    "channels.yaml": """\
        categories:
          - name: The Gathering
            permissions:
              "@everyone": {deny: [SEND_MESSAGES]}
              Naib: {allow: [SEND_MESSAGES, MENTION_EVERYONE]}
          - name: Deep Desert
            permissions:
              "@everyone": {deny: [VIEW_CHANNEL]}
              Fedaykin: {allow: [VIEW_CHANNEL], deny: [ATTACH_FILES]}
        channels:
          - name: rules
            category: The Gathering
            topic: Rules of ${sietch_name}
          - name: desert-memes
            category: The Gathering
            nsfw: ${memes_nsfw}
            slowmode: ${slowmode}
          - name: war-room
            category: Deep Desert
          - name: sandworm-voice
            type: voice
            category: Deep Desert
            userLimit: 8
        """,
}

CONFIG = """\
    version: "1"
    server:
      id: "GUILD"
    theme:
      name: sietch-lite
      source: local
      variables:
        sietch_name: Tabr
        memes_nsfw: true
        hoist_naib: false
    roles:
      - name: Water Bearer
        color: "#1E90FF"
    categories:
      - name: deep desert
        permissions:
          fedaykin: {allow: [VIEW_CHANNEL, EMBED_LINKS]}
    channels:
      - name: rules
        topic: The rules of Sietch Tabr
      - name: water-ledger
        category: The Gathering
        permissions:
          Water Bearer: {allow: [SEND_MESSAGES]}
"""


@pytest.mark.slow
def test_an_original_project_folder_works_with_no_edit(gaib: CliRunner, guild: EmulatorHandle,
                                                       aws_env: dict[str, str]) -> None:
    bucket = f"arrakis-state-{uuid.uuid4().hex[:10]}"
    ensure_state_infra(bucket=bucket, table="gaib-locks", region="us-east-1", endpoint_url=None)
    project = gaib.cwd
    (project / "gaib.yaml").write_text(textwrap.dedent(f"""\
        version: "1"
        name: arrakis
        backend:
          type: s3
          bucket: {bucket}
          region: us-east-1
          encrypt: true
        """), encoding="utf-8")
    (project / "discord-server.yaml").write_text(textwrap.dedent(CONFIG.replace("GUILD", guild.guild_id)),
                                                 encoding="utf-8")
    write_theme(project / "themes", "sietch-lite", THEME)
    # The original applied this folder before: its objects are live, its state is in S3.
    gaib.environ.update(aws_env)
    del gaib.environ["DISCORD_GUILD_ID"]
    seed_live(gaib, ("--backend", "local"))
    s3 = boto3.client("s3")
    doc = original_state(guild, serial=12, lineage="mj0x2k1q-7h3n9p0d")
    s3.put_object(Bucket=bucket, Key="servers/default/terraform.tfstate", Body=json.dumps(doc, indent=2).encode())

    first = cycle(gaib)
    assert first["empty"] is True, first["changes"]

    roles, chans = live(guild)
    by_name = {c["name"]: c for c in chans}
    assert {r["name"] for r in roles} == {"@everyone", "Naib", "Fedaykin", "Pilgrim", "Water Bearer"}
    assert next(r for r in roles if r["name"] == "Naib")["hoist"] is False  # boolean variable from the config
    assert by_name["desert-memes"]["nsfw"] is True and by_name["rules"]["topic"] == "The rules of Sietch Tabr"
    assert len([c for c in chans if c["name"] == "rules"]) == 1
    deep = by_name["Deep Desert"]
    fedaykin = next(r["id"] for r in roles if r["name"] == "Fedaykin")
    ow = next(o for o in deep["permission_overwrites"] if o["id"] == fedaykin)
    assert (int(ow["allow"]), int(ow["deny"])) == ((1 << 10) | (1 << 14), 1 << 15)

    stored = json.loads(s3.get_object(Bucket=bucket, Key="servers/default/terraform.tfstate")["Body"].read())
    assert stored["lineage"] == "mj0x2k1q-7h3n9p0d" and stored["serial"] > 12
    assert {r["provider"] for r in stored["resources"]} == {"discord"}
    assert "discord_role.Water Bearer" in {f"{r['type']}.{r['name']}" for r in stored["resources"]}
    assert not (project / ".gaib" / "workspaces").exists()  # nothing fell back to local state

    # a change made in the original's files applies and converges too
    (project / "discord-server.yaml").write_text(textwrap.dedent(CONFIG.replace("GUILD", guild.guild_id))
                                                 .replace("memes_nsfw: true", "memes_nsfw: false"), encoding="utf-8")
    plan = ok(gaib("server", "plan", "--json")).data
    assert [(c["address"], [f["field"] for f in c["changes"]]) for c in plan["changes"]] == \
        [("discord_channel.desert-memes", ["nsfw"])]
    ok(gaib("server", "apply", "--auto-approve"))
    assert ok(gaib("server", "plan", "--json")).data["empty"] is True
