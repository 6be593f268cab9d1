"""The page dependency: the request's translator, session cookie and signed-in user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from cloud_api.deps import SessionDep
from cloud_api.pages.queries import staff_by_id
from cloud_api.pages.session import COOKIE_NAME
from cloud_api.pages.web import PageEnv, PageRequest, login_redirect, page_env, translator_for

__all__ = ["current_page", "require_roles"]


def current_page(
    request: Request,
    session: SessionDep,
    env: Annotated[PageEnv, Depends(page_env)],
) -> PageRequest:
    """Who is asking, in which language; the user is re-read so a disabled account is out."""
    staff_session = env.codec.read(request.cookies.get(COOKIE_NAME))
    user = None
    if staff_session is not None:
        user = staff_by_id(session=session, user_id=staff_session.user_id)
    return PageRequest(
        request=request,
        env=env,
        t=translator_for(request),
        session=staff_session if user is not None else None,
        user=user,
    )


def require_roles(*roles: str) -> Any:  # noqa: ANN401 — a FastAPI dependency marker
    """A dependency: the signed-in user's page request; 303 to sign-in, 403 for other roles."""

    def dependency(page: Annotated[PageRequest, Depends(current_page)]) -> PageRequest:
        if page.user is None:
            raise login_redirect(page.request)
        if roles and page.user.role not in roles:
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="not for your role")
        return page

    return Depends(dependency)
