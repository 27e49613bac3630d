"""The operator console at ``/console``: server-rendered pages over the same services as the admin API.

``web.py`` (templates, the route class with security headers, static files), ``auth.py`` (sign-in,
signed session cookie, CSRF), ``routes.py`` (the pages). See docs/console.md.
"""
