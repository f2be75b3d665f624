#!/usr/bin/python3
"""A real FHIR client from npm (fhir-kit-client, tests/integration/
fhir_client.mjs) posts every JSON example under $TK_SHARED/testdata/fhir
(fi-base, fi-scheduling, r4-core; read in place) to the real server's
/fhir/r4 with an integration_admin's API token. Each file is accepted, or
refused with an OperationOutcome whose diagnostics say why; this script
knows which and asserts it per file, then that the status counts of
messages and of events by kind match what was accepted: one
visit.completed (the finished fi-base Encounter), three appointment.booked
and, after the client's PUT update, one appointment.cancelled; a Schedule
and no slot event (every example Slot names a Schedule that is refused or
unknown). The client's conditional creates: If-None-Exist with a known
identifier answers 200 naming the existing Encounter and applies nothing;
with a new one 201. After a restart (the identifier index rebuilt from the
stored payloads) a conditional create still finds both Encounters."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

ORG = {
    "id": "hva", "name": {"fi": "Testi"},
    "units": [
        {"id": "hva", "type": "county", "name": {"fi": "Alue"}},
        {"id": "s1", "type": "health_station", "parent": "hva",
         "name": {"fi": "Terveysasema 1"}},
        {"id": "s2", "type": "health_station", "parent": "hva",
         "name": {"fi": "Terveysasema 2"}},
        {"id": "s3", "type": "health_station", "parent": "hva",
         "name": {"fi": "Terveysasema 3"}},
    ],
    "channels": [
        {"id": "fh", "type": "fhir",
         "locations": {
             # fi-base: the organisation OID bare (the Encounter sends
             # "Organization/1.2.246.10.2085212.10.1314") and a Location.
             "1.2.246.10.2085212.10.1314": "s1",
             "Location/LocationExample": "s1",
             # fi-scheduling: the OID with its urn:oid: prefix (the
             # Appointment sends the bare value as an identifier).
             "urn:oid:1.2.246.10.10303777.10.777": "s2",
             # r4-core: Locations and Organizations of the examples.
             "Location/1": "s3", "Location/3": "s3",
             "Organization/f001": "s3", "Organization/f201": "s3",
         }},
    ],
}

A, R = "accepted", "refused"
# Every example file and what must happen to it (the reason a refusal must
# give, as a substring of its diagnostics, for the interesting ones).
EXPECT = {
    "fi-base/Appointment-appointment-general-practitioner.json": (A, None),
    "fi-base/Encounter-id-for-child-encounter.json": (A, None),
    "fi-base/Encounter-id-for-palvelutapahtuma.json": (A, None),
    "fi-base/Encounter-id-for-visit.json": (A, None),
    "fi-base/Encounter-id-for-ward-encounter.json": (A, None),
    "fi-base/EpisodeOfCare-id-for-episode-1.json": (R, "'EpisodeOfCare' is not supported"),
    "fi-base/Location-LocationExample.json": (R, "'Location' is not supported"),
    "fi-base/Location-id-for-bed-3.json": (R, "'Location' is not supported"),
    "fi-base/Organization-1.2.246.10.2085212.10.1306.json": (R, "'Organization' is not supported"),
    "fi-base/Organization-1.2.246.10.2085212.10.1314.json": (R, "'Organization' is not supported"),
    "fi-base/Organization-1.2.246.10.8286189.10.100012.json": (R, "'Organization' is not supported"),
    "fi-base/Patient-patient-of-municipality.json": (R, "'Patient' is not supported"),
    "fi-base/Patient-patient-with-turvakielto.json": (R, "'Patient' is not supported"),
    "fi-base/Schedule-ScheduleExample.json": (R, "no Practitioner"),
    "fi-base/Slot-FreeSlot.json": (R, "unknown schedule"),
    "fi-base/diabetes-data-bundle-kantaphr-r4-en.json": ("batch-refused", "is not supported (Schedule, Slot, Appointment, Encounter)"),
    "fi-base/organization-Toimintayksikko.json": (R, "'Organization' is not supported"),
    "fi-base/organizationesim1.json": (R, "'Organization' is not supported"),
    "fi-base/patientesim1.json": (R, "'Patient' is not supported"),
    "fi-scheduling/Appointment-appointment-status-extension-04.json": (R, "no Location or Organization"),
    "fi-scheduling/Appointment-appointment-status-extension-06.json": (R, "no Location or Organization"),
    "fi-scheduling/Patient-patient-pentti.json": (R, "'Patient' is not supported"),
    "fi-scheduling/Schedule-234567890.json": (R, "no Location or Organization"),
    "fi-scheduling/Slot-123456789.json": (R, "unknown schedule"),
    "fi-scheduling/appointment.json": (A, None),
    "r4-core/appointment-example-request.json": (A, None),
    "r4-core/appointment-example.json": (A, None),
    "r4-core/appointment-example2doctors.json": (R, "no Location or Organization"),
    "r4-core/bundle-request-medsallergies.json": (R, "only POST and PUT"),
    "r4-core/bundle-response.json": (R, "only a transaction Bundle"),
    "r4-core/bundle-transaction.json": (R, "transaction is not supported"),
    "r4-core/encounter-example-emerg.json": (A, None),
    "r4-core/encounter-example-f001-heart.json": (R, "period.start missing"),
    "r4-core/encounter-example-f201-20130404.json": (R, "period.start missing"),
    "r4-core/encounter-example-home.json": (R, "no Organization or Location"),
    "r4-core/episodeofcare-example.json": (R, "'EpisodeOfCare' is not supported"),
    "r4-core/location-example-room.json": (R, "'Location' is not supported"),
    "r4-core/location-example.json": (R, "'Location' is not supported"),
    "r4-core/organization-example-f001-burgers.json": (R, "'Organization' is not supported"),
    "r4-core/organization-example.json": (R, "'Organization' is not supported"),
    "r4-core/patient-example-f001-pieter.json": (R, "'Patient' is not supported"),
    "r4-core/patient-example.json": (R, "'Patient' is not supported"),
    "r4-core/questionnaire-example-f201-lifelines.json": (R, "'Questionnaire' is not supported"),
    "r4-core/questionnaire-example.json": (R, "'Questionnaire' is not supported"),
    "r4-core/questionnaireresponse-example-f201-lifelines.json": (R, "'QuestionnaireResponse' is not supported"),
    "r4-core/questionnaireresponse-example.json": (R, "'QuestionnaireResponse' is not supported"),
    "r4-core/schedule-example.json": (R, "no Practitioner"),
    "r4-core/schedule-provider-location1-example.json": (A, None),
    "r4-core/slot-example-busy.json": (R, "unknown schedule"),
    "r4-core/slot-example.json": (R, "unknown schedule"),
}


def run_client(srv, tok):
    node = os.environ.get("NODE", "node")
    p = subprocess.run(
        [node, os.path.join(SRC, "tests", "integration", "fhir_client.mjs"),
         "http://127.0.0.1:%d/fhir/r4" % srv.http_port, tok],
        capture_output=True, text=True, cwd=SRC, timeout=300,
        env=dict(os.environ, TK_SHARED=SHARED))
    check(p.returncode == 0, "fhir_client.mjs -> %d\n%s" % (p.returncode, p.stderr))
    recs = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return {r["file"]: r for r in recs}


def reasons(rec):
    return " | ".join(o.get("diagnostics", "") for o in rec["outcome"])


def main():
    tmp, data = init_data()
    with open(os.path.join(data, "org.json"), "w", encoding="utf-8") as f:
        json.dump(ORG, f)
    ops = user_token(data, "ops", "integration_admin", "hva")
    srv = Server(data).start()
    try:
        got = run_client(srv, ops)
        files = set()
        for sub in ("fi-base", "fi-scheduling", "r4-core"):
            for name in os.listdir(os.path.join(SHARED, "testdata", "fhir", sub)):
                if name.endswith(".json"):
                    files.add(sub + "/" + name)
        check(files == set(EXPECT), "example files changed: %r" % (files ^ set(EXPECT)))
        accepted = 0
        for name in sorted(files):
            rec = got.get(name)
            check(rec is not None, "%s: not posted" % name)
            want, why = EXPECT[name]
            if want == A:
                check(rec["status"] in (200, 201),
                      "%s: want accepted, got %d: %s" % (name, rec["status"], reasons(rec)))
                accepted += 1
            elif want == "batch-refused":
                check(rec["status"] == 200 and rec["entries"],
                      "%s: batch answered %d" % (name, rec["status"]))
                with open(os.path.join(SHARED, "testdata", "fhir", name),
                          encoding="utf-8") as f:
                    sent = json.load(f)["entry"]
                check(len(rec["entries"]) == len(sent), "%s: %d entries answered"
                      % (name, len(rec["entries"])))
                for i, e in enumerate(rec["entries"]):
                    d = " | ".join(o["diagnostics"] for o in e["outcome"])
                    rt = "'%s'" % sent[i]["resource"]["resourceType"]
                    check(not e["status"].startswith("2") and why in d and rt in d,
                          "%s entry %d: %s %r" % (name, i, e["status"], d))
            else:
                check(rec["status"] in (400, 404, 415, 422),
                      "%s: want refused, got %d" % (name, rec["status"]))
                d = reasons(rec)
                check(rec["outcome"] and all(o.get("severity") == "error" for o in rec["outcome"]),
                      "%s: refusal without an OperationOutcome: %r" % (name, rec))
                check(why in d, "%s: reason %r does not say %r" % (name, d, why))
                check(all(o.get("expression") for o in rec["outcome"]),
                      "%s: no expression: %r" % (name, rec["outcome"]))
            print("ok  %-70s %d %s" % (name, rec["status"], reasons(rec)[:90]))

        ce = got["cond-existing"]
        check(ce["status"] == 200, "conditional create (existing) -> %d" % ce["status"])
        check((ce["location"] or "").endswith("/fhir/r4/Encounter/id-for-visit"),
              "conditional create location %r" % ce["location"])
        check(ce["outcome"] and ce["outcome"][0]["severity"] == "information",
              "conditional create outcome %r" % ce["outcome"])
        cn = got["cond-new"]
        check(cn["status"] == 201 and cn["id"] == "id-for-visit-2",
              "conditional create (new) -> %d %r" % (cn["status"], cn["id"]))
        up = got["update-cancel"]
        check(up["status"] == 200, "update -> %d: %s" % (up["status"], reasons(up)))

        st = status(data)
        by_kind = st["events"]["by_kind"]
        # one finished Encounter from the examples plus the conditional new one
        check(by_kind.get("visit.completed") == 2, "visit.completed %r" % by_kind)
        check(by_kind.get("appointment.booked") == 3, "appointment.booked %r" % by_kind)
        check(by_kind.get("appointment.cancelled") == 1, "appointment.cancelled %r" % by_kind)
        check(not any(k.startswith("slot.") for k in by_kind), "slot events %r" % by_kind)
        check(st["events"]["total"] == 6, "events %r" % st["events"])
        # accepted files + cond-new + update; the existing-identifier
        # conditional create counts as a duplicate
        msgs = st["messages"]
        check(msgs["accepted"] == accepted + 2, "accepted %r (files %d)" % (msgs, accepted))
        check(msgs["duplicates"] == 1, "duplicates %r" % msgs)
        check(msgs["errors"] + msgs["rejected"] >= len(files) - accepted - 3,
              "refusals %r" % msgs)
    finally:
        srv.stop()

    # After a restart the identifier index is rebuilt from the payloads.
    srv = Server(data).start()
    try:
        for ident, want_id in (("id-for-visit", "id-for-visit"),
                               ("id-for-visit-2", "id-for-visit-2")):
            body = {"resourceType": "Encounter", "status": "planned",
                    "id": "probe-" + ident, "identifier": [{"value": ident}]}
            st_, text, hdr = srv.request(
                "POST", "/fhir/r4/Encounter", token=ops,
                headers={"Content-Type": "application/fhir+json",
                         "If-None-Exist": "identifier=" + ident},
                body=json.dumps(body).encode())
            check(st_ == 200, "after restart %s -> %d %s" % (ident, st_, text[:200]))
            check(hdr.get("location", "").endswith("/Encounter/" + want_id),
                  "after restart location %r" % hdr.get("location"))
        check(status(data)["events"]["total"] == 6, "events changed after restart")
    finally:
        srv.stop()
    print("PASS fhir_client: %d example files" % len(EXPECT))


if __name__ == "__main__":
    main()
