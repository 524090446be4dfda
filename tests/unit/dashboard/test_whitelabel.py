"""ASSAY_WHITELABEL_* parsing: defaults, unset versus empty, derived values."""

from __future__ import annotations

import pytest

from assay.dashboard.whitelabel import DEFAULT_API_DOCS_URL, PREFIX, VARIABLES, Whitelabel


def wl(**values: str) -> Whitelabel:
    return Whitelabel.from_env({PREFIX + k: v for k, v in values.items()})


def test_all_eleven_variables_are_known():
    assert len(VARIABLES) == 11
    assert set(VARIABLES) == {
        "NAME", "LOGO_URL", "PAGE_TITLE", "PARENT_URL", "PARENT_NAME", "API_DOCS_URL",
        "CSS_URL", "SUBTITLE", "MARK", "FAVICON_URL", "DEFAULT_NAMESPACE",
    }


def test_defaults_match_the_seed():
    brand = Whitelabel.from_env({})
    assert brand.name == "Assay"
    assert brand.logo_url is None
    assert brand.page_title == "Assay Workflow Dashboard"
    assert brand.parent_url is None
    assert brand.parent_name == "Back"
    assert brand.api_docs_url == DEFAULT_API_DOCS_URL == "/api/v1/engine/workflow/docs"
    assert brand.css_url is None
    assert brand.subtitle is None
    assert brand.mark == "A"
    assert brand.favicon_url is None
    assert brand.default_namespace == "main"
    assert brand == Whitelabel()


def test_unconfigured_deployment_is_not_customised():
    # The original's default subtitle made every install say "Powered by".
    assert Whitelabel.from_env({}).customised is False


@pytest.mark.parametrize(
    "values",
    [{"NAME": "Acme"}, {"SUBTITLE": "ops"}, {"LOGO_URL": "/l.svg"}, {"CSS_URL": "/t.css"}, {"FAVICON_URL": "/f.ico"}],
)
def test_branding_makes_it_customised(values):
    assert wl(**values).customised is True


def test_api_docs_url_unset_keeps_default_and_empty_hides():
    assert wl().api_docs_url == DEFAULT_API_DOCS_URL
    assert wl(API_DOCS_URL="").api_docs_url is None
    assert wl(API_DOCS_URL="   ").api_docs_url is None
    assert wl(API_DOCS_URL="https://docs.example/api").api_docs_url == "https://docs.example/api"


def test_mark_defaults_to_first_character_of_name_uppercased():
    assert wl(NAME="acme").mark == "A"
    assert wl(NAME="ünicorn").mark == "Ü"
    assert wl(NAME="acme", MARK="★").mark == "★"
    assert wl(NAME="acme", MARK="").mark == "A"
    assert wl(NAME="").mark == "A"


def test_empty_values_fall_back_where_empty_would_break_the_page():
    brand = wl(PAGE_TITLE="", PARENT_NAME=" ", DEFAULT_NAMESPACE="")
    assert brand.page_title == "Assay Workflow Dashboard"
    assert brand.parent_name == "Back"
    assert brand.default_namespace == "main"


def test_empty_name_and_subtitle_mean_no_text():
    brand = wl(NAME="", SUBTITLE="")
    assert brand.name == ""
    assert brand.subtitle is None


def test_empty_urls_mean_unset():
    brand = wl(LOGO_URL="", PARENT_URL="", CSS_URL="", FAVICON_URL="")
    assert (brand.logo_url, brand.parent_url, brand.css_url, brand.favicon_url) == (None, None, None, None)


def test_values_are_trimmed():
    brand = wl(NAME="  Acme  ", PARENT_URL=" /console ")
    assert brand.name == "Acme"
    assert brand.parent_url == "/console"


def test_script_urls_are_refused():
    brand = wl(LOGO_URL="javascript:alert(1)", PARENT_URL="JavaScript:alert(1)", CSS_URL="vbscript:x")
    assert (brand.logo_url, brand.parent_url, brand.css_url) == (None, None, None)
    assert wl(LOGO_URL="data:image/svg+xml;base64,AAAA").logo_url.startswith("data:")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/static/theme.css", "/static/theme.css?v=123"),
        ("/static/theme.css?build=7", "/static/theme.css?build=7&v=123"),
        ("https://cdn.example/t.css#x", "https://cdn.example/t.css?v=123#x"),
    ],
)
def test_css_href_appends_the_asset_version(url, expected):
    assert wl(CSS_URL=url).css_href("123") == expected


def test_css_href_absent_without_css_url():
    assert wl().css_href("123") is None


def test_other_variables_are_ignored():
    assert Whitelabel.from_env({"ASSAY_WHITELABEL_UNKNOWN": "x", "NAME": "nope"}) == Whitelabel()
