"""The optional client deadline: ``X-Request-Timeout: <seconds>`` on a classify or infer request.

Work for the request that has not started when the deadline passes (reading, queueing, each graph of a
DRNet) is dropped, not computed, and the answer is 504: a client that has given up costs the server nothing
more. Without the header a request waits as long as it takes.
"""

import math

from starlette.datastructures import Headers

from service.errors import RequestError

HEADER = "X-Request-Timeout"
MAX_TIMEOUT_S = 3600.0


def request_deadline(headers: Headers, arrived: float) -> float | None:
    """The deadline (``time.perf_counter()`` instant) a request asks for, or None; 422 when malformed."""
    raw = headers.get(HEADER)
    if raw is None:
        return None
    try:
        timeout = float(raw)
    except ValueError:
        timeout = math.nan
    if not 0 < timeout <= MAX_TIMEOUT_S:  # also refuses nan and inf
        raise RequestError(422, f"{HEADER} must be a number of seconds in (0, {MAX_TIMEOUT_S:g}], got {raw!r}")
    return arrived + timeout


def deadline_exceeded(headers: Headers) -> RequestError:
    return RequestError(504, f"deadline exceeded: not computed within the {HEADER} of {headers.get(HEADER)} s")
