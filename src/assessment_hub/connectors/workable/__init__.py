"""Workable (assessment providers): Workable calls ``GET /tests`` and ``POST /assessments`` on the hub; the hub
writes results with ``PUT {callback_url}``. See docs/connectors/workable.md."""
