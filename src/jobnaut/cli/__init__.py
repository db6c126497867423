"""The `jobnaut` command: parses, calls the importable actions, and renders their results."""
