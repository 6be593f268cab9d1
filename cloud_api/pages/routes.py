"""The ``/staff`` router: sign-in, sign-out, language switch, and the page areas' routers."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from cloud_api.auth import verify_password
from cloud_api.deps import SessionDep
from cloud_api.models.registry import StaffUser
from cloud_api.pages import routes_reports, routes_tickets
from cloud_api.pages.backend import current_page
from cloud_api.pages.i18n import LANGUAGES
from cloud_api.pages.session import LANG_COOKIE
from cloud_api.pages.web import (
    PageRequest,
    clear_session_cookie,
    render,
    set_session_cookie,
)

__all__ = ["router"]

router = APIRouter(prefix="/staff", include_in_schema=False)
router.include_router(routes_tickets.router)
router.include_router(routes_reports.router)

_HOME_BY_ROLE = {"engineer": "/staff/today", "manager": "/staff/kpis"}


def safe_next(target: str | None, default: str = "/staff/queue") -> str:
    """A same-site path under /staff to go to after sign-in (never an open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff"):
        return default
    return target


@router.get("/", response_class=HTMLResponse)
def staff_home(page: Annotated[PageRequest, Depends(current_page)]) -> Response:
    """Send users to their role's home page, or to sign-in."""
    if page.user is None:
        return RedirectResponse("/staff/login", status_code=status.HTTP_303_SEE_OTHER)
    target = _HOME_BY_ROLE.get(page.user.role, "/staff/queue")
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/login", response_class=HTMLResponse)
def login_form(
    page: Annotated[PageRequest, Depends(current_page)],
    next_url: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """The sign-in form."""
    return render(page, "staff/login.html", {"next_url": safe_next(next_url, ""), "failed": False})


@router.post("/login", response_class=HTMLResponse)
def login(
    page: Annotated[PageRequest, Depends(current_page)],
    session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Check the credentials; on success set the session cookie and go on."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        context = {"next_url": safe_next(next_url, ""), "failed": True, "username": username}
        return render(page, "staff/login.html", context, status_code=status.HTTP_401_UNAUTHORIZED)
    _, cookie = page.env.codec.issue(user.id)
    default = _HOME_BY_ROLE.get(user.role, "/staff/queue")
    response = RedirectResponse(safe_next(next_url, default), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(response, page.env, cookie)
    return response


@router.post("/logout")
def logout(
    page: Annotated[PageRequest, Depends(current_page)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Forget the session (only with this session's CSRF token, so no site can log you out)."""
    response = RedirectResponse("/staff/login", status_code=status.HTTP_303_SEE_OTHER)
    if page.session is None or page.session.csrf_ok(csrf):
        clear_session_cookie(response)
    return response


@router.get("/lang")
def switch_language(
    to: Annotated[str, Query()],
    next_url: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """Remember the chosen language in a cookie and go back to the page."""
    response = RedirectResponse(safe_next(next_url), status_code=status.HTTP_303_SEE_OTHER)
    if to in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, to, max_age=365 * 86400, path="/", httponly=True, samesite="lax"
        )
    return response
