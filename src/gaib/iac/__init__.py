"""Infrastructure as code: read a live guild, diff it against the config, apply the plan, export."""
