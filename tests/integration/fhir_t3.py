#!/usr/bin/python3
"""DOMAIN.md §1.4's worked example through the real FHIR ingest path: the
real server with an organisation that has a FHIR channel; an
integration_admin posts the Schedules of physicians A-E and their Slots
(with an urgent free slot, a booked one and a slot entered in error that
must not count) to /fhir/r4 over HTTP; a leader then reads
GET /api/v1/t3?unit=tx at Monday 2025-03-03 08:00 Helsinki time:
T3 = 14 days with n = 5 and 1 censored under THL's rule, 12 without
censored values. A resend of a Slot changes nothing (200, counted as a
duplicate); an invalid Slot gets an OperationOutcome naming the element;
a batch Bundle answers per entry; a transaction Bundle is applied all or
nothing (one bad entry, named in the OperationOutcome, refuses it all);
the other roles are refused; after a restart (books and Schedules rebuilt
from the store) T3 is the same and new Slots still find their Schedules,
also one that came in a transaction."""
import json
import os
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

ORG = {
    "id": "hva", "name": {"fi": "Testi"},
    "units": [
        {"id": "hva", "type": "county", "name": {"fi": "Alue"}},
        {"id": "tx", "type": "health_station", "parent": "hva",
         "name": {"fi": "Terveysasema X"}},
        {"id": "ty", "type": "health_station", "parent": "hva",
         "name": {"fi": "Terveysasema Y"}},
    ],
    "channels": [
        {"id": "fh", "type": "fhir",
         "locations": {"Location/X": "tx", "1.2.246.10.2": "ty"}},
    ],
}

# Helsinki is UTC+2 in early March.
HKI = timezone(timedelta(hours=2))


def at(day, hour=12):
    return datetime(2025, 3, day, hour, 0, tzinfo=HKI)


SLOTS = [  # (professional, day, status, appointment type code)
    ("A", 3, "free", "ROUTINE"), ("A", 4, "free", "ROUTINE"),
    ("A", 10, "free", "ROUTINE"), ("A", 3, "free", "URGENT"),
    ("A", 3, "busy", "ROUTINE"), ("A", 5, "busy-unavailable", "ROUTINE"),
    ("B", 12, "free", "ROUTINE"), ("B", 13, "free", "ROUTINE"),
    ("B", 13, "free", "ROUTINE"),
    ("C", 5, "free", "ROUTINE"), ("C", 6, "free", "ROUTINE"),
    ("C", 20, "free", "ROUTINE"), ("C", 24, "free", "ROUTINE"),
    ("D", 6, "free", "ROUTINE"), ("D", 7, "free", "ROUTINE"),
    ("D", 17, "free", "ROUTINE"),
    ("E", 4, "free", "ROUTINE"), ("E", 5, "free", "ROUTINE"),
    ("E", 4, "free", "KIIREELLINEN"), ("E", 6, "busy", "ROUTINE"),
]


def schedule(p):
    return {
        "resourceType": "Schedule", "id": "sched-" + p,
        "specialty": [{"coding": [{"code": "physician"}]}],
        "actor": [{"reference": "Practitioner/prac-" + p},
                  {"reference": "Location/X"}],
    }


def slot(i, p, day, status, code):
    start = at(day)
    return {
        "resourceType": "Slot", "id": "slot-%d" % i,
        "schedule": {"reference": "Schedule/sched-" + p},
        "status": status,
        "appointmentType": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0276",
            "code": code}]},
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=20)).isoformat(),
    }


CT = {"Content-Type": "application/fhir+json"}


def post(srv, tok, path, res, want, ct=CT):
    st, body, hdr = srv.request("POST", path, token=tok, headers=ct,
                                body=json.dumps(res).encode())
    check(st == want, "POST %s -> %d (want %d): %s" % (path, st, want, body[:300]))
    check(hdr.get("content-type", "").startswith("application/fhir+json"),
          "content type %r" % hdr.get("content-type"))
    return json.loads(body), hdr


def t3(srv, tok):
    return srv.get_json("/api/v1/t3?unit=tx&group=physician"
                        "&at=2025-03-03T06:00:00Z", token=tok)


def check_t3(r, label):
    check(r["n"] == 5, "%s: n %r" % (label, r))
    check(r["censored"] == 1, "%s: censored %r" % (label, r))
    check(r["thl"]["median"] == 14, "%s: THL median %r" % (label, r))
    check(r["excluding_censored"]["n"] == 4, "%s: excl n %r" % (label, r))
    check(r["excluding_censored"]["median"] == 12, "%s: excl median %r" % (label, r))


def main():
    tmp, data = init_data()
    org_path = os.path.join(data, "org.json")
    with open(org_path, "w", encoding="utf-8") as f:
        json.dump(ORG, f)
    ops = user_token(data, "ops", "integration_admin", "hva")
    lead = user_token(data, "lead", "leader", "hva")
    srv = Server(data).start()
    try:
        # Only the feeds permission may post.
        st, body, _ = srv.request("POST", "/fhir/r4/Schedule", token=lead,
                                  headers=CT, body=json.dumps(schedule("A")).encode())
        check(st == 403, "leader may not post: %d %s" % (st, body[:200]))
        st, body, _ = srv.request("POST", "/fhir/r4/Schedule", token="",
                                  headers=CT, body=json.dumps(schedule("A")).encode())
        check(st == 401, "no token: %d" % st)

        # A Slot before its Schedule: refused, naming the element.
        oo, _ = post(srv, ops, "/fhir/r4/Slot", slot(0, "A", 3, "free", "ROUTINE"), 422)
        check(oo["resourceType"] == "OperationOutcome", "outcome %r" % oo)
        check(oo["issue"][0]["expression"] == ["Slot.schedule"], "expr %r" % oo)

        for p in "ABCDE":
            res, hdr = post(srv, ops, "/fhir/r4/Schedule", schedule(p), 201)
            check(res["id"] == "sched-" + p, "echo %r" % res)
            check(hdr.get("location") == "/fhir/r4/Schedule/sched-" + p,
                  "location %r" % hdr.get("location"))
        # application/json is accepted too.
        for i, (p, day, st_, code) in enumerate(SLOTS):
            post(srv, ops, "/fhir/r4/Slot", slot(i, p, day, st_, code), 201,
                 ct=CT if i % 2 else {"Content-Type": "application/json"})
        # C's day-6 slot is withdrawn as entered in error (PUT).
        i6 = [i for i, s in enumerate(SLOTS) if s[0] == "C" and s[1] == 6][0]
        gone = slot(i6, "C", 6, "entered-in-error", "ROUTINE")
        st, body, _ = srv.request("PUT", "/fhir/r4/Slot/slot-%d" % i6, token=ops,
                                  headers=CT, body=json.dumps(gone).encode())
        check(st == 200, "PUT -> %d %s" % (st, body[:200]))

        r = t3(srv, lead)
        check_t3(r, "after ingest")
        check(r["unit"] == "tx" and r["group"] == "physician", "labels %r" % r)

        # A resend changes nothing.
        st, body, _ = srv.request("POST", "/fhir/r4/Slot", token=ops, headers=CT,
                                  body=json.dumps(slot(1, "A", 4, "free", "ROUTINE")).encode())
        check(st == 200, "resend -> %d %s" % (st, body[:200]))
        check(t3(srv, lead) == r, "resend changed T3")
        s = srv.get_json("/api/v1/status", token=ops)
        check(s["messages"]["duplicates"] == 1, "duplicates %r" % s["messages"])

        # Invalid Slots: the element is named.
        bad = slot(90, "A", 11, "free", "ROUTINE")
        del bad["start"]
        oo, _ = post(srv, ops, "/fhir/r4/Slot", bad, 422)
        check(oo["issue"][0]["expression"] == ["Slot.start"], "expr %r" % oo)
        bad = slot(91, "A", 11, "open", "ROUTINE")
        oo, _ = post(srv, ops, "/fhir/r4/Slot", bad, 422)
        check(oo["issue"][0]["expression"] == ["Slot.status"], "expr %r" % oo)
        oo, _ = post(srv, ops, "/fhir/r4/Schedule", slot(92, "A", 11, "free", "R"), 400)
        check(oo["issue"][0]["expression"] == ["resourceType"], "expr %r" % oo)
        st, body, _ = srv.request("POST", "/fhir/r4/Slot", token=ops, headers=CT,
                                  body=b"{not json")
        check(st == 400 and "OperationOutcome" in body, "not json: %d %s" % (st, body))
        st, body, _ = srv.request("POST", "/fhir/r4/Slot", token=ops,
                                  headers={"Content-Type": "text/plain"}, body=b"{}")
        check(st == 415, "media type: %d" % st)
        check(t3(srv, lead) == r, "refusals changed T3")

        # A batch: one good entry (not counted: booked), one bad.
        batch = {"resourceType": "Bundle", "type": "batch", "entry": [
            {"resource": slot(93, "B", 4, "busy", "ROUTINE"),
             "request": {"method": "POST", "url": "Slot"}},
            {"resource": {**slot(94, "B", 4, "free", "ROUTINE"), "end": "soon"},
             "request": {"method": "POST", "url": "Slot"}},
        ]}
        resp, _ = post(srv, ops, "/fhir/r4", batch, 200)
        check(resp["type"] == "batch-response", "bundle %r" % resp)
        check(resp["entry"][0]["response"]["status"] == "201 Created", "%r" % resp)
        e1 = resp["entry"][1]["response"]
        check(e1["status"].startswith("422") and
              e1["outcome"]["issue"][0]["expression"] == ["Slot.end"], "%r" % e1)
        check(t3(srv, lead) == r, "batch changed T3")

        # A transaction: all or nothing. Physician F at station Y (by the
        # Location's identifier), its Schedule and three Slots in one Bundle.
        sf = schedule("F")
        sf["actor"] = [{"reference": "Practitioner/prac-F"},
                       {"identifier": {"value": "1.2.246.10.2"}}]
        tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": sf, "request": {"method": "PUT", "url": "Schedule/sched-F"}}]}
        for k, day in enumerate((4, 5, 6)):
            tx["entry"].append({"resource": slot(200 + k, "F", day, "free", "ROUTINE"),
                                "request": {"method": "POST", "url": "Slot"}})
        bad = json.loads(json.dumps(tx))
        del bad["entry"][2]["resource"]["start"]
        oo, _ = post(srv, ops, "/fhir/r4", bad, 422)
        check(oo["issue"][0]["expression"] == ["Bundle.entry[2].resource.start"],
              "transaction expr %r" % oo)
        ty = "/api/v1/t3?unit=ty&at=2025-03-03T06:00:00Z"
        check(srv.get_json(ty, token=lead)["n"] == 0, "a refused transaction applied")
        resp, _ = post(srv, ops, "/fhir/r4", tx, 200)
        check(resp["type"] == "transaction-response" and
              [e["response"]["status"] for e in resp["entry"]] ==
              ["200 OK", "201 Created", "201 Created", "201 Created"], "%r" % resp)
        ry = srv.get_json(ty, token=lead)
        check(ry["n"] == 1 and ry["thl"]["median"] == 3, "station Y %r" % ry)
        resp, _ = post(srv, ops, "/fhir/r4", tx, 200)
        check(srv.get_json(ty, token=lead) == ry, "transaction resend changed T3")
        check(t3(srv, lead) == r, "station Y changed station X")
    finally:
        srv.stop()

    # Restart: the books and the Schedules come back from the store.
    srv = Server(data).start()
    try:
        check_t3(t3(srv, lead), "after restart")
        # A new free slot for E (day 7): E now has 3 free slots, T3 4 days;
        # its Schedule must be known after the restart.
        post(srv, ops, "/fhir/r4/Slot", slot(95, "E", 7, "free", "ROUTINE"), 201)
        r = t3(srv, lead)
        check(r["n"] == 5 and r["censored"] == 0, "after new slot %r" % r)
        check(r["thl"]["median"] == 10, "median {4,7,10,14,21} %r" % r)
        # F's Schedule came with a transaction Bundle: known after restart.
        post(srv, ops, "/fhir/r4/Slot", slot(300, "F", 3, "free", "ROUTINE"), 201)
        ry = srv.get_json("/api/v1/t3?unit=ty&at=2025-03-03T06:00:00Z", token=lead)
        check(ry["n"] == 1 and ry["thl"]["median"] == 2, "station Y %r" % ry)
    finally:
        srv.stop()
    print("ok: T3 14 (n 5, 1 censored), 12 without censored, over FHIR")


if __name__ == "__main__":
    main()
