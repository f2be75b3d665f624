#!/usr/bin/python3
"""Every file in ../shared/testdata/hl7v2/ sent to the real server with
python3-hl7's mllp_send (a client no one here wrote): each gets one
well-formed ACK with the right MSA-2, and the status counts match what was
sent. Then everything is sent again: resends are acknowledged and nothing is
applied twice."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

HL7DIR = os.path.join(SHARED, "testdata", "hl7v2")
ORG = os.path.join(SRC, "tests", "fixtures", "org-testdata.json")

# Senders the test organisation does not configure: AR.
UNKNOWN_SENDERS = {
    "misc_pythonhl7_rep_sample.hl7", "oru_r01_pythonhl7_v24.hl7",  # GHH LAB
    "oml_o21_hapi_utf8_accent_v25.hl7", "orm_o01_rubyhl7_unknown_segments_v231.hl7",
    "oru_r01_hapi_escapes_hnam_v24.hl7", "oru_r01_hapi_escapes_olis_v23.hl7",
    "oru_r01_hapi_v22_msa_radiology.hl7", "oru_r03_rubyhl7_empty_segments_raw.hl7",
    "rsp_k22_hl7apy_v27_truncation_char.hl7", "siu_s14_corepoint_v23.hl7",
    "siu_s14_corepoint_v23_raw_lf.hl7", "bar_p01_hapi_odd_subcomp_sep_v24.hl7",
    "batch_adt_a04_pythonhl7_fhs_bhs_v25.hl7",
}
# Configured senders whose messages cannot be mapped: AE (ADT A10/O01 are
# not mapped; the SIU senders' locations are not in the test organisation).
UNSUPPORTED = {
    "adt_a10_msconv_1.hl7": "A10",
    "adt_o01_hl7dotnetcore_raw_crlf_blankline.hl7": "O01",
    "siu_s12_msconv_1.hl7": "SIU", "siu_s12_msconv_2.hl7": "SIU",
    "siu_s12_msconv_3.hl7": "SIU", "siu_s13_msconv_1.hl7": "SIU",
    "siu_s14_msconv_1.hl7": "SIU", "siu_s15_msconv_1.hl7": "SIU",
    "siu_s17_msconv_1.hl7": "SIU", "siu_s26_msconv_1.hl7": "SIU",
}
# A 0x0B byte inside the message is a framing error in MLLP: the server
# closes the connection rather than guess where the frame ends.
CLOSED = {"oru_r03_rubyhl7_empty_segments_raw.hl7"}
# Known outcomes that follow from the data (see SOURCES.md notes).
EXPECTED = {
    # the first of emap's six messages that share MSH-10 31644: admitted
    "adt_a01_emap_canceltransfer_01.hl7": "AA",
    # ...the next one reuses 31644 for different content: refused, kept
    "adt_a02_emap_canceltransfer_02.hl7": "AE",
    # MSH-3 is empty: no sender to identify
    "batch_adt_a04_pythonhl7_fhs_bhs_v25.hl7": "AR",
    # an ADT with a PV1-3 point of care that maps and a bed that exists
    "adt_a01_msconv_v251_everyman.hl7": "AA",
    "adt_a01_pythonhl7_v23.hl7": "AA",
    # PV1-3 is empty
    "adt_a01_rubyhl7_odd_encoding_chars.hl7": "AE",
}


def msh10(raw):
    text = raw.decode("latin-1").lstrip("\ufeff").lstrip("\xef\xbb\xbf")
    seg = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    msh = [s for s in seg if s.startswith("MSH")][0]
    return msh.split(msh[3])[9] if len(msh.split(msh[3])) > 9 else ""


def send_all(srv, files, tmp):
    """Sends each file as one framed message with mllp_send; returns
    {file: parsed ACK}."""
    acks = {}
    for name in files:
        raw = open(os.path.join(HL7DIR, name), "rb").read()
        framed = os.path.join(tmp, name + ".mllp")
        with open(framed, "wb") as f:
            f.write(frame(raw))
        p = subprocess.run(["mllp_send", "-f", framed, "-p", str(srv.mllp_port),
                            "127.0.0.1"], capture_output=True, timeout=60)
        check(p.returncode == 0, "mllp_send %s failed: %s" % (name, p.stderr))
        out = p.stdout
        frames = [x for x in out.split(EB) if x.strip(SB + CR + b"\n")]
        if name in CLOSED:
            check(len(frames) == 0, "%s: expected a closed connection, got %r" % (name, out))
            continue
        check(len(frames) == 1, "%s: expected one ACK, got %d: %r" % (name, len(frames), out))
        ack = parse_ack(frames[0].strip(b"\n").lstrip(SB))
        acks[name] = ack
    return acks


def main():
    files = sorted(f for f in os.listdir(HL7DIR) if f.endswith(".hl7"))
    check(len(files) == 51, "expected 51 test files, found %d" % len(files))
    sent = len(files) - len(CLOSED)
    tmpdir, data = init_data(org=ORG)
    srv = Server(data).start()
    try:
        acks = send_all(srv, files, tmpdir)
        counts = {"AA": 0, "AE": 0, "AR": 0}
        for name, ack in acks.items():
            raw = open(os.path.join(HL7DIR, name), "rb").read()
            code = ack["code"]
            check(code in counts, "%s: MSA-1 %r" % (name, code))
            counts[code] += 1
            # MSA-2 is the message's MSH-10
            check(ack["control"] == msh10(raw),
                  "%s: MSA-2 %r, expected %r" % (name, ack["control"], msh10(raw)))
            # MSH-9 is ACK, MSH-10 is set
            check(ack["msh"][8].startswith("ACK"), "%s: MSH-9 %r" % (name, ack["msh"][8]))
            check(ack["msh"][9] != "", "%s: ACK without MSH-10" % name)
            if code in ("AE", "AR"):
                err = [s for s in ack["segments"] if s.startswith("ERR")]
                check(len(err) == 1, "%s: %s without one ERR segment" % (name, code))
            if name in UNKNOWN_SENDERS:
                check(code == "AR", "%s: unknown sender got %s" % (name, code))
                check("not configured" in " ".join(ack["segments"]),
                      "%s: AR does not say the sender is not configured" % name)
            if name in UNSUPPORTED:
                check(code == "AE", "%s: unsupported type got %s" % (name, code))
            if name in EXPECTED:
                check(code == EXPECTED[name], "%s: got %s, expected %s; ACK %r" %
                      (name, code, EXPECTED[name], ack["segments"]))
        # the ACK swaps sender and receiver
        a = acks["adt_a01_pythonhl7_v23.hl7"]
        check(a["msh"][4] == "HNAM_PM" and a["msh"][5] == "HNA500",
              "ACK MSH-5/6 should be the sender: %r" % a["msh"])
        check(a["msh"][2] == "AIG" and a["msh"][3] == "",
              "ACK MSH-3/4 should be the receiver: %r" % a["msh"])
        check(a["msh"][11] == "2.3", "ACK MSH-12 should be the sender's version")
        st = status(data)
        m = st["messages"]
        # adt_a01_msconv_v23_accmgr_raw_bom_lf.hl7 is the same message as
        # adt_a01_msconv_v23_accmgr.hl7 with a BOM and LF line ends: a
        # resend, acknowledged and not applied again.
        check(m["duplicates"] == 1, "duplicates %d, expected 1" % m["duplicates"])
        check(m["accepted"] + m["duplicates"] == counts["AA"],
              "accepted %d + duplicates %d != AA %d" % (m["accepted"], m["duplicates"], counts["AA"]))
        check(m["rejected"] == counts["AR"], "rejected %d != AR %d" % (m["rejected"], counts["AR"]))
        check(m["errors"] == counts["AE"], "errors %d != AE %d" % (m["errors"], counts["AE"]))
        check(m["dead_letters"] == counts["AE"] + counts["AR"],
              "dead letters %d != AE+AR %d" % (m["dead_letters"], counts["AE"] + counts["AR"]))
        check(counts["AA"] >= 8, "too few accepted: %r" % counts)
        events_before = st["events"]["total"]
        check(events_before >= m["accepted"], "events %d < accepted %d" % (events_before, m["accepted"]))

        # Resend everything that was accepted: AA again, nothing applied.
        accepted = [n for n, a in acks.items() if a["code"] == "AA"]
        again = send_all(srv, accepted, tmpdir)
        for name, ack in again.items():
            check(ack["code"] == "AA", "%s: resend got %s" % (name, ack["code"]))
        st2 = status(data)
        check(st2["messages"]["accepted"] == m["accepted"], "resend changed accepted")
        check(st2["messages"]["duplicates"] == 1 + len(accepted),
              "duplicates %d != 1 + resent %d" % (st2["messages"]["duplicates"], len(accepted)))
        check(st2["events"]["total"] == events_before, "resend added events")
        check(sum(counts.values()) == sent, "ACKs %d != frames %d" % (sum(counts.values()), sent))
        print("testdata: %d files: %r; resent %d accepted, all AA, none applied twice"
              % (len(files), counts, len(accepted)))
    finally:
        srv.stop()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
