"""Dashboard whitelabel settings: the eleven ``ASSAY_WHITELABEL_*`` variables.

Parsing is separate from rendering so the rules (defaults, unset versus empty) can be unit
tested without a server. Values are read once, when the dashboard routes are built, from a
mapping passed in (``os.environ`` by default) rather than from a process-global, so tests
and embedders can supply their own.

Empty-value rules, chosen so that an empty variable never produces an unusable page:

* ``API_DOCS_URL``: unset keeps the default link; empty *hides* the link (the seed's rule).
* ``NAME`` and ``SUBTITLE``: empty means "no text" (a logo-only brand is legitimate).
* ``PAGE_TITLE``, ``PARENT_NAME``, ``DEFAULT_NAMESPACE``, ``MARK``: empty falls back to the
  default, because an empty title, link label or namespace is never what an operator wants.
* URL variables (``LOGO_URL``, ``PARENT_URL``, ``CSS_URL``, ``FAVICON_URL``): empty = unset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PREFIX = "ASSAY_WHITELABEL_"
DEFAULT_NAME = "Assay"
DEFAULT_PAGE_TITLE = "Assay Workflow Dashboard"
DEFAULT_PARENT_NAME = "Back"
DEFAULT_API_DOCS_URL = "/api/v1/engine/workflow/docs"
DEFAULT_NAMESPACE = "main"

# The variable names (without the prefix), in the seed's table order. Exported so docs and
# tests can check that nothing is missed.
VARIABLES = (
    "NAME",
    "LOGO_URL",
    "PAGE_TITLE",
    "PARENT_URL",
    "PARENT_NAME",
    "API_DOCS_URL",
    "CSS_URL",
    "SUBTITLE",
    "MARK",
    "FAVICON_URL",
    "DEFAULT_NAMESPACE",
)

# Schemes that would turn an operator-supplied URL into script execution in an href/src.
_UNSAFE_SCHEMES = frozenset({"javascript", "vbscript"})


@dataclass(frozen=True, slots=True)
class Whitelabel:
    """Resolved branding for one dashboard instance. ``None`` means "not shown"."""

    name: str = DEFAULT_NAME
    logo_url: str | None = None
    page_title: str = DEFAULT_PAGE_TITLE
    parent_url: str | None = None
    parent_name: str = DEFAULT_PARENT_NAME
    api_docs_url: str | None = DEFAULT_API_DOCS_URL
    css_url: str | None = None
    subtitle: str | None = None
    mark: str = "A"
    favicon_url: str | None = None
    default_namespace: str = DEFAULT_NAMESPACE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Whitelabel:
        """Build from a mapping of environment variables (only ``ASSAY_WHITELABEL_*`` read)."""

        def raw(key: str) -> str | None:
            value = env.get(PREFIX + key)
            return None if value is None else value.strip()

        def text_or_default(key: str, default: str) -> str:
            value = raw(key)
            return value if value else default

        name = raw("NAME")
        name = DEFAULT_NAME if name is None else name
        mark = raw("MARK") or _default_mark(name)
        docs = raw("API_DOCS_URL")
        return cls(
            name=name,
            logo_url=_url(raw("LOGO_URL"), "LOGO_URL"),
            page_title=text_or_default("PAGE_TITLE", DEFAULT_PAGE_TITLE),
            parent_url=_url(raw("PARENT_URL"), "PARENT_URL"),
            parent_name=text_or_default("PARENT_NAME", DEFAULT_PARENT_NAME),
            # Unset keeps the default; set-but-empty hides the link (the seed's distinction).
            api_docs_url=DEFAULT_API_DOCS_URL if docs is None else _url(docs, "API_DOCS_URL"),
            css_url=_url(raw("CSS_URL"), "CSS_URL"),
            subtitle=raw("SUBTITLE") or None,
            mark=mark,
            favicon_url=_url(raw("FAVICON_URL"), "FAVICON_URL"),
            default_namespace=text_or_default("DEFAULT_NAMESPACE", DEFAULT_NAMESPACE),
        )

    @property
    def customised(self) -> bool:
        """True when the deployment carries its own brand (footer says "Powered by Assay").

        The original counted its own non-empty default subtitle as a customisation, so every
        stock install said "Powered by"; here the subtitle defaults to none, which fixes that.
        """
        return bool(
            self.name != DEFAULT_NAME
            or self.subtitle
            or self.logo_url
            or self.css_url
            or self.favicon_url
        )

    def css_href(self, asset_version: str) -> str | None:
        """The extra stylesheet URL with the asset version appended (``?v=`` or ``&v=``)."""
        if not self.css_url:
            return None
        base, hash_sep, fragment = self.css_url.partition("#")
        joiner = "&" if "?" in base else "?"
        return f"{base}{joiner}v={asset_version}{hash_sep}{fragment}"


def _default_mark(name: str) -> str:
    return name[0].upper() if name else DEFAULT_NAME[0]


def _url(value: str | None, key: str) -> str | None:
    """Empty means unset; script URLs are refused (they would run in the operator's session)."""
    if not value:
        return None
    scheme = urlsplit(value).scheme.lower()
    if scheme in _UNSAFE_SCHEMES:
        log.warning("ignoring %s%s: %s: URLs are not allowed", PREFIX, key, scheme)
        return None
    return value
