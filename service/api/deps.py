"""Dependencies shared by the routes: the service state and the API-key check."""

import hmac
from typing import Annotated

from fastapi import Depends, Request

from service.errors import RequestError
from service.state import ServiceState

_HOW = "send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"


# Both are async on purpose: FastAPI runs plain ``def`` dependencies in a worker thread, a thread hop per
# request that cost more than the whole DCT read.
async def get_state(request: Request) -> ServiceState:
    return request.app.state.service


async def require_api_key(request: Request) -> None:
    key = (await get_state(request)).settings.API_KEY
    if key is None:
        return
    given = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if given is None and auth[:7].lower() == "bearer ":
        given = auth[7:].strip()
    challenge = {"WWW-Authenticate": "Bearer"}
    if not given:
        raise RequestError(401, f"missing API key: {_HOW}", challenge)
    if not hmac.compare_digest(given.encode(), key.get_secret_value().encode()):
        raise RequestError(401, f"invalid API key: {_HOW}", challenge)


StateDep = Annotated[ServiceState, Depends(get_state)]
