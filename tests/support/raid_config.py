"""The server config of the raid scenario, which the snapshot tests apply, snapshot, damage and restore:
two roles (one hoisted admin), two categories (one with overwrites by @everyone and a role) and three
channels (text with topic, slowmode and an overwrite; voice)."""

from __future__ import annotations

import textwrap

CONFIG = textwrap.dedent("""
    version: "1.0"
    server:
      name: Test
    roles:
      - name: Admin
        color: "#ff0000"
        permissions: [ADMINISTRATOR]
        hoist: true
      - name: Member
        permissions: [VIEW_CHANNEL, SEND_MESSAGES]
    categories:
      - name: Info
        permissions:
          "@everyone": {deny: [SEND_MESSAGES]}
          Member: {allow: [VIEW_CHANNEL]}
      - name: Voice
    channels:
      - name: rules
        category: Info
        topic: Read me
      - name: chat
        category: Info
        slowmode: 5
        permissions:
          Member: {allow: [SEND_MESSAGES]}
      - name: lounge
        type: voice
        category: Voice
""")
