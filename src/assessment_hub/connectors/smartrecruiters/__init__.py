"""SmartRecruiters (Assessment API 2021): SmartRecruiters takes a token from the hub and calls ``/packages`` and
``/packages/orders``; the hub writes results with ``PATCH {resultCallbackURL}``. See docs/connectors/smartrecruiters.md."""
