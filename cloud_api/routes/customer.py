"""The customer page ``/c/{signed-token}``: see the ticket, confirm or move the visit, rate.

Server-rendered, bilingual (the customer's language, ``?lang=`` to switch), no script.
The token is the only credential and names one ticket: a forged token gets 403, an
expired one 410, each with a page that says what to do. After a change the page
redirects (303) to itself, so a reload never repeats the change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from aftercare.clock import Clock
from cloud_api.deps import ClockDep, SessionDep
from cloud_api.exceptions import CloudError, InvalidRequest, TicketNotFound
from cloud_api.models.tickets import Ticket
from cloud_api.notify.config import NoticeConfig
from cloud_api.notify.links import LinkExpired, LinkForged
from cloud_api.notify.render import normalise_language
from cloud_api.services import customer_page

__all__ = ["router"]

router = APIRouter(prefix="/c", tags=["customer"], include_in_schema=False)

STATE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "accepted": ("accepted", "受理"),
    "dispatched": ("assigned to a service station", "已派工"),
    "scheduled": ("visit booked", "已预约"),
    "en_route": ("engineer on the way", "已出发"),
    "repairing": ("repair in progress", "检修中"),
    "waiting_for_parts": ("waiting for parts", "待备件"),
    "completed": ("completed", "已完工"),
    "followed_up": ("followed up", "已回访"),
    "closed": ("closed", "已关闭"),
    "cancelled": ("cancelled", "已取消"),
}
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "confirmed": ("Thank you, your appointment is confirmed.", "感谢确认,预约已确认。"),
    "moved": ("Your appointment has been moved.", "预约时间已更改。"),
    "rated": ("Thank you for rating our service.", "感谢您的评价。"),
}
ERRORS: Final[dict[str, tuple[str, str]]] = {
    "conflict": (
        "This cannot be done at this stage of the service.",
        "当前服务阶段无法进行此操作。",
    ),
    "invalid": ("Please check what you entered: ", "请检查您填写的内容:"),
}


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("cloud_api", "templates/customer"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def _html(template: str, status: int, **context: Any) -> HTMLResponse:  # noqa: ANN401
    body = _environment().get_template(template).render(**context)
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    return HTMLResponse(body, status_code=status, headers=headers)


def _config(request: Request) -> NoticeConfig:
    config: NoticeConfig = request.app.state.notices
    return config


ConfigDep = Annotated[NoticeConfig, Depends(_config)]


def _pick(words: tuple[str, str], lang: str) -> str:
    return words[0] if lang == "en" else words[1]


def _open(session: Session, token: str, config: NoticeConfig, clock: Clock) -> Ticket | Response:
    try:
        return customer_page.open_link(session=session, token=token, config=config, clock=clock)
    except LinkExpired:
        return _html("refused.html", 410, lang="zh-CN", expired=True)
    except (LinkForged, TicketNotFound):
        return _html("refused.html", 403, lang="zh-CN", expired=False)


def _page(
    session: Session,
    ticket: Ticket,
    token: str,
    config: NoticeConfig,
    *,
    lang: str | None,
    status: int = 200,
    message: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    view = customer_page.customer_view(session=session, ticket=ticket, config=config, language=lang)
    language = view["language"]
    return _html(
        "ticket.html",
        status,
        **view,
        lang=language,
        base=f"/c/{token}",
        state_label=_pick(STATE_LABELS.get(ticket.state, (ticket.state, ticket.state)), language),
        message=_pick(MESSAGES[message], language) if message in MESSAGES else None,
        error=error,
    )


def _failed(
    session: Session,
    token: str,
    config: NoticeConfig,
    clock: Clock,
    exc: CloudError,
    lang: str | None,
) -> Response:
    session.rollback()
    ticket = _open(session, token, config, clock)
    if not isinstance(ticket, Ticket):
        return ticket
    language = normalise_language(lang) if lang else None
    shown = language or "zh-CN"
    if isinstance(exc, InvalidRequest):
        text, status = _pick(ERRORS["invalid"], shown) + exc.detail, 422
    else:
        text, status = _pick(ERRORS["conflict"], shown), 409
    return _page(session, ticket, token, config, lang=language, status=status, error=text)


def _done(token: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"/c/{token}?msg={message}", status_code=303)


@router.get("/{token}", response_class=HTMLResponse)
def show_ticket(
    token: str,
    session: SessionDep,
    clock: ClockDep,
    config: ConfigDep,
    lang: str | None = None,
    msg: str | None = None,
) -> Response:
    """The customer's ticket in plain words, with what they can do now."""
    ticket = _open(session, token, config, clock)
    if not isinstance(ticket, Ticket):
        return ticket
    return _page(session, ticket, token, config, lang=lang, message=msg)


@router.post("/{token}/confirm")
def confirm(token: str, session: SessionDep, clock: ClockDep, config: ConfigDep) -> Response:
    """The customer confirms the booked slot."""
    ticket = _open(session, token, config, clock)
    if not isinstance(ticket, Ticket):
        return ticket
    try:
        customer_page.confirm_appointment(session=session, ticket=ticket, clock=clock)
    except CloudError as exc:
        return _failed(session, token, config, clock, exc, None)
    session.commit()
    return _done(token, "confirmed")


@router.post("/{token}/appointment")
def move(
    token: str,
    session: SessionDep,
    clock: ClockDep,
    config: ConfigDep,
    slot_start: Annotated[str, Form(max_length=40)],
    hours: Annotated[int, Form(ge=1, le=8)] = 2,
) -> Response:
    """The customer picks another visit time (local time of the service area)."""
    ticket = _open(session, token, config, clock)
    if not isinstance(ticket, Ticket):
        return ticket
    try:
        start = _local(slot_start, config)
        customer_page.move_appointment(
            session=session,
            ticket=ticket,
            slot_start=start,
            slot_end=start + timedelta(hours=hours),
            clock=clock,
        )
    except CloudError as exc:
        return _failed(session, token, config, clock, exc, None)
    session.commit()
    return _done(token, "moved")


@router.post("/{token}/rating")
def rate(
    token: str,
    session: SessionDep,
    clock: ClockDep,
    config: ConfigDep,
    score: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The customer rates the service 1-5 with an optional comment."""
    ticket = _open(session, token, config, clock)
    if not isinstance(ticket, Ticket):
        return ticket
    try:
        customer_page.rate_service(
            session=session, ticket=ticket, score=score, comment=comment, clock=clock
        )
    except CloudError as exc:
        return _failed(session, token, config, clock, exc, None)
    session.commit()
    return _done(token, "rated")


def _local(text: str, config: NoticeConfig) -> datetime:
    """A ``datetime-local`` form value in the service area's time zone."""
    try:
        naive = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequest(f"{text!r} is not a date and time") from exc
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=config.timezone)
