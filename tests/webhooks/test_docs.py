"""docs/webhooks.md's receiver snippet verifies what the dispatcher really sends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from astroshield.alerts.notifiers import sign
from astroshield.webhooks.dispatcher import Dispatcher
from tests.conftest import REPO_ROOT, Factory
from tests.conjunction.conftest import operator_with, upload
from tests.events.support import cdm_body
from tests.support.receivers import HttpReceiver
from tests.webhooks.conftest import Admin, subscribe

DOC = REPO_ROOT / "docs" / "webhooks.md"


def _snippet() -> Callable[..., bool]:
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    verify: Callable[..., bool] = namespace["verify"]
    return verify


def test_the_snippet_refuses_what_it_must() -> None:
    verify = _snippet()
    body, secret = b'{"id":"x"}', "whsec_test"
    now = int(time.time())
    assert verify(secret, sign(secret.encode(), body, now), body)
    assert not verify(secret, sign(b"other", body, now), body)
    assert not verify(secret, sign(secret.encode(), body, now), body + b" ")
    assert not verify(secret, sign(secret.encode(), body, now - 3600), body)
    assert not verify(secret, "garbage", body)


async def test_the_snippet_verifies_a_real_delivery(
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    receiver: HttpReceiver,
    dispatcher: Dispatcher,
) -> None:
    me = await operator_with(factory, "44001")
    admin = Admin(me.organisation, await factory.login(me.organisation, role="admin"))
    hook = await subscribe(client, admin, receiver.url, ["conjunction.created"])
    body = cdm_body("DOCS", 10.0, 2, datetime.now(UTC))
    assert (await upload(client, body, me.headers)).status_code == 201
    await dispatcher.run_once()
    [request] = receiver.requests
    verify = _snippet()
    assert verify(hook["secret"], request.headers["x-astroshield-signature"], request.body)
