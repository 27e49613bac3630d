"""Protocol-faithful fake ATS servers (Greenhouse, Teamtailor, Ashby) for tests.

Each fake plays both sides of one ATS's assessment-partner protocol:
the ATS's *client* side (calling the hub the way that ATS does) and the ATS's
*server* side (a real loopback HTTP app accepting the hub's write-backs).
See docs/connectors/<ats>.md for the protocol each fake encodes.
"""
