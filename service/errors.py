"""Errors that reach the client as they are: a status, a ``detail`` saying what was expected, maybe headers."""


class RequestError(Exception):
    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers
