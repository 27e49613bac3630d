"""The tests' names for the package simulators of Greenhouse, Teamtailor and Ashby
(``assessment_hub.simulators.<tool>``, where every protocol check lives), with the fakes' test API.

Each fake plays both sides of one ATS's assessment-partner protocol:
the ATS's *client* side (calling the hub the way that ATS does) and the ATS's
*server* side (a real loopback HTTP app accepting the hub's write-backs).
See docs/connectors/<ats>.md for the protocol each fake encodes.

Quick use (hub tests)::

    from tests.fakes.greenhouse import FakeGreenhouse
    with FakeGreenhouse.from_setup(setup_values_from_hub) as gh:   # starts the fake's server
        pid = gh.send_test("pkg-1", email="c@example.com")       # calls the hub like Greenhouse
        ...hub writes back...                                     # PATCH lands on gh.server_url
        gh.wait_for_received(1); status = gh.wait_for_pull(pid)

All fakes share: ``server_url``, ``mode`` / ``set_mode("ok"|"503"|"timeout"|"401")``,
``hold_seconds``, ``received`` / ``rejected`` / ``requests`` (RecordedRequest lists),
``wait_for_received()``, ``clear()``, ``start_server()`` / ``stop_server()``.
"""
