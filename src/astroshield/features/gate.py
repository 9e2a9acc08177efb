"""The gate the optional modules' routes declare: a disabled feature answers 403.

403, not 404: the route exists and the caller is who they say; what refuses is a decision
someone made (the platform or the caller's organisation), and a client must not take it
for a wrong URL. The answer is problem+json of type ``/problems/feature-disabled`` with
the members ``feature`` and ``disabled_by`` (``platform`` or ``organisation``; a flag off
by default says ``platform``). Unauthenticated callers get the usual 401 first: a
disabled feature is no reason to skip authentication.

HTTP routes: ``@router.get(..., dependencies=[require_feature(Flag.X)])``.
WebSockets: ``feature_refusal(websocket, Flag.X, principal)`` gives the close reason.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection

from astroshield.api.deps import authenticate
from astroshield.api.state import state_of
from astroshield.errors import PROBLEM_JSON, ForbiddenError, problem_body
from astroshield.features.catalogue import Flag
from astroshield.features.service import Evaluation, FeatureFlags
from astroshield.security.principal import Principal


class FeatureDisabledError(ForbiddenError):
    slug, title = "feature-disabled", "Feature disabled"

    def __init__(self, evaluation: Evaluation) -> None:
        self.feature = evaluation.flag
        self.disabled_by = "organisation" if evaluation.source == "organisation" else "platform"
        super().__init__(refusal_reason(evaluation))


def refusal_reason(evaluation: Evaluation) -> str:
    who = "your organisation" if evaluation.source == "organisation" else "the platform"
    return f"the feature '{evaluation.flag}' is disabled by {who}"


def feature_refusal(connection: HTTPConnection, flag: Flag, principal: Principal) -> str | None:
    """Why ``principal`` may not use ``flag``, or ``None`` when it is on for them."""
    evaluation = (
        state_of(connection).component(FeatureFlags).evaluate(flag, principal.organisation_id)
    )
    return None if evaluation.enabled else refusal_reason(evaluation)


def require_feature(flag: Flag) -> Any:
    """A route dependency that refuses the request while ``flag`` is off for the caller."""

    async def gate(request: Request) -> None:
        principal = await authenticate(request)
        evaluation = (
            state_of(request).component(FeatureFlags).evaluate(flag, principal.organisation_id)
        )
        if not evaluation.enabled:
            raise FeatureDisabledError(evaluation)

    return Depends(gate)


async def feature_disabled_response(request: Request, exc: Exception) -> JSONResponse:
    """The problem+json of a disabled feature, with the members naming it and who decided."""
    assert isinstance(exc, FeatureDisabledError)
    body = problem_body(
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
    )
    body.update(feature=str(exc.feature), disabled_by=exc.disabled_by)
    return JSONResponse(body, status_code=exc.status, media_type=PROBLEM_JSON)
