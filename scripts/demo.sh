#!/usr/bin/env bash
# Sets up .venv and runs Gaib's main job on the embedded defaults in ./demo: the state in a local
# folder, backups in local files with a SQLite catalog, and the bundled Discord emulator as the guild.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
root="$PWD"
py="$root/.venv/bin/python"
demo="$root/demo"
rm -rf "$demo" && mkdir -p "$demo" && cd "$demo"

export DISCORD_BOT_TOKEN="demo-token-not-a-secret"
export DISCORD_GUILD_ID="1100000000000000001"
"$py" -m gaib.emulator --port 0 --guild-id "$DISCORD_GUILD_ID" --guild-name "Demo Sietch" \
    --rate-limits discord --data emulated-guild.json > emulator.out 2> emulator.log &
emulator=$!
trap 'kill $emulator 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s emulator.out ] && break; sleep 0.1; done
export GAIB_DISCORD_API_URL="$(head -n 1 emulator.out)"
gaib() { "$py" -m gaib "$@"; }
serial() { gaib server state ls --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["data"]["serial"])'; }

echo "== $(gaib --version), Discord emulator at $GAIB_DISCORD_API_URL"
echo "== init from the sietch theme"
gaib server init --theme sietch --name "Demo Sietch"
echo "== plan"
gaib server plan | tail -n 4
echo "== apply"
gaib server apply --auto-approve -q
echo "== re-plan (should be empty)"
gaib server plan
echo "== state: $(gaib server state ls --json | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["resources"]))') resources, serial $(serial)"
echo "== backup"
backup_id=$(gaib server backup create -m "after first apply" --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
gaib server backup list
echo "== change the state: forget two channels"
gaib server state rm --yes discord_channel.embassy discord_channel.desert_stage
before=$(serial)
echo "== restore backup $backup_id"
gaib server backup restore "$backup_id" --yes
after=$(serial)
echo "== serial before restore: $before, after restore: $after"
gaib server plan
gaib server backup list

echo "== snapshot the whole server (live objects, state, theme registry)"
snapshot_id=$(gaib server snapshot create -m "before the raid" --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
gaib server snapshot list
echo "== a raid, behind Gaib's back: two channels and a role deleted, a channel renamed"
"$py" - "$GAIB_DISCORD_API_URL" "$DISCORD_GUILD_ID" "$DISCORD_BOT_TOKEN" <<'PY'
import json, sys, urllib.request
base, guild, token = sys.argv[1:4]
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Bot {token}",
                                 "Content-Type": "application/json"},
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req) as r:
        data = r.read()
        return json.loads(data) if data else None
channels = [c for c in call("GET", f"/guilds/{guild}/channels") if c["type"] == 0]
roles = [r for r in call("GET", f"/guilds/{guild}/roles") if r["id"] != guild and not r.get("managed")]
for c in channels[:2]:
    call("DELETE", f"/channels/{c['id']}")
    print(f"   deleted #{c['name']}")
call("DELETE", f"/guilds/{guild}/roles/{roles[0]['id']}")
print(f"   deleted role {roles[0]['name']}")
call("PATCH", f"/channels/{channels[2]['id']}", {"name": "pwned"})
print(f"   renamed #{channels[2]['name']} to #pwned")
PY
echo "== plan now sees the damage"
gaib server plan | tail -n 1
echo "== restore the snapshot to Discord"
gaib server snapshot restore "$snapshot_id" --apply --yes -q
echo "== re-plan (should be empty)"
gaib server plan

echo "== theme registry: every apply records a deployment (the effective config, its theme, who, when)"
gaib server theme registry
echo "== deploy a variant of the theme: another community name, without the Council Chamber"
cat > discord-server.yaml <<'YAML'
version: "1.0"
server:
  name: Demo Sietch
theme:
  name: sietch
  variables:
    community_name: Arrakis
  exclude:
    categories: [Council Chamber]
YAML
gaib server apply --auto-approve -q
gaib server theme registry
echo "== roll back one deployment: a pre-restore backup, then Discord changed minimally (ids kept)"
gaib server theme rollback --steps 1 --yes
echo "== re-plan (should be empty: discord-server.yaml is the rolled-back config, the variant kept beside it)"
gaib server plan
ls discord-server.yaml*
gaib server theme history
gaib server theme audit --limit 4
