"""``python -m assessment_hub``: the command line, for when ``assessment-hub`` is not on PATH."""

from assessment_hub.cli import app

app(prog_name="assessment-hub")
