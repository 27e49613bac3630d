"""Connect: the vendor's customers connect their own ATS (kombo-contract.md §6, the embed protocol of
``@kombo-api/connect``; docs/connect.md).

- ``schemas``: the body of ``POST /v1/connect/create-link`` and the deprecated activate call;
- ``models``: ``ConnectLinkRow``, one link and what became of it;
- ``forms``: per tool, what the connect page asks the customer for and how the hub checks it;
- ``service``: create, find, complete and exchange links;
- ``page``: rendering the connect page (Jinja2 templates, its Content-Security-Policy);
- ``routes``: the vendor API (``/v1/connect/*``), the page (``/connect/{token}``), ``/admin/connect/links``.
"""
