class OpsError(Exception):
    """An operation cannot go on. `message` says what happened, `hint` what to do next."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
