"""Write each inline <script> only once per page.

With Sphinx 7.4 and Jupyter Book 1, the inline scripts that extensions add while the
build runs (sphinx-thebe's configuration, sphinx-togglebutton's selector) come out twice
in every page's <head>: Sphinx keeps one copy from its registry (filename "") and one
from the builder (filename None) and does not see them as equal. The second copy of
sphinx-thebe's `const THEBE_JS_URL = ...` then stops with "SyntaxError: Identifier
'THEBE_JS_URL' has already been declared" in the browser console, on every page
(tests/test_browser.py fails on console errors). This drops the later copies of an
identical script before the page is written.
"""


def _key(script):
    attributes = {k: v for k, v in getattr(script, "attributes", {}).items() if k != "priority"}
    # An inline script's filename is None when added to the builder, "" when it came
    # through the registry: the same script twice, unequal to Sphinx.
    return getattr(script, "filename", script) or None, tuple(sorted(attributes.items()))


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # the builder restores its own list after each page


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
