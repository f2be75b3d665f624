#!/usr/bin/python3
"""ldap_slapd.py -- directory sign-in against a real OpenLDAP slapd.

Starts slapd on loopback from a configuration generated in a temporary
directory (mdb backend, the ppolicy and memberof overlays, TLS with a
throwaway CA and server certificate made with openssl, simple binds allowed
only over TLS), loads a small directory of users and groups, and drives
`tilannekuva auth ldap-test`, which signs in exactly as the server does
(auth_ldap_authenticate). Checked:

  - good password -> role and scope from the group mapping (first mapped
    group in file order wins; scopes of the same role are united);
  - wrong password, unknown user, empty password, injection in the name
    -> refused;
  - disabled accounts: member of the configured disabled_group -> refused;
    locked by the directory (ppolicy pwdAccountLockedTime) -> refused;
  - a user in no mapped group -> refused;
  - ldaps:// with a group search, and ldap:// with StartTLS and the
    memberOf attribute (maintained by the memberof overlay);
  - a server certificate from another CA -> error, no bind attempted.

Needs TK_BIN (set by meson), /usr/sbin/slapd, slapadd, ldapadd and openssl.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
LDAPADD = shutil.which("ldapadd") or "/usr/bin/ldapadd"
OPENSSL = shutil.which("openssl")
SCHEMA = "/etc/ldap/schema"
MODULES = "/usr/lib/ldap"
BASE = "dc=example,dc=test"
ROOTPW = "root-secret-for-tests"

failures = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1/localhost, and a second CA
    that signed nothing of ours."""
    run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-days", "2",
         "-subj", "/CN=tilannekuva test CA"])
    run([OPENSSL, "req", "-newkey", "rsa:2048", "-nodes",
         "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr",
         "-subj", "/CN=localhost"])
    with open(f"{d}/san.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth\n")
    run([OPENSSL, "x509", "-req", "-in", f"{d}/server.csr", "-CA",
         f"{d}/ca.pem", "-CAkey", f"{d}/ca.key", "-CAcreateserial",
         "-out", f"{d}/server.pem", "-days", "2", "-extfile", f"{d}/san.ext"])
    run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", f"{d}/other.key", "-out", f"{d}/other-ca.pem", "-days",
         "2", "-subj", "/CN=some other CA"])
    os.chmod(f"{d}/server.key", 0o600)


def slapd_conf(d):
    return f"""include {SCHEMA}/core.schema
include {SCHEMA}/cosine.schema
include {SCHEMA}/inetorgperson.schema
modulepath {MODULES}
moduleload back_mdb
moduleload ppolicy
moduleload memberof
pidfile {d}/slapd.pid
TLSCACertificateFile {d}/ca.pem
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
# simple binds only over TLS: a clear-text password never crosses the wire
security simple_bind=64

database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "cn=admin,{BASE}"
rootpw {ROOTPW}
directory {d}/db
overlay ppolicy
ppolicy_default "cn=default,ou=policies,{BASE}"
ppolicy_use_lockout
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint true
access to attrs=userPassword by anonymous auth by self auth by * none
access to * by users read by * none
"""


USERS = {
    # name: (password, extra LDIF lines)
    "anna": ("anna-secret-pw", ""),
    "leo": ("leo-secret-pw", ""),
    "dora": ("dora-secret-pw", ""),
    "lena": ("lena-secret-pw", "pwdAccountLockedTime: 000001010000Z\n"),
    "nils": ("nils-secret-pw", ""),
}

GROUPS = {
    "tk-coordinators-hml": ["anna", "dora"],
    "tk-coordinators-khks": ["anna"],
    "tk-leaders": ["anna", "leo", "lena"],
    "tk-disabled": ["dora"],
    "other-team": ["nils"],
}


def base_ldif():
    out = [f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: ou=policies,{BASE}
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,{BASE}
objectClass: person
objectClass: pwdPolicy
cn: default
sn: policy
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 50
"""]
    for name, (pw, extra) in USERS.items():
        out.append(f"""dn: uid={name},ou=people,{BASE}
objectClass: inetOrgPerson
uid: {name}
cn: {name}
sn: {name}
userPassword: {pw}
{extra}""")
    return "\n".join(out)


def groups_ldif():
    out = []
    for g, members in GROUPS.items():
        lines = [f"dn: cn={g},ou=groups,{BASE}", "objectClass: groupOfNames",
                 f"cn: {g}"]
        lines += [f"member: uid={m},ou=people,{BASE}" for m in members]
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def ldap_ini(url, ca, groups_by):
    lines = ["[ldap]", f"url = {url}", f"ca_file = {ca}",
             f"bind_dn_template = uid={{user}},ou=people,{BASE}",
             f"disabled_group = cn=tk-disabled,ou=groups,{BASE}",
             "timeout = 5s"]
    if groups_by == "search":
        lines += [f"group_base = ou=groups,{BASE}",
                  "group_filter = (&(objectClass=groupOfNames)(member={dn}))"]
    else:
        lines += ["group_attribute = memberOf"]
    # file order matters: the first mapped group gives the role
    lines += ["", "[group coordinators-hml]",
              f"dn = cn=tk-coordinators-hml,ou=groups,{BASE}",
              "role = coordinator", "scope = kh-a-hml",
              "", "[group coordinators-khks]",
              f"dn = CN=tk-coordinators-khks, OU=groups, {BASE.upper()}",
              "role = coordinator", "scope = kh-khks, kh-a-hml",
              "", "[group leaders]",
              f"dn = cn=tk-leaders,ou=groups,{BASE}",
              "role = leader", "scope = kh", ""]
    return "\n".join(lines)


def ldap_test(tk, ini, user, password):
    p = subprocess.run([tk, "auth", "ldap-test", "--config", ini, "--user",
                        user, "--password-stdin"], input=password + "\n",
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def expect(label, got, want_rc, want_prefix):
    rc, out, err = got
    ok = rc == want_rc and out.startswith(want_prefix)
    print(f"{'ok  ' if ok else 'FAIL'} {label}: rc={rc} {out}")
    if not ok:
        print(f"     want rc={want_rc} and stdout starting {want_prefix!r};"
              f" stderr: {err}")
        failures.append(label)


def wait_port(port, proc, seconds=15):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def main():
    tk = os.environ.get("TK_BIN")
    if not tk:
        print("TK_BIN must point at the tilannekuva binary")
        return 1
    for tool in (SLAPD, SLAPADD, LDAPADD, OPENSSL):
        if not tool or not os.path.exists(tool):
            print(f"missing {tool}: run scripts/deps.sh (slapd, ldap-utils, "
                  "openssl)")
            return 1
    probe = subprocess.run([tk, "auth", "--help"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        print("the binary has no 'auth' command (cli_sec_auth_main is not "
              "wired into main.c)")
        return 1

    d = tempfile.mkdtemp(prefix="tk-slapd-")
    proc = None
    try:
        os.makedirs(f"{d}/db")
        make_certs(d)
        with open(f"{d}/slapd.conf", "w") as f:
            f.write(slapd_conf(d))
        with open(f"{d}/base.ldif", "w") as f:
            f.write(base_ldif())
        run([SLAPADD, "-f", f"{d}/slapd.conf", "-l", f"{d}/base.ldif"])
        plain, tls = free_port(), free_port()
        proc = subprocess.Popen(
            [SLAPD, "-f", f"{d}/slapd.conf", "-h",
             f"ldap://127.0.0.1:{plain}/ ldaps://127.0.0.1:{tls}/", "-d", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_port(tls, proc) or not wait_port(plain, proc):
            err = proc.stderr.read().decode() if proc.poll() is not None else ""
            print(f"slapd did not start: {err}")
            return 1
        # Groups go in over the protocol (StartTLS required by -ZZ), so that
        # the memberof overlay maintains memberOf on the users.
        with open(f"{d}/groups.ldif", "w") as f:
            f.write(groups_ldif())
        env = dict(os.environ, LDAPTLS_CACERT=f"{d}/ca.pem", LDAPTLS_REQCERT="demand")
        run([LDAPADD, "-x", "-ZZ", "-H", f"ldap://127.0.0.1:{plain}/", "-D",
             f"cn=admin,{BASE}", "-w", ROOTPW, "-f", f"{d}/groups.ldif"],
            env=env)

        search_ini = f"{d}/ldaps-search.ini"
        with open(search_ini, "w") as f:
            f.write(ldap_ini(f"ldaps://127.0.0.1:{tls}", f"{d}/ca.pem",
                             "search"))
        memberof_ini = f"{d}/starttls-memberof.ini"
        with open(memberof_ini, "w") as f:
            f.write(ldap_ini(f"ldap://127.0.0.1:{plain}", f"{d}/ca.pem",
                             "memberof"))
        wrong_ca_ini = f"{d}/wrong-ca.ini"
        with open(wrong_ca_ini, "w") as f:
            f.write(ldap_ini(f"ldaps://127.0.0.1:{tls}", f"{d}/other-ca.pem",
                             "search"))
        wrong_ca_starttls_ini = f"{d}/wrong-ca-starttls.ini"
        with open(wrong_ca_starttls_ini, "w") as f:
            f.write(ldap_ini(f"ldap://127.0.0.1:{plain}",
                             f"{d}/other-ca.pem", "search"))

        for label, ini in (("ldaps + group search", search_ini),
                           ("StartTLS + memberOf", memberof_ini)):
            print(f"-- {label}")
            expect("good password, mapped to the first group's role",
                   ldap_test(tk, ini, "anna", "anna-secret-pw"), 0,
                   "ok: user=anna role=coordinator scope=kh-a-hml,kh-khks "
                   "person_level=yes")
            expect("another user, another group",
                   ldap_test(tk, ini, "leo", "leo-secret-pw"), 0,
                   "ok: user=leo role=leader scope=kh person_level=no")
            expect("wrong password",
                   ldap_test(tk, ini, "anna", "not-annas-password"), 1,
                   "refused: directory bind: invalid credentials")
            expect("unknown user",
                   ldap_test(tk, ini, "mallory", "whatever-password"), 1,
                   "refused: directory bind: invalid credentials")
            expect("disabled: member of the disabled group",
                   ldap_test(tk, ini, "dora", "dora-secret-pw"), 1,
                   "refused: account in the disabled group")
            expect("disabled: locked by the directory (ppolicy)",
                   ldap_test(tk, ini, "lena", "lena-secret-pw"), 1,
                   "refused: directory bind: invalid credentials")
            expect("no mapped group",
                   ldap_test(tk, ini, "nils", "nils-secret-pw"), 1,
                   "refused: no configured group maps the user to a role")
            expect("empty password (would be an anonymous bind)",
                   ldap_test(tk, ini, "anna", ""), 1,
                   "refused: empty or malformed password")
            expect("filter and DN injection in the name",
                   ldap_test(tk, ini, "anna)(uid=*", "anna-secret-pw"), 1,
                   "refused: a user name is")
        # The refusals above were the lock and the group, not the
        # passwords: undo each and the same sign-in succeeds.
        with open(f"{d}/undo.ldif", "w") as f:
            f.write(f"""dn: uid=lena,ou=people,{BASE}
changetype: modify
delete: pwdAccountLockedTime

dn: cn=tk-disabled,ou=groups,{BASE}
changetype: modify
replace: member
member: uid=nils,ou=people,{BASE}
""")
        run([LDAPADD.replace("ldapadd", "ldapmodify"), "-x", "-ZZ", "-H",
             f"ldap://127.0.0.1:{plain}/", "-D", f"cn=admin,{BASE}", "-w",
             ROOTPW, "-f", f"{d}/undo.ldif"], env=env)
        print("-- after unlocking lena and taking dora out of tk-disabled")
        expect("lena, no longer locked",
               ldap_test(tk, search_ini, "lena", "lena-secret-pw"), 0,
               "ok: user=lena role=leader scope=kh")
        expect("dora, no longer in the disabled group",
               ldap_test(tk, memberof_ini, "dora", "dora-secret-pw"), 0,
               "ok: user=dora role=coordinator scope=kh-a-hml")
        expect("nils, now in the disabled group (and in no mapped one)",
               ldap_test(tk, search_ini, "nils", "nils-secret-pw"), 1,
               "refused: account in the disabled group")
        print("-- certificates")
        expect("ldaps: server certificate from another CA",
               ldap_test(tk, wrong_ca_ini, "anna", "anna-secret-pw"), 1,
               "error: ")
        expect("StartTLS: server certificate from another CA",
               ldap_test(tk, wrong_ca_starttls_ini, "anna", "anna-secret-pw"),
               1, "error: StartTLS with the directory failed")
        # The directory really refuses clear-text simple binds: what our
        # client never sends, ldapwhoami without TLS is denied.
        whoami = shutil.which("ldapwhoami")
        if whoami:
            p = subprocess.run([whoami, "-x", "-H", f"ldap://127.0.0.1:{plain}/",
                                "-D", f"uid=anna,ou=people,{BASE}", "-w",
                                "anna-secret-pw"], capture_output=True,
                               text=True)
            ok = p.returncode != 0 and "onfidentiality" in (p.stderr + p.stdout)
            print(f"{'ok  ' if ok else 'FAIL'} slapd refuses a clear-text bind"
                  f" (rc={p.returncode})")
            if not ok:
                failures.append("clear-text bind refused")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s): {', '.join(failures)}")
        return 1
    print("all LDAP checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
