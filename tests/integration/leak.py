#!/usr/bin/python3
"""Leak test (issue 4, must-show): after ingesting the whole shared HL7 test
corpus and a synthetic county feed with valid identity codes and names --
with `tilannekuva import`, and some of it over MLLP through a running
server -- no identity code and no patient name from those messages appears
in plain text in any file under the data directory (database, WAL, shm, the
key file, the security database, anything else) nor in the server's
stdout/stderr log.

What is searched is taken from the messages themselves: every PID-3
identifier (first component of each repetition), every PID-5 family name
(each subcomponent) and given or second name (and each word of one with
spaces), and every valid henkilötunnus anywhere in a message, with and
without its century sign. The search is on the raw bytes of every file,
case-insensitively (ASCII; other letters in their lower-, upper- and
title-case UTF-8 and Latin-1 spellings), with GNU grep -F.

A hit is a leak unless the bytes around it show it is chance:
  - inside a sealed payload or a digest (random bytes): the window of
    bytes around the hit occurs in one of the store's BLOBs, and
    `keys verify` has shown every stored payload is authenticated
    ciphertext (a plain payload would not verify);
  - a token of hex digits inside a run of 32 or more hex digits
    (pseudonyms, hashes, signatures).
Tokens shorter than 4 characters (EVE, ZZZ, 14) are not searched: they
occur by chance in any file ('eve' in 'events'); the test lists them. A
token that also occurs in the organisation configuration (the channel id
'everyman' is also a family name) is searched case-sensitively, as spelt in
the message; one whose exact spelling is in the configuration cannot be
told apart and is listed, not searched."""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

HL7DIR = os.path.join(SHARED, "testdata", "hl7v2")
ORG = os.path.join(SRC, "tests", "fixtures", "org-testdata.json")
MIN_TOKEN = 4
HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
HETU_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})([-+A-FU-Y])(\d{3})([0-9A-Y])(?![0-9A-Za-z])")
WINDOW = 12  # bytes of context on each side when matching a hit to a BLOB


def valid_hetu(date, num, check_char):
    return HETU_CHECK[int(date + num) % 31] == check_char


def split_messages(raw):
    """The HL7 messages in a file's bytes, as text (UTF-8, else Latin-1)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.lstrip("\ufeff")
    segs = [s for s in re.split(r"\r\n|\r|\n", text) if s.strip()]
    msgs, cur = [], []
    for s in segs:
        if s.startswith("MSH") and cur:
            msgs.append(cur)
            cur = []
        cur.append(s)
    if cur:
        msgs.append(cur)
    return msgs


def control_ids(raw):
    """The MSH-10 message control ids in a file's bytes."""
    out = set()
    for segs in split_messages(raw):
        msh = segs[0].lstrip("\ufeff")
        if msh.startswith("MSH") and len(msh) > 3:
            f = msh.split(msh[3])
            if len(f) > 9 and f[9]:
                out.add(f[9])
    return out


def identifiers(raw):
    """PID-3 ids, PID-5 names and valid identity codes in a file's bytes."""
    out = set()
    text = raw.decode("utf-8", "replace")
    for m in HETU_RE.finditer(text):
        if valid_hetu(m.group(1), m.group(3), m.group(4)):
            out.add(m.group(0))
            out.add(m.group(1) + m.group(3) + m.group(4))
    for segs in split_messages(raw):
        fs, comp, rep, sub = "|", "^", "~", "&"
        for s in segs:
            if s.startswith("MSH") and len(s) >= 8:
                fs = s[3]
                enc = s[4:8]
                comp, rep = enc[0], enc[1]
                sub = enc[3] if len(enc) > 3 else "&"
            if not s.startswith("PID" + fs):
                continue
            f = s.split(fs)
            if len(f) > 3:
                for r in f[3].split(rep):
                    ident = r.split(comp)[0].split(sub)[0].strip()
                    if ident:
                        out.add(ident)
            if len(f) > 5:
                for r in f[5].split(rep):
                    c = r.split(comp)
                    names = c[0].split(sub) + c[1:3]
                    for n in names:
                        n = n.strip()
                        if n:
                            out.add(n)
                            out.update(w for w in n.split() if w)
    return out


def spellings(token):
    """Byte strings to look for (grep -i folds ASCII only)."""
    out = set()
    for t in (token, token.lower(), token.upper(), token.title()):
        for enc in ("utf-8", "latin-1"):
            try:
                out.add(t.encode(enc))
            except UnicodeEncodeError:
                pass
    return out


def files_under(path):
    out = []
    for root, _, names in os.walk(path):
        for n in names:
            out.append(os.path.join(root, n))
    return sorted(out)


def grep_hits(path, patterns_file, icase):
    """(offset, matched bytes) of every match in the file at 'path'."""
    args = ["grep", "-a", "-o", "-b", "-F", "-f", patterns_file, path]
    if icase:
        args.insert(1, "-i")
    p = subprocess.run(args, capture_output=True, env=dict(os.environ, LC_ALL="C"))
    check(p.returncode in (0, 1), "grep failed on %s: %r" % (path, p.stderr))
    hits = []
    for line in p.stdout.split(b"\n"):
        if not line:
            continue
        off, _, match = line.partition(b":")
        hits.append((int(off), match))
    return hits


# Columns whose BLOBs are random bytes: sealed payloads (shown to be
# authenticated ciphertext by `keys verify`) and content digests. In other
# databases (security.db) only BLOBs of hash, key and signature sizes count.
RANDOM_COLUMNS = {("messages", "payload"), ("messages", "digest"),
                  ("dead_letters", "payload")}
HASH_SIZES = (16, 32, 64)


def blobs_of(paths):
    """The random-byte BLOBs in the SQLite databases among 'paths' (copied
    first, so that reading cannot change a file under test)."""
    out = []
    tmp = tempfile.mkdtemp(prefix="tk-leak-db-")
    try:
        for p in paths:
            with open(p, "rb") as f:
                if f.read(16) != b"SQLite format 3\x00":
                    continue
            event_store = os.path.basename(p) == "tilannekuva.db"
            base = os.path.join(tmp, os.path.basename(p))
            for suffix in ("", "-wal"):
                if os.path.exists(p + suffix):
                    shutil.copyfile(p + suffix, base + suffix)
            db = sqlite3.connect(base)
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table'")]
            for t in tables:
                cols = [r[1] for r in db.execute('PRAGMA table_info("%s")' % t)]
                for c in cols:
                    if event_store and (t, c) not in RANDOM_COLUMNS:
                        continue
                    for (v,) in db.execute('SELECT "%s" FROM "%s" WHERE typeof("%s") = \'blob\''
                                           % (c, t, c)):
                        if event_store or len(v) in HASH_SIZES:
                            out.append(bytes(v))
            db.close()
    finally:
        shutil.rmtree(tmp)
    return b"\x00\xff\x00".join(out)


def hex_run(data, off, length):
    """Length of the run of hex digits around data[off:off+length]."""
    hexd = b"0123456789abcdefABCDEF"
    a, b = off, off + length
    while a > 0 and data[a - 1] in hexd:
        a -= 1
    while b < len(data) and data[b] in hexd:
        b += 1
    return b - a


def explain(data, off, length, blobs, token):
    """Why a hit is chance, or None when it is a leak."""
    left = data[max(0, off - WINDOW):off + length]
    right = data[off:off + length + WINDOW]
    if blobs and (left in blobs or right in blobs) and min(len(left), len(right)) > length:
        return "inside a sealed payload or digest"
    if re.fullmatch(rb"[0-9a-fA-F]+", token) and hex_run(data, off, length) >= 32:
        return "inside a hex pseudonym or hash"
    return None


def scan(label, data_dir, extra_files, tokens, config_text, controls=(), quiet=False):
    """Searches every file under data_dir (and extra_files) for the tokens.
    Returns (files searched, None) or (files, description of the first
    leak)."""
    skipped_short = sorted(t for t in tokens if len(t) < MIN_TOKEN)
    icase, exact, skipped_config, skipped_control = set(), set(), [], []
    low_config = config_text.lower()
    low_controls = "\n".join(controls).lower()
    for t in tokens:
        if len(t) < MIN_TOKEN:
            continue
        if t.lower() in low_controls:
            skipped_control.append(t)
            continue
        if t.lower() in low_config:
            if t in config_text:
                skipped_config.append(t)
            else:
                exact.add(t)
        else:
            icase.add(t)
    if not quiet:
        print("%s: %d tokens from the messages: %d searched case-insensitively, "
              "%d exactly (also in the configuration: %s); not searched: shorter "
              "than %d: %s; spelt so in the configuration: %s; part of a message "
              "control id (MSH-10, stored as the resend key): %s"
              % (label, len(tokens), len(icase), len(exact), ", ".join(sorted(exact)) or "-",
                 MIN_TOKEN, ", ".join(skipped_short) or "-",
                 ", ".join(sorted(skipped_config)) or "-",
                 ", ".join(sorted(skipped_control)) or "-"), flush=True)
    check(len(icase) >= 10, "%s: too few tokens to search: %r" % (label, sorted(icase)))
    pats = {}
    tmp = tempfile.mkdtemp(prefix="tk-leak-pat-")
    pat_i = os.path.join(tmp, "icase")
    pat_x = os.path.join(tmp, "exact")
    with open(pat_i, "wb") as f:
        for t in sorted(icase):
            for s in spellings(t):
                pats[s.lower()] = t
                f.write(s + b"\n")
    with open(pat_x, "wb") as f:
        for t in sorted(exact):
            pats[t.encode("utf-8")] = t
            f.write(t.encode("utf-8") + b"\n")
        if not exact:
            f.write(b"\x01never\x01\n")

    paths = files_under(data_dir) + list(extra_files)
    blobs = blobs_of(paths)
    total_hits = 0
    reasons = {}
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        for pf, icase_search in ((pat_i, True), (pat_x, False)):
            for off, match in grep_hits(p, pf, icase_search):
                total_hits += 1
                token = pats.get(match.lower() if icase_search else match, match.decode("latin-1"))
                why = explain(data, off, len(match), blobs, match)
                if why is None:
                    ctx = data[max(0, off - 40):off + len(match) + 40]
                    shutil.rmtree(tmp)
                    return len(paths), ("%s: '%s' from the messages is in plain text in "
                                        "%s at byte %d: %r" % (label, token, p, off, ctx))
                reasons[why] = reasons.get(why, 0) + 1
    shutil.rmtree(tmp)
    if not quiet:
        print("%s: searched %d files (%s); %d hits, all by chance: %s"
              % (label, len(paths),
                 ", ".join(os.path.relpath(x, os.path.dirname(data_dir)) for x in paths),
                 total_hits, ", ".join("%d %s" % (n, w) for w, n in sorted(reasons.items()))
                 or "none"), flush=True)
    return len(paths), None


def mllp_send(port, raw, tmp, name):
    framed = os.path.join(tmp, name + ".mllp")
    with open(framed, "wb") as f:
        f.write(frame(raw))
    p = subprocess.run(["mllp_send", "-f", framed, "-p", str(port), "127.0.0.1"],
                       capture_output=True, timeout=60)
    check(p.returncode == 0, "mllp_send %s failed: %r" % (name, p.stderr))
    return p.stdout


def with_control_id(raw, suffix):
    """The message with MSH-10 changed (so that it is new, not a resend)."""
    text = raw.decode("latin-1")
    lines = re.split(r"(\r\n|\r|\n)", text)
    for i, l in enumerate(lines):
        if l.lstrip("\ufeff\xef\xbb\xbf").startswith("MSH"):
            fs = l.lstrip("\ufeff\xef\xbb\xbf")[3]
            f = l.split(fs)
            if len(f) > 9:
                f[9] = f[9] + suffix
                lines[i] = fs.join(f)
            break
    return "".join(lines).encode("latin-1")


def snapshot(data, root):
    """A copy of the data directory taken while the server runs (the WAL
    and shm as they are then; a clean stop folds the WAL away)."""
    dst = os.path.join(root, "live", "data")
    shutil.copytree(data, dst)
    return dst


def keys_verify(data):
    p = run(["keys", "verify", "--data", data], check_rc=False)
    check(p.returncode == 0, "keys verify failed: %s%s" % (p.stdout, p.stderr))
    return p.stdout.strip().replace("\n", "; ")


def corpus_part():
    """The shared corpus: imported, and a few files again over MLLP."""
    files = sorted(f for f in os.listdir(HL7DIR) if f.endswith(".hl7"))
    check(len(files) >= 50, "expected the shared corpus, found %d files" % len(files))
    tokens, controls = set(), set()
    for f in files:
        raw = open(os.path.join(HL7DIR, f), "rb").read()
        tokens |= identifiers(raw)
        controls |= control_ids(raw)
    root, data = init_data(org=ORG)
    p = run(["import", "--data", data, HL7DIR], check_rc=False)
    check(p.returncode == 0, "import of the corpus: %s%s" % (p.stdout, p.stderr))
    check("0 failed" in p.stdout, "import: %s" % p.stdout)
    srv = Server(data).start()
    try:
        # one of each outcome, new control ids so they are processed again
        for name in ("adt_a01_pythonhl7_v23.hl7", "adt_a01_rubyhl7_odd_encoding_chars.hl7",
                     "adt_a01_msconv_v251_everyman.hl7", "oru_r01_pythonhl7_v24.hl7",
                     "siu_s12_msconv_1.hl7", "adt_a03_hapi_italian_v25.hl7",
                     "oml_o21_hapi_utf8_accent_v25.hl7"):
            raw = open(os.path.join(HL7DIR, name), "rb").read()
            raw = with_control_id(raw, "-LEAK")
            controls |= control_ids(raw)
            out = mllp_send(srv.mllp_port, raw, root, name)
            check(b"MSA" in out, "%s: no ACK over MLLP: %r" % (name, out))
        live = snapshot(data, root)
    finally:
        srv.stop()
    st = status(data)["messages"]
    check(st["accepted"] >= 8 and st["dead_letters"] >= 20, "corpus status: %r" % st)
    print("corpus: %s; %s" % (st, keys_verify(data)), flush=True)
    with open(os.path.join(data, "org.json"), encoding="utf-8") as f:
        config = f.read()
    n, leak = scan("corpus", data, [srv.log.name], tokens, config, controls)
    check(leak is None, str(leak))
    n2, leak = scan("corpus, copied while serving", live, [], tokens, config, controls)
    check(leak is None, str(leak))
    return n + n2


def synthetic_part():
    """A synthetic county feed with valid identity codes and names: imported,
    with unknown-sender and unknown-ward variants as dead letters, and some
    of it over MLLP."""
    root, data = init_data(region="kanta-hame")
    feed = os.path.join(root, "feed")
    run(["generate", "--region", "kanta-hame", "--from", "2026-10-01", "--days", "2",
         "--seed", "3", "--out", feed])
    feed_files = sorted(os.path.join(feed, f) for f in os.listdir(feed))
    tokens, controls = set(), set()
    for f in feed_files:
        raw = open(f, "rb").read()
        tokens |= identifiers(raw)
        controls |= control_ids(raw)
    hetus = [t for t in tokens if HETU_RE.fullmatch(t)]
    check(len(hetus) >= 500, "the feed should carry many valid identity codes: %d" % len(hetus))
    run(["import", "--data", data, feed])
    # Dead letters: the same people from an unknown sender (AR) and at a
    # ward code nobody configured (AE), and an invalid identity code.
    first = open(feed_files[0], "rb").read().split(b"\n")[:50]
    odd = []
    for m in first[:10]:
        odd.append(with_control_id(m.replace(b"|TKGEN|KANTA-HAME|", b"|STRANGER|NOWHERE|"),
                                   "-AR"))
    for i, m in enumerate(first[10:20]):
        segs = m.split(b"\r")
        for j, s in enumerate(segs):
            if s.startswith(b"PV1|"):
                f = s.split(b"|")
                if len(f) > 3:
                    f[3] = b"NOSUCHWARD^^" + str(i).encode()
                segs[j] = b"|".join(f)
        odd.append(with_control_id(b"\r".join(segs), "-AE"))
    for m in first[40:50]:
        # the identity code with a wrong check character: stored as an
        # unverified identity, still pseudonymised
        text = m.decode("utf-8")
        h = HETU_RE.search(text)
        check(h is not None, "no identity code in %r" % text[:80])
        wrong = HETU_CHECK[(HETU_CHECK.index(h.group(4)) + 1) % 31]
        text = text.replace(h.group(0), h.group(0)[:-1] + wrong)
        odd.append(with_control_id(text.encode("utf-8"), "-BADID"))
    bad_dir = os.path.join(root, "odd")
    os.mkdir(bad_dir)
    bad = os.path.join(bad_dir, "odd.hl7")
    with open(bad, "wb") as f:
        f.write(b"\n".join(odd) + b"\n")
    tokens |= identifiers(open(bad, "rb").read())
    controls |= control_ids(open(bad, "rb").read())
    p = run(["import", "--data", data, bad_dir], check_rc=False)
    check("0 failed" in p.stdout, "import of the odd messages: %s%s" % (p.stdout, p.stderr))
    srv = Server(data).start()
    try:
        for i, m in enumerate(first[20:40]):
            m = with_control_id(m, "-MLLP")
            controls |= control_ids(m)
            out = mllp_send(srv.mllp_port, m, root, "syn%d" % i)
            check(b"MSA" in out, "no ACK over MLLP: %r" % out)
        for i, m in enumerate(odd[:3] + odd[10:13]):
            m = with_control_id(m, "-MLLP")
            controls |= control_ids(m)
            out = mllp_send(srv.mllp_port, m, root, "odd%d" % i)
            check(b"MSA|AR" in out or b"MSA|AE" in out, "expected AR/AE over MLLP: %r" % out)
        live = snapshot(data, root)
    finally:
        srv.stop()
    st = status(data)["messages"]
    check(st["accepted"] >= 2000 and st["dead_letters"] >= 20, "synthetic status: %r" % st)
    print("synthetic: %s; %s" % (st, keys_verify(data)), flush=True)
    with open(os.path.join(data, "org.json"), encoding="utf-8") as f:
        config = f.read()
    n, leak = scan("synthetic", data, [srv.log.name], tokens, config, controls)
    check(leak is None, str(leak))
    n2, leak = scan("synthetic, copied while serving", live, [], tokens, config, controls)
    check(leak is None, str(leak))
    return n + n2


def self_test():
    """The search finds a planted plain-text code and name, so a pass means
    something."""
    tmp = tempfile.mkdtemp(prefix="tk-leak-self-")
    try:
        d = os.path.join(tmp, "data")
        os.mkdir(d)
        with open(os.path.join(d, "x.log"), "wb") as f:
            f.write(b"...patient M\xc3\x84KINEN 2805518002 seen...")
        tokens = {"280551-8002", "2805518002", "Mäkinen", "Toivonen", "Aada", "Satu",
                  "Keijo", "Turunen", "Mattila", "Aaltonen", "Sanna", "Katja"}
        _, leak = scan("self-test", d, [], tokens, "", quiet=True)
        check(leak is not None and "M\\xc3\\x84KINEN" in leak,
              "the search missed a planted name: %r" % leak)
        with open(os.path.join(d, "x.log"), "wb") as f:
            f.write(b"...seen 2805518002 at...")
        _, leak = scan("self-test", d, [], tokens, "", quiet=True)
        check(leak is not None and "2805518002" in leak,
              "the search missed a planted code: %r" % leak)
    finally:
        shutil.rmtree(tmp)


def main():
    t0 = time.time()
    self_test()
    n = corpus_part() + synthetic_part()
    print("no identity code or name in plain text in %d files (%.1f s)" % (n, time.time() - t0))
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
