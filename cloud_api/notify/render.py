"""Notice templates: one Jinja2 file per kind and language, with a subject and a body block.

Templates live in ``cloud_api/templates/notices/{language}/{kind}.txt.j2``. They are plain
text (the e-mail, the webhook's ``text`` and the intake response carry the same words), so
autoescaping is off here; the customer page escapes on its own. ``StrictUndefined`` makes a
missing context value fail the test that renders it instead of mailing a blank to a
customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "RenderedNotice",
    "TemplateMissing",
    "normalise_language",
    "render_notice",
]

LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"


class TemplateMissing(LookupError):  # noqa: N818 — reads as the condition
    """No template for this kind and language."""


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    """A notice's words in one language."""

    language: str
    subject: str
    text: str


def normalise_language(value: str | None) -> str:
    """Map a customer's language to a template language; Chinese by default.

    ``zh``, ``zh-cn``, ``zh_CN`` are Chinese; anything starting with ``en`` is English.
    """
    if value and value.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("cloud_api", "templates/notices"),
        autoescape=False,  # noqa: S701 — plain-text notices; the HTML page escapes itself
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render_notice(kind: str, language: str, context: Mapping[str, Any]) -> RenderedNotice:
    """Render the ``kind`` notice in ``language``.

    Raises:
        TemplateMissing: no template for that kind and language.
    """
    lang = normalise_language(language)
    env = _environment()
    try:
        template = env.get_template(f"{lang}/{kind}.txt.j2")
    except TemplateNotFound as exc:
        raise TemplateMissing(f"no {lang} template for notice kind {kind!r}") from exc
    ctx = template.new_context(dict(context))
    subject = "".join(template.blocks["subject"](ctx)).strip()
    text = "".join(template.blocks["body"](ctx)).strip() + "\n"
    return RenderedNotice(language=lang, subject=" ".join(subject.split()), text=text)
