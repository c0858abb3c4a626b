"""Print a session token minted as a widget mints one: POST /api/v1/sessions with the demo's public key.

Usage: mint_session.py BASE_URL KEYS_JSON (the output of `seed_demo --json`). Waits for the server.
"""

import json
import sys
import time
import urllib.error
import urllib.request


def main(base_url: str, keys_path: str) -> None:
    with open(keys_path) as keys:
        public_key = json.load(keys)["keys"]["public"]
    request = urllib.request.Request(
        f"{base_url}/api/v1/sessions", method="POST", headers={"x-kordless-key": public_key}
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                print(json.load(response)["token"])
                return
        except urllib.error.HTTPError:
            raise
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


if __name__ == "__main__":
    main(*sys.argv[1:])
