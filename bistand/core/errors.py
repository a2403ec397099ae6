"""Error types the tasks map to work-item exception types."""


class BistandError(Exception):
    """Base class; carries a stable code the run summary counts.

    Messages never hold personal data: they go to logs and to Control Room.
    """

    ROBOT_SUPPRESS_NAME = True  # str() already starts with the type name

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class BusinessError(BistandError):
    """Bad data that a retry cannot fix (work item FAILED, type BUSINESS)."""

    def __str__(self) -> str:
        return f"BusinessError: {self.code}: {self.message}"


class ApplicationError(BistandError):
    """System trouble (portal down, timeout, changed page, no norm table): retryable."""

    def __str__(self) -> str:
        return f"ApplicationError: {self.code}: {self.message}"
