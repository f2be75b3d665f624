#!/usr/bin/python3
"""The access-to-care figures through the real server: SIU messages over
MLLP (S12 free slots of physicians A-E as in DOMAIN.md §1.4, sent on
Saturday 2025-03-01 at 10:00; then S12 "Complete" visits with a ZHT segment
sent on 2025-03-03 at 09:00, whose arrival takes the daily 08:00 T3
measurements of 03-02 and 03-03), a corrected visit (sent again with
another HTA) counted once, a visit cancelled with S15 removed; then
GET /api/v1/indicators/{id} (waiting-time median, share within 14 days,
compliance, T3 = 14 with n 5, 12 without censored values),
GET /api/v1/dashboards/health-stations (panels, children, by_child), the
CSV and XLSX export, and the 400/404 cases. After a restart (everything
rebuilt from the log) the figures are the same."""
import json
import os
from datetime import date, timedelta
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

ORG = {
    "id": "hva", "name": {"fi": "Testi"},
    "units": [
        {"id": "hva", "type": "county", "name": {"fi": "Alue", "sv": "Område",
                                                  "en": "County"}},
        {"id": "a1", "type": "area", "parent": "hva", "name": {"fi": "Etelä"}},
        {"id": "tx", "type": "health_station", "parent": "a1",
         "name": {"fi": "Terveysasema X"}},
        {"id": "a2", "type": "area", "parent": "hva", "name": {"fi": "Pohjoinen"}},
    ],
    "channels": [
        {"id": "sch", "type": "hl7v2",
         "sender": {"application": "SCHApp", "facility": "GHHSFacility"},
         "locations": {"TA1": "tx"}},
    ],
}

PID = "PID|1||131052-308T^^^1.2.246.21||Testi^Potilas||19521013|F\r"


def siu(trig, ctl, slot, prof, start, sent, reason="ROUTINE", status="",
        patient=False, zht=""):
    return ("MSH|^~\\&|SCHApp|GHHSFacility|TK|TK|%s||SIU^%s|%s|P|2.5\r"
            "SCH||%s|||||%s||30|min|||||||||||||||%s\r"
            "%s"
            "RGS|1\r"
            "AIS|1||VO^Vastaanotto|%s\r"
            "AIL|1||TA1\r"
            "AIP|1||%s|physician\r"
            "%s" % (sent, trig, ctl, slot, reason, status, PID if patient else "",
                    start, prof, zht)).encode()


def send_all(srv, msgs):
    s = socket.create_connection(("127.0.0.1", srv.mllp_port), timeout=10)
    try:
        for m in msgs:
            s.sendall(frame(m))
            ack = parse_ack(read_frame(s))
            check(ack["code"] == "AA", "not accepted: %r -> %r" % (m[:80], ack))
    finally:
        s.close()


# §1.4: (professional, day of March, hour, reason)
SLOTS = [("A", 3, 14, "ROUTINE"), ("A", 4, 10, "ROUTINE"), ("A", 10, 10, "ROUTINE"),
         ("A", 3, 15, "URGENT"),
         ("B", 12, 9, "ROUTINE"), ("B", 13, 9, "ROUTINE"), ("B", 13, 10, "ROUTINE"),
         ("C", 5, 9, "ROUTINE"), ("C", 20, 9, "ROUTINE"), ("C", 24, 9, "ROUTINE"),
         ("D", 6, 9, "ROUTINE"), ("D", 7, 9, "ROUTINE"), ("D", 17, 9, "ROUTINE"),
         ("E", 4, 9, "ROUTINE"), ("E", 5, 9, "ROUTINE"), ("E", 6, 9, "URGENT")]


def visit(ctl, appt, hta_day, wait):
    """A completed visit of professional F at tx: HTA on February hta_day
    at 09:00, first contact the day before, the visit 'wait' days later."""
    start = (date(2025, 2, hta_day) + timedelta(days=wait)).strftime("%Y%m%d") + "1000"
    zht = "ZHT|1|202502%02d0900|202502%02d0830|N|physician|IN_PERSON|\r" % (
        hta_day, hta_day - 1)
    return siu("S12", ctl, appt, "F", start + "00", "20250303090000",
               status="Complete", patient=True, zht=zht)


def point(srv, ind, query):
    body = srv.get_json("/api/v1/indicators/%s?%s" % (ind, query))
    check(body["indicator"] == ind, "indicator echoed: %r" % body)
    return body


def figures(srv):
    # waits {1,2,5,9,12,20} from the HTA on 02-02: median 7, n 6
    b = point(srv, "wait_physician_median", "unit=tx&from=2025-02-01&to=2025-02-28")
    check(b["unit"] == "tx" and b["period"] == "month" and b["from"] == "2025-02-01"
          and b["to"] == "2025-02-28", "series head: %r" % b)
    check(len(b["points"]) == 1, "one month: %r" % b)
    p = b["points"][0]
    check(set(p) == {"from", "to", "value", "n", "suppressed", "capped",
                     "rule_version", "rule_changed"}, "point keys: %r" % p)
    check(p["value"] == 7 and p["n"] == 6 and not p["suppressed"], "median: %r" % p)
    # from the first contact, a day earlier: 8
    p = point(srv, "wait_contact_physician_median",
              "unit=a1&from=2025-02-01&to=2025-02-28")["points"][0]
    check(p["value"] == 8, "contact median: %r" % p)
    # 5 of 6 within 14 days; within 7 (3) is a small numerator
    p = point(srv, "wait_physician_within_14", "unit=hva&from=2025-02-01&to=2025-02-28")["points"][0]
    check(abs(p["value"] - 500.0 / 6) < 1e-6, "within 14: %r" % p)
    p = point(srv, "wait_physician_within_7", "unit=tx&from=2025-02-01&to=2025-02-28")["points"][0]
    check(p["suppressed"] and p["value"] is None and p["n"] is None, "within 7: %r" % p)
    # 72 years old, 3 months: all met; the 2025 rule
    p = point(srv, "care_guarantee_primary_care", "unit=tx&from=2025-02-01&to=2025-02-28")["points"][0]
    check(p["value"] == 100 and p["n"] == 6 and p["rule_version"] == "2025-01-01",
          "compliance: %r" % p)
    # T3 measured at 08:00 on 03-03: 14 (n 5), 12 without censored values
    b = point(srv, "t3_physician", "unit=tx&period=day&from=2025-03-01&to=2025-03-03")
    pts = b["points"]
    check(len(pts) == 3, "three days: %r" % b)
    check(pts[0]["value"] is None, "03-01 was before the slots: %r" % pts[0])
    check(pts[1]["value"] == 15 and pts[1]["n"] == 5, "03-02: %r" % pts[1])
    check(pts[2]["value"] == 14 and pts[2]["n"] == 5, "03-03: %r" % pts[2])
    p = point(srv, "t3_physician_excl_censored",
              "unit=tx&period=day&from=2025-03-03&to=2025-03-03")["points"][0]
    check(p["value"] == 12 and p["n"] == 4, "excluding censored: %r" % p)
    p = point(srv, "t3_physician_censored",
              "unit=tx&period=day&from=2025-03-03&to=2025-03-03")["points"][0]
    check(p["value"] == 1, "censored: %r" % p)


def main():
    tmp, data = init_data()
    with open(os.path.join(data, "org.json"), "w") as f:
        json.dump(ORG, f)
    lead = user_token(data, "lead", "leader", "hva")
    other = user_token(data, "north", "leader", "a2")
    srv = Server(data).start()
    srv.token = lead
    try:
        msgs = [siu("S12", "S%d" % i, "SL%d" % i, prof,
                    "202503%02d%02d0000" % (day, hour), "20250301100000", reason=reason)
                for i, (prof, day, hour, reason) in enumerate(SLOTS)]
        send_all(srv, msgs)
        waits = [1, 2, 5, 9, 12]
        visits = [visit("V%d" % i, "VA%d" % i, 2, w) for i, w in enumerate(waits)]
        visits.append(visit("V5", "VA5", 2, 60))       # sent with a wrong HTA ...
        visits.append(visit("V5b", "VA5", 2, 20))      # ... and corrected
        visits.append(visit("V6", "VA6", 2, 3))        # cancelled below
        visits.append(siu("S15", "C6", "VA6", "F", "20250205100000", "20250303091000",
                          patient=True))
        send_all(srv, visits)
        figures(srv)

        # the view
        v = srv.get_json("/api/v1/dashboards/health-stations?unit=a1&at=2025-02-10")
        check(v["dashboard"] == "health-stations" and v["unit"]["id"] == "a1",
              "view head: %r" % {k: v[k] for k in ("dashboard", "unit")})
        check([u["id"] for u in v["path"]] == ["hva", "a1"], "path: %r" % v["path"])
        check(v["period"] == {"kind": "month", "from": "2025-02-01", "to": "2025-02-28",
                              "at": "2025-02-10"}, "period: %r" % v["period"])
        check([(c["id"], c["drill"]) for c in v["children"]] == [("tx", False)],
              "children: %r" % v["children"])
        panels = {p["id"]: p for p in v["panels"]}
        for pid in ("t3_physician", "t3_physician_excl_censored", "t3_nurse",
                    "wait_physician_median", "wait_contact_physician_median",
                    "wait_physician_within_7", "wait_physician_within_14",
                    "wait_physician_over_90", "care_guarantee_primary_care",
                    "wait_distribution_physician"):
            check(pid in panels, "no panel %s" % pid)
        p = panels["wait_physician_median"]
        check(p["kind"] == "indicator" and p["unit"] == "days" and p["direction"] == "lower",
              "panel: %r" % p)
        check(p["value"]["value"] == 7 and len(p["trend"]) == 13, "panel value: %r" % p["value"])
        check(p["by_child"][0]["unit"] == "tx" and p["by_child"][0]["value"]["value"] == 7,
              "by_child: %r" % p["by_child"])
        d = panels["wait_distribution_physician"]
        check(d["n"] == 6 and [b["label"] for b in d["bins"]][:3] == ["0", "1-7", "8-14"],
              "distribution: %r" % d)
        # 1-7 holds 3 (suppressed), 8-14 holds 2 (suppressed), 15-28 1 (suppressed)
        check(d["bins"][1]["suppressed"] and d["bins"][1]["count"] is None,
              "bins: %r" % d["bins"])
        check(d["bins"][4]["count"] == 0, "29-90: %r" % d["bins"][4])
        # T3 at the root by day
        v = srv.get_json("/api/v1/dashboards/health-stations?period=day&at=2025-03-03")
        t3 = {p["id"]: p for p in v["panels"]}["t3_physician"]
        check(t3["value"]["value"] == 14 and t3["value"]["n"] == 5, "t3 panel: %r" % t3["value"])
        check([c["id"] for c in v["children"]] == ["a1"], "root children: %r" % v["children"])

        # exports
        st, body, hdr = srv.request(
            "GET", "/api/v1/dashboards/health-stations/export?unit=a1&at=2025-02-10"
            "&format=csv&panel=wait_physician_median&lang=en")
        check(st == 200, "csv: %d %s" % (st, body[:200]))
        check(hdr["content-type"].startswith("text/csv"), "csv type: %r" % hdr)
        check(hdr["content-disposition"] ==
              'attachment; filename="health-stations-a1-2025-02-01.csv"',
              "disposition: %r" % hdr.get("content-disposition"))
        check(body.startswith("\ufeff") and "Unit,Id,Value,n" in body
              and "Terveysasema X,tx,7,6," in body, "csv body: %r" % body)
        c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
        c.request("GET", "/api/v1/dashboards/health-stations/export?unit=a1&format=xlsx",
                  headers={"Authorization": "Bearer " + lead})
        r = c.getresponse()
        x = r.read()
        c.close()
        check(r.status == 200 and x[:4] == b"PK\x03\x04" and len(x) > 4000,
              "xlsx: %d, %d bytes, %r" % (r.status, len(x), x[:8]))
        check("spreadsheetml" in r.getheader("Content-Type"), "xlsx type")

        # errors
        for path, st_want, field in [
                ("/api/v1/indicators/nope", 404, None),
                ("/api/v1/dashboards/nope", 404, None),
                ("/api/v1/dashboards/nope/export?format=csv", 404, None),
                ("/api/v1/indicators/t3_nurse?period=fortnight", 400, "period"),
                ("/api/v1/indicators/t3_nurse?from=2025-13-01", 400, "from"),
                ("/api/v1/indicators/t3_nurse?to=yesterday", 400, "to"),
                ("/api/v1/indicators/t3_nurse?from=2025-03-01&to=2025-01-01", 400, "from"),
                ("/api/v1/indicators/t3_nurse?unit=zz", 400, "unit"),
                ("/api/v1/dashboards/health-stations?at=2025-02-30", 400, "at"),
                ("/api/v1/dashboards/health-stations?format=csv", 400, "format"),
                ("/api/v1/dashboards/health-stations/export?format=pdf", 400, "format"),
                ("/api/v1/dashboards/health-stations/export?format=csv", 400, "panel"),
                ("/api/v1/dashboards/health-stations/export?format=csv&panel=x", 400, "panel"),
                ("/api/v1/dashboards/health-stations/export?format=csv&panel=t3_nurse&lang=de",
                 400, "lang")]:
            st, body = srv.get(path)
            check(st == st_want, "%s -> %d %s" % (path, st, body[:200]))
            e = json.loads(body)["error"]
            check(e["field"] == field, "%s field: %r" % (path, e))
            if st == 404:
                check("nope" in e["message"], "404 names it: %r" % e)
        # scope: a leader of a2 may not read a1 or the root
        st, _ = srv.get("/api/v1/indicators/t3_physician?unit=a1", token=other)
        check(st == 403, "out of scope: %d" % st)
        st, _ = srv.get("/api/v1/dashboards/health-stations", token=other)
        check(st == 403, "root out of scope: %d" % st)
        st, _ = srv.get("/api/v1/dashboards/health-stations?unit=a2", token=other)
        check(st == 200, "own scope: %d" % st)
        st, _ = srv.get("/api/v1/indicators/t3_physician", token="")
        check(st == 401, "no token: %d" % st)

        # a restart rebuilds everything from the log
        srv.stop()
        srv = Server(data).start()
        srv.token = lead
        figures(srv)
    finally:
        srv.stop()
    print("ok")


if __name__ == "__main__":
    main()
