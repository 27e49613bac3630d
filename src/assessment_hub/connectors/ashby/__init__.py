"""Ashby (Assessments Partner API): Ashby calls ``assessment.list/start/cancel`` on the hub; the hub
writes results back with Ashby's ``assessment.update``. See docs/connectors/ashby.md."""
