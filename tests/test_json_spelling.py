"""A result's ``remote_fields`` is listed back in the vendor's own spelling, and its ``attributes`` as the hub
serialized them, byte for byte on both backends (``result_revisions`` keeps their text: ``json`` on PostgreSQL
since migration 0007, text on SQLite); migration 0007 keeps the values of the rows PostgreSQL stored as
``jsonb``, and its downgrade works.

The listing's raw answer is compared, not its parsed JSON: parsing forgets exactly what is at stake (key
order, a key given twice, ``1e3`` against ``1000.0``, ``-0.0``, spacing)."""

from __future__ import annotations

import decimal
import functools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment.models import ResultRevisionRow
from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import record_result, set_packages
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.base import Base
from assessment_hub.db.migrate import alembic_config, upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.kit.body import member_texts
from assessment_hub.kit.states import ResultStatus
from tests.support import Tenant, in_process_hub

REMOTE_FIELDS = (
    '{"b": 1, "a": -0.0, "c": 1e3, "d": 1.50,\n'
    ' "nested" :{"z":[1.0E-5 , 2e+2, -0, 12345678901234567890123], "y": "\\u00e9é\\"", "z": {"k" :true}},'
    ' "b": null}'
)
"""Key order, a key given twice (here and nested), ``-0.0``, exponents, a trailing zero, big integers,
escapes and spacing: everything ``jsonb`` (and a decode/encode) would change."""

BASE = '{"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "completed_at": "2024-01-01T00:00:00Z"'


def put_text(tenant: Tenant, order_id: str, body: str) -> None:
    with tenant.client() as client:
        response = client.put(
            f"/assessment/orders/{order_id}/result", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 200, response.text


def listing_text(tenant: Tenant, order_id: str, path: str = "/assessment/orders") -> str:
    with tenant.client() as client:
        response = client.get(path, params={"ids": order_id} if path == "/assessment/orders" else {})
    assert response.status_code == 200, response.text
    return response.text


def test_remote_fields_are_listed_as_the_vendor_wrote_them(tenant: Tenant) -> None:
    order_id = tenant.create_order()
    put_text(tenant, order_id, BASE + ', "remote_fields": ' + REMOTE_FIELDS + "}")
    listed = listing_text(tenant, order_id)
    assert '"remote_fields":' + REMOTE_FIELDS + ',"received_at":' in listed
    # the same values as the stored row decodes to (what the worker writes back, what order_view shows)
    (order,) = json.loads(listed)["data"]["results"]
    with tenant.hub.sessions() as session:
        stored = session.scalars(select(ResultRevisionRow.remote_fields).where(ResultRevisionRow.order_id == order_id))
        (value,) = stored.all()
    assert order["result"]["remote_fields"] == value == json.loads(REMOTE_FIELDS)
    assert value["b"] is None and value["c"] == 1000.0 and str(value["a"]) == "-0.0"


def test_the_last_remote_fields_given_is_kept_whatever_its_name_spelling(tenant: Tenant) -> None:
    """A top-level member given twice keeps its last value (pydantic's rule); its text is that one's, also
    when the name is written with escapes. An OPEN result lists on /orders/open the same way."""
    order_id = tenant.create_order()
    last = '{ "k" : [ 1.0 ] }'
    body = (
        '{"status": "OPEN", "remote_fields": {"first": 1}, "result_url": "https://v.example/1",'
        ' "remote\\u005ffields": ' + last + " }"
    )
    put_text(tenant, order_id, body)
    for path in ("/assessment/orders", "/assessment/orders/open"):
        listed = listing_text(tenant, order_id, path)
        assert '"remote_fields":' + last + ',"received_at":' in listed, path


@pytest.mark.parametrize("member", ["", ', "remote_fields": null', ', "remote_fields" : {}'])
def test_no_remote_fields_null_and_empty(tenant: Tenant, member: str) -> None:
    order_id = tenant.create_order()
    put_text(tenant, order_id, BASE + member + "}")
    expected = "{}" if "{}" in member else "null"
    assert '"remote_fields":' + expected + ',"received_at":' in listing_text(tenant, order_id)


def test_attributes_are_listed_as_the_hub_serialized_them(tenant: Tenant) -> None:
    """The same text on both backends: today's shape in the hub's key order, numbers as Python writes them.
    (With ``jsonb``, PostgreSQL listed the keys shortest first and 1.5e308 as 309 digits, an int to Python.)"""
    order_id = tenant.create_order()
    attributes = [
        {"type": "TEXT", "label": "Résumé", "value": "ok"},
        {
            "status": "COMPLETED",
            "score": {"max": 1e300, "value": 1.5e308},
            "label": "Part",
            "id": "s1",
            "type": "SUB_RESULT",
        },
        {"field": "legacy", "value": "-0.0"},
    ]
    put_text(tenant, order_id, BASE + ', "attributes": ' + json.dumps(attributes) + "}")
    normalized = [
        {"type": "TEXT", "label": "Résumé", "value": "ok"},
        {
            "type": "SUB_RESULT",
            "id": "s1",
            "label": "Part",
            "score": {"value": 1.5e308, "max": 1e300},
            "status": "COMPLETED",
        },
        {"type": "TEXT", "label": "legacy", "value": "-0.0"},
    ]
    listed = listing_text(tenant, order_id)
    assert '"attributes":' + json.dumps(normalized) + ',"attachments":' in listed
    assert '"value": 1.5e+308, "max": 1e+300' in listed


def test_member_texts() -> None:
    text = ' {"a": 1, "remote\\u005ffields" :\n {"b": 1, "b": [2.50]}\t, "x": "}", "remote_fields": { } } '
    assert member_texts(text, {"remote_fields", "a", "missing"}) == {"a": "1", "remote_fields": "{ }"}
    assert member_texts('{"x": "{\\"remote_fields\\": 1}"}', {"remote_fields"}) == {}
    assert member_texts("{}", {"a"}) == {} and member_texts('{"a":null}', {"a"}) == {"a": "null"}
    assert member_texts('{"a": ' + "9" * 5000 + "}", {"a"}) == {"a": "9" * 5000}  # numbers are not converted
    for broken in ("[]", "", '{"a" 1}', '{"a": 1 "b": 2}', "{1: 2}", '{"a": 1'):
        with pytest.raises(ValueError):
            member_texts(broken, {"a"})


# ------------------------------------------------------------------------------------------- migration 0007


def _column_types(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            rows = connection.execute(
                sa.text(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'result_revisions'"
                )
            )
        else:
            rows = connection.execute(sa.text("SELECT name, type FROM pragma_table_info('result_revisions')"))
        types = dict(rows.tuples().all())
    return {name: types[name].lower() for name in ("attributes", "remote_fields", "warnings")}


def _texts(engine: Engine) -> dict[str, tuple[str, str | None]]:
    """Each revision's ``attributes`` and ``remote_fields`` as the database holds them (cast to text)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT id, CAST(attributes AS TEXT), CAST(remote_fields AS TEXT) FROM result_revisions ORDER BY id"
            )
        )
        return {row[0]: (row[1], row[2]) for row in rows}


def _insert_revision(engine: Engine, order_id: str, revision: int, attributes: str, remote_fields: str | None) -> str:
    """A revision row written as SQL, the JSON documents given as text (cast to the column's type)."""
    json_type = "jsonb" if _column_types(engine)["remote_fields"] == "jsonb" else "json"
    cast = (lambda p: f"CAST({p} AS {json_type})") if engine.dialect.name == "postgresql" else (lambda p: p)
    revision_id = f"rev{revision:021d}"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO result_revisions (id, order_id, revision, status, result_url, attributes, remote_fields,"
                f" warnings, created_at) VALUES (:id, :order_id, :revision, 'COMPLETED', 'https://v.example/r',"
                f" {cast(':attributes')}, {cast(':remote_fields')}, {cast(':warnings')}, :created_at)"
            ),
            {
                "id": revision_id,
                "order_id": order_id,
                "revision": revision,
                "attributes": attributes,
                "remote_fields": remote_fields,
                "warnings": "[]",
                "created_at": "2026-12-03 10:00:00.000000",
            },
        )
    return revision_id


def test_migration_0007_keeps_the_values_of_jsonb_rows_and_downgrades(engine: Engine) -> None:
    postgres = engine.dialect.name == "postgresql"
    upgrade(engine, "0006")
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        integration = create_integration(session, "sandbox", "Spelling Org")
        set_packages(session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
        order_id = create_sandbox_order(session, integration.id, "1001", seed=1).id
    attributes = '[{"type": "TEXT", "label": "Résumé", "value": "ok", "score": 1e3}]'
    old = _insert_revision(engine, order_id, 101, attributes, REMOTE_FIELDS)
    nothing = _insert_revision(engine, order_id, 102, "[]", None)
    sqlite_types = {"attributes": "json", "remote_fields": "json", "warnings": "json"}  # unchanged throughout
    assert _column_types(engine) == ({name: "jsonb" for name in sqlite_types} if postgres else sqlite_types)
    before = _texts(engine)
    if postgres:  # what jsonb made of the vendor's text: the values, in its own spelling
        assert before[old][1] != REMOTE_FIELDS and json.loads(before[old][1]) == json.loads(REMOTE_FIELDS)
    else:
        assert before[old] == (attributes, REMOTE_FIELDS)

    upgrade(engine)
    after = _column_types(engine)
    assert after == ({**sqlite_types, "warnings": "jsonb"} if postgres else sqlite_types)
    assert _texts(engine) == before  # the rows there keep the text they had (jsonb's, on PostgreSQL)
    assert before[nothing] == ("[]", None)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with sessionmaker(engine)() as session:
        row = session.get(ResultRevisionRow, old)
        assert row is not None
        assert (row.attributes, row.remote_fields) == (json.loads(attributes), json.loads(REMOTE_FIELDS))
    result = NormalizedResult(
        ResultStatus.COMPLETED,
        "https://v.example/r",
        datetime(2026, 12, 3, tzinfo=UTC),
        None,
        None,
        json.loads(attributes),
        json.loads(REMOTE_FIELDS),
        remote_fields_text=REMOTE_FIELDS,
    )
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        new = record_result(session, integration.id, order_id, result, []).id  # the write path of PUT .../result
    hub_attributes = json.dumps(json.loads(attributes))  # the hub's serialization of today's shape
    assert _texts(engine)[new] == (hub_attributes, REMOTE_FIELDS)  # written from now on: kept as written

    command.downgrade(alembic_config(engine), "0006")
    assert _column_types(engine) == ({**after, "attributes": "jsonb", "remote_fields": "jsonb"} if postgres else after)
    downgraded = _texts(engine)
    assert downgraded[old] == before[old] and downgraded[nothing] == ("[]", None)
    if postgres:  # respelled by jsonb again: the values stay
        assert downgraded[new][1] == before[old][1] and json.loads(downgraded[new][0]) == json.loads(attributes)
    else:
        assert downgraded[new] == (hub_attributes, REMOTE_FIELDS)
    upgrade(engine)
    assert _column_types(engine) == after


EDGE_REMOTE_FIELDS = (
    '{"max": 1.7976931348623157e308, "min": -1.7976931348623157e308, "int": '
    + str(int(1.7976931348623157e308))
    + ', "tiniest": 4.9e-324, "exact": '
    + format(decimal.Decimal(5e-324), "f")
    + ', "zeros": [0e-1100, -0.0, 0E+1100], "long": 1.'
    + "0" * 1099
    + ', "k": 1, "k": 1e-300}'
)
"""Numbers at the edges of the rule (kit.body.NUMBER_RULE) that the hub takes, as a vendor may write them:
each converts to jsonb's numeric (migration 0007's downgrade)."""


def test_results_stored_after_0007_downgrade_to_0006_and_upgrade_again(
    engine: Engine, own_database_url: str, tmp_path: Path
) -> None:
    """docs/deployment.md documents the downgrade 0007 -> 0006: it must work over what the hub stored since
    (found by a trial: 1e-20000 in remote_fields, taken by json, made it fail with NumericValueOutOfRange)."""
    postgres = engine.dialect.name == "postgresql"
    with in_process_hub(own_database_url, tmp_path / "hub") as hub:
        tenant = hub.new_tenant()
        tenant.publish("1001")
        order_id = tenant.create_order()
        attributes = (
            '[{"type": "SUB_RESULT", "id": "s", "label": "S", "status": "COMPLETED",'
            ' "score": {"value": 4.9e-324, "max": 1.7976931348623157e308}}]'
        )
        put_text(
            tenant,
            order_id,
            BASE
            + ', "score": 2.5e-324, "attributes": '
            + attributes
            + ', "remote_fields": '
            + EDGE_REMOTE_FIELDS
            + "}",
        )
        assert '"remote_fields":' + EDGE_REMOTE_FIELDS + ',"received_at":' in listing_text(tenant, order_id)
        for beyond in ("1e-20000", "0." + "1" * 16384, "0e-20000", "1e-99999999999"):  # numeric holds none
            refused = tenant.create_order()
            with tenant.client() as client:
                response = client.put(
                    f"/assessment/orders/{refused}/result",
                    content=BASE + ', "remote_fields": {"a": ' + beyond + "}}",
                    headers={"Content-Type": "application/json"},
                )
            assert response.status_code == 400, response.text

    def exact(texts: dict[str, tuple[str, str | None]]) -> dict[str, tuple[object, object]]:
        """Each revision's documents, their numbers as exact decimals (jsonb writes 1.7976931348623157e308
        as its 309 digits: the same value)."""
        loads = functools.partial(json.loads, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
        return {revision: (loads(a), loads(r or "null")) for revision, (a, r) in texts.items()}

    stored = _texts(engine)
    command.downgrade(alembic_config(engine), "0006")
    assert _column_types(engine)["remote_fields"] == ("jsonb" if postgres else "json")
    downgraded = _texts(engine)
    assert exact(downgraded) == exact(stored)
    if postgres:  # respelled by jsonb, which converted every number to numeric
        assert downgraded != stored
    upgrade(engine)
    assert _column_types(engine)["remote_fields"] == "json"
    assert exact(_texts(engine)) == exact(stored)
    with in_process_hub(own_database_url, tmp_path / "hub") as hub:
        again = Tenant(hub, tenant.api_key, tenant.integration_id)
        listed = json.loads(listing_text(again, order_id), parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    (order,) = listed["data"]["results"]
    assert order["result"]["remote_fields"] == exact({"": ("[]", EDGE_REMOTE_FIELDS)})[""][1]


def test_results_stored_before_this_version_list_in_the_spelling_they_were_stored_in(
    engine: Engine, own_database_url: str, tmp_path: Path
) -> None:
    """docs/api.md's exceptions to "listed in the vendor's spelling": on SQLite too, a result stored before
    this version was stored as the hub serialized its value (``json.dumps``: ``1e3`` as ``1000.0``, ``1.50`` as
    ``1.5``, a key given twice once, ``é`` as ``\\u00e9``), and it lists that way; on PostgreSQL, as ``jsonb``
    respelled it."""
    from assessment_hub.integrations.service import create_api_key

    upgrade(engine, "0006")
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        integration = create_integration(session, "sandbox", "Old Spelling Org")
        api_key = create_api_key(session, "old")
        set_packages(session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
        order_id = create_sandbox_order(session, integration.id, "1001", seed=2).id
    vendor = '{"b": 1e3, "a": 1.50, "é": [-0.0], "b": 2}'
    old_sqlite = json.dumps(json.loads(vendor))  # what SQLAlchemy's JSON type wrote on SQLite before
    assert old_sqlite == '{"b": 2, "a": 1.5, "\\u00e9": [-0.0]}'
    revision_id = _insert_revision(engine, order_id, 1, "[]", old_sqlite if engine.dialect.name == "sqlite" else vendor)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE orders SET latest_result_id = :r, status = 'COMPLETED' WHERE id = :o"),
            {"r": revision_id, "o": order_id},
        )
    stored = _texts(engine)
    (old_text,) = [remote_fields for _, remote_fields in stored.values()]
    assert old_text is not None and old_text != vendor
    with in_process_hub(own_database_url, tmp_path / "hub") as hub:  # migrates to the head
        listed = listing_text(Tenant(hub, api_key, integration.id), order_id)
    assert '"remote_fields":' + old_text + ',"received_at":' in listed
    assert json.loads(listed)["data"]["results"][0]["result"]["remote_fields"] == json.loads(vendor)
