"""The JSON a write sends is the JSON the SDK would have sent for the same records: both bodies
are captured on the wire (a response hook on the client's one Session, which the SDK's HTTP also
goes through) and compared parsed, for every writable field type the emulator has, nulls included,
for updates, inserts and upserts (real SDK, real HTTP, the emulator)."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from sergas_nb import frames
from sergas_nb.client import ZohoClient, connect
from sergas_nb.emulator.state import metadata as md


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01, retries=2)
    yield client
    client.close()


class Wire:
    """Bodies of record writes (POST/PUT on /crm/v8/<module>[/upsert]) as the server received them."""

    def __init__(self, crm: ZohoClient) -> None:
        self.bodies: list[tuple[str, str, Any]] = []
        crm._pipeline.session.hooks["response"].append(self._seen)

    def _seen(self, resp: Any, *args: Any, **kwargs: Any) -> None:
        req = resp.request
        path = req.path_url.split("?", 1)[0]
        if req.method in ("POST", "PUT") and path.startswith("/crm/v8/") and "coql" not in path:
            self.bodies.append((req.method, path, json.loads(req.body)))

    def take(self) -> tuple[str, str, Any]:
        assert len(self.bodies) == 1, [b[:2] for b in self.bodies]
        return self.bodies.pop()


def _writable(module: str) -> list[dict[str, Any]]:
    # Subform rows are refused before sending (tests/client/test_bad_input.py), so never on the wire.
    return [f for f in md.fields_for(module) if not frames.is_read_only(f) and f["data_type"] != "subform"]


def _value(f: dict[str, Any], n: int, ids: dict[str, str]) -> Any:
    kind = frames.kind_of(f)
    if kind == frames.TEXT:
        return f"{f['api_name']} é {n}"[: f.get("length") or 50] if f["data_type"] != "email" else f"x{n}@example.com"
    if kind == frames.INT:
        return n + 7
    if kind == frames.FLOAT:
        return 1234.5 + n
    if kind == frames.BOOL:
        return n % 2 == 0
    if kind == frames.DATE:
        return f"2024-0{n % 9 + 1}-1{n % 9}"
    if kind == frames.PICK:
        return frames.picklist_values(f)[n % len(frames.picklist_values(f))]
    if kind == frames.MULTI:
        return frames.picklist_values(f)[:2]
    if kind == frames.USER:
        return {"id": ids["user"]}
    if kind == frames.LOOKUP:
        target = f["lookup"]["module"]["api_name"]
        return {"id": ids[target]}
    raise AssertionError(f"no sample value for {f['api_name']} ({f['data_type']})")


def _rows(crm: ZohoClient, module: str, operation: str) -> list[dict[str, Any]]:
    ids = {m: str(crm.records(m, fields=["id"], limit=1)["id"].iloc[0]) for m in md.DUPLICATE_FIELDS}
    ids["user"] = str(crm.records("Accounts", fields=["Owner"], limit=1)["Owner.id"].iloc[0])
    existing = list(crm.records(module, fields=["id"], limit=3)["id"])
    rows = []
    for n in range(3):
        row = {f["api_name"]: _value(f, n, ids) for f in _writable(module)}
        if n == 2:  # nulls clear fields: sent as null by both
            for f in _writable(module):
                if not f["system_mandatory"]:
                    row[f["api_name"]] = None
        if operation == "update":
            row["id"] = existing[n]
        rows.append(row)
    return rows


@pytest.mark.parametrize("module", sorted(md.DUPLICATE_FIELDS))
@pytest.mark.parametrize("operation", ["update", "insert", "upsert"])
def test_the_json_sent_is_the_sdks_for_every_field_type(crm, module, operation):
    rows = _rows(crm, module, operation)
    meta = crm.field_metadata(module)
    fmap = frames.field_map(meta)
    kinds = {frames.kind_of(fmap[k]) for r in rows for k in r if k != "id"}
    assert {frames.TEXT, frames.PICK, frames.USER} <= kinds  # the test covers what it claims
    payload = frames.to_payload(rows, meta, operation)  # type: ignore[arg-type]
    wire = Wire(crm)
    crm._pipeline.sdk.write(module, operation, payload, fmap)
    sdk_method, sdk_path, sdk_body = wire.take()
    getattr(crm, operation)(module, rows, max_in_flight=1, progress=False)
    method, path, body = wire.take()
    assert (method, path) == (sdk_method, sdk_path)
    assert body == sdk_body


def test_every_kind_the_emulator_writes_is_covered():
    kinds = {(f["data_type"], frames.kind_of(f)) for m in md.DUPLICATE_FIELDS for f in _writable(m)}
    types = {t for t, _ in kinds}
    # the writable types of the emulator's metadata: if one is added, the sample values above must know it
    assert types == {
        "boolean",
        "currency",
        "date",
        "email",
        "integer",
        "lookup",
        "multiselectpicklist",
        "ownerlookup",
        "phone",
        "picklist",
        "text",
        "textarea",
        "website",
    }, types


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_datetimes_and_triggers_are_sent_as_the_sdk_sends_them(crm, monkeypatch, zone):
    # No emulator field takes a datetime, so a writable datetime field is added to the metadata the
    # write is built from; the SDK writes it in the machine's local offset, and so do we.
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        aid = str(crm.records("Accounts", fields=["id"], limit=1)["id"].iloc[0])
        fmap = frames.field_map(crm.field_metadata("Accounts"))
        fmap["Follow_Up_Time"] = {"api_name": "Follow_Up_Time", "data_type": "datetime", "json_type": "string"}
        when = dt.datetime(2024, 3, 5, 10, 20, 30, tzinfo=dt.UTC)
        payload = [{"id": aid, "Follow_Up_Time": frames.to_api_value(when, fmap["Follow_Up_Time"]), "Employees": 5}]
        wire = Wire(crm)
        crm._pipeline.sdk.write("Accounts", "update", payload, fmap, trigger=["workflow"])
        sdk_body = wire.take()
        send = crm._writer._json_sender("update", "Accounts", fmap, ["workflow"], None)
        send(payload)
        assert wire.take() == sdk_body
        sent = sdk_body[2]["data"][0]["Follow_Up_Time"]
        assert dt.datetime.fromisoformat(sent) == when
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_upsert_duplicate_check_fields_are_sent_as_the_sdk_sends_them(crm):
    payload = [{"Account_Name": "Dup Check JSON", "Account_Number": "A-1"}]
    fmap = frames.field_map(crm.field_metadata("Accounts"))
    wire = Wire(crm)
    crm._pipeline.sdk.write("Accounts", "upsert", payload, fmap, duplicate_check_fields=["Account_Number"])
    sdk_body = wire.take()
    crm.upsert("Accounts", payload, duplicate_check_fields=["Account_Number"], progress=False)
    assert wire.take() == sdk_body
