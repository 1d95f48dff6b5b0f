"""Entry point: ``python -m service`` serves FREQSERVE_MODEL_DIR on FREQSERVE_HOST:FREQSERVE_PORT."""

import logging

import uvicorn
from pydantic import ValidationError

from service.app import create_app
from service.logging import configure_logging
from service.settings import Settings


def describe(e: ValidationError) -> str:
    """One line per bad value, named as it is set: ``FREQSERVE_MAX_BATCH='0': Input should be ...``."""
    parts = []
    for err in e.errors():
        if err["loc"]:
            parts.append(f"FREQSERVE_{err['loc'][0]}={err['input']!r}: {err['msg']}")
        else:
            parts.append(str(err["msg"]).removeprefix("Value error, "))
    return "; ".join(parts)


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as e:
        configure_logging()
        logging.getLogger("freqserve").error("invalid settings: %s", describe(e))
        raise SystemExit(2) from None
    configure_logging(settings.LOG_LEVEL)
    uvicorn.run(
        create_app(settings),
        host=settings.HOST,
        port=settings.PORT,
        log_config=None,
        access_log=False,  # our middleware logs each request with its id
        server_header=False,
        timeout_graceful_shutdown=settings.SHUTDOWN_TIMEOUT_S,
        timeout_keep_alive=settings.KEEPALIVE_S,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
