"""Container health check: exit 0 when this container's ``GET /readyz`` answers 200, else 1.

Standard library only, because the slim runtime image has no curl. Proxies from the environment are
ignored: the check must reach this container's own server, not go out through a proxy.
"""

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping


def readyz_url(env: Mapping[str, str]) -> str:
    port = env.get("FREQSERVE_PORT", "8000")
    return f"http://127.0.0.1:{port}/readyz"


def check(url: str, timeout_s: float) -> tuple[bool, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout_s) as resp:
            return resp.status == 200, f"{url}: {resp.status}"
    except urllib.error.HTTPError as e:  # 503 while models load
        return False, f"{url}: {e.code} {e.read(300).decode('utf-8', 'replace')}"
    except (urllib.error.URLError, OSError) as e:
        return False, f"{url}: {e}"


def main() -> int:
    ok, message = check(readyz_url(os.environ), float(os.environ.get("FREQSERVE_HEALTHCHECK_TIMEOUT_S", "3")))
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
