"""Request plumbing shared by the staff page routers: who is signed in, language, rendering.

Install once with :func:`install_staff_pages` from the app factory; it mounts the static
files, keeps the session codec and templates on ``app.state`` and includes the routers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from cloud_api.pages.i18n import Translator, negotiate_language
from cloud_api.pages.session import COOKIE_NAME, LANG_COOKIE, SessionCodec, StaffSession
from cloud_api.pages.templating import STATIC_DIR, STATIC_PREFIX, make_templates
from cloud_api.pages.views import StaffUser

__all__ = [
    "PageEnv",
    "PageRequest",
    "install_staff_pages",
    "login_redirect",
    "render",
]

_STATE_KEY: Final = "staff_pages"


class StaffPagesNotInstalledError(RuntimeError):
    """A page was requested from an app without :func:`install_staff_pages`."""


@dataclass(frozen=True, slots=True)
class PageEnv:
    """What every page needs from the app: templates and the session codec."""

    templates: Jinja2Templates
    codec: SessionCodec
    secure_cookies: bool


def page_env(request: Request) -> PageEnv:
    """The staff pages' environment stored on the app."""
    env = getattr(request.app.state, _STATE_KEY, None)
    if not isinstance(env, PageEnv):
        raise StaffPagesNotInstalledError("staff pages are not installed on this app")
    return env


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A page request: the translator, and the signed-in user when there is one."""

    request: Request
    env: PageEnv
    t: Translator
    session: StaffSession | None
    user: StaffUser | None

    @property
    def csrf(self) -> str:
        """The CSRF token forms must echo."""
        return self.session.csrf if self.session else ""


def login_redirect(request: Request) -> HTTPException:
    """A 303 to the login page that comes back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        status_code=status.HTTP_303_SEE_OTHER,
        headers={"Location": f"/staff/login?next={quote(target, safe='')}"},
    )


def translator_for(request: Request) -> Translator:
    """The page language: the switch's cookie, else the browser's preference."""
    lang = negotiate_language(
        request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    return Translator.for_language(lang)


def render(
    page: PageRequest,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a staff template with the shared context (user, translator, CSRF token)."""
    base = {"t": page.t, "user": page.user, "csrf": page.csrf}
    return page.env.templates.TemplateResponse(
        page.request, template, base | context, status_code=status_code
    )


def set_session_cookie(response: Response, env: PageEnv, value: str) -> None:
    """Attach the signed session cookie (httponly, SameSite=Lax, scoped to /staff)."""
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=env.codec.max_age_s,
        path="/staff",
        httponly=True,
        samesite="lax",
        secure=env.secure_cookies,
    )


def clear_session_cookie(response: Response) -> None:
    """Forget the session."""
    response.delete_cookie(COOKIE_NAME, path="/staff")


def install_staff_pages(app: FastAPI, *, secret: str, secure_cookies: bool = False) -> None:
    """Mount the staff pages on ``app``.

    Args:
        app: the cloud app.
        secret: the signing secret for session cookies (the cloud's secret key).
        secure_cookies: mark cookies Secure (behind HTTPS in production).
    """
    from cloud_api.pages.routes import router

    setattr(
        app.state,
        _STATE_KEY,
        PageEnv(make_templates(), SessionCodec(secret), secure_cookies),
    )
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="staff-static")
    app.include_router(router)
