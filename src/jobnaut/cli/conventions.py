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


# What an operator types most, shown under each command's help (`\b` keeps the lines).
EXAMPLES = {
    "deploy": ["jobnaut deploy main -m 'search filters'",
               "jobnaut deploy v2.3.0 --dry-run        # what would change",
               "jobnaut deploy --resume                # after an interruption"],
    "rollback code": ["jobnaut rollback code -m 'search 500s'   # to the previous good release",
                      "jobnaut rollback code --to v3 --service backend"],
    "rollback migration": ["jobnaut rollback migration --dry-run",
                           "jobnaut rollback migration --restore-db --yes -m 'bad 0004'"],
    "rollback config": ["jobnaut rollback config -m 'feed URL broke imports'",
                        "jobnaut rollback config --to v5"],
    "rollback emergency": ["jobnaut rollback emergency --reason 'checkout broken' --yes"],
    "releases": ["jobnaut releases", "jobnaut releases --json | jq '.[0]'"],
    "backup restore": ["jobnaut backup restore 20261129T030000Z-pre-deploy --dry-run"],
    "migrate down": ["jobnaut migrate down --to 0002 --dry-run"],
    "logs": ["jobnaut logs backend -n 50", "jobnaut logs access"],
    "freeze": ["jobnaut freeze -m 'investigating checkout errors'",
               "jobnaut freeze --lift -m 'fixed in 4f1c2e0'"],
}


def describe_standard_options(command: Any, path: str = "") -> None:
    """Give each shared option its one description, where the command did not write one,
    and each command its examples."""
    for name, sub in getattr(command, "commands", {}).items():
        describe_standard_options(sub, f"{path} {name}".strip())
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "option" and not param.help:
            param.help = STANDARD_HELP.get(param.name)
    if path in EXAMPLES and not command.epilog:
        command.epilog = "\b\nExamples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[path])
