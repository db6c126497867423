"""The options every command shares mean the same everywhere, so they are described once.

Commands declare `--json`, `--dry-run`, `--resume`, `--yes` and `--reason` without help text;
this fills it in across the whole command tree, for the commands of every module alike."""

from __future__ import annotations

from typing import Any

STANDARD_HELP = {
    "as_json": "print machine-readable JSON on stdout (confirmation prompts, when asked, go "
               "to stderr)",
    "dry_run": "print what would be done; change nothing",
    "resume": "continue this interrupted operation from its last finished step",
    "yes": "accept without asking (needed for anything that destroys or discards data)",
    "reason": "why (recorded in the ledger and shown by `releases` and `timeline`)",
    "message": "the message (recorded, and sent where the command notifies)",
    "limit": "how many entries at most",
    "lines": "how many lines from the end",
}


def describe_standard_options(command: Any) -> None:
    """Give each shared option its one description, where the command did not write one."""
    for sub in getattr(command, "commands", {}).values():
        describe_standard_options(sub)
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "option" and not param.help:
            param.help = STANDARD_HELP.get(param.name)
