"""Checks the gateway's webhook signatures with the `standardwebhooks` package from PyPI (the
Standard Webhooks reference library, pinned by .ci/run): an implementation this project did not
write.

Reads JSON lines on stdin, each {"secret": "whsec_...", "headers": {...}, "body": "..."}, and
prints one line per message, in order: `ok` if `Webhook(secret).verify(body, headers)` accepts
it, else `refused: <why>`. Run by crisp-gateway/tests/webhooks.rs with the interpreter named by
CRISP_STANDARDWEBHOOKS_PYTHON.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook

for line in sys.stdin:
    if not line.strip():
        continue
    message = json.loads(line)
    try:
        Webhook(message["secret"]).verify(message["body"], message["headers"])
        print("ok")
    except Exception as error:  # the library's WebhookVerificationError, or a malformed header
        print(f"refused: {type(error).__name__}")
