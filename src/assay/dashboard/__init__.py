"""The built-in dashboard served at ``/workflow/``.

Static ES modules and CSS under ``static/`` (package data, no build step, no CDN), one
Jinja2 template for the page, the whitelabel settings in :mod:`.whitelabel`, and the
routes the app mounts in :mod:`.routes` (``dashboard_routes``).
"""
