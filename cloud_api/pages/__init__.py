"""Server-rendered staff pages under ``/staff`` (Jinja2 templates, inline SVG charts)."""
