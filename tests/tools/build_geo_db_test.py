#!/usr/bin/python3
"""tools/build-geo-db: databases built from temporary CSVs, read back with python3-maxminddb
(metadata, IPv4, IPv6 and IPv4-mapped lookups, quoting, the ranges format, later rows win,
reproducible output), malformed input reported as FILE:LINE with exit 1 and no file written; then
geo-data/SHA256SUMS against the CSVs and the build's generated test databases.

usage: build_geo_db_test.py [TEST_ASN_MMDB [TEST_COUNTRY_MMDB]]
       (prints "N passed, M failed"; exit 1 on failure)
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import maxminddb

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TOOL = os.path.join(ROOT, "tools", "build-geo-db")
GEO_DATA = os.path.join(ROOT, "geo-data")
EPOCH = 1700000000


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


TMP_DIRS = []


class Tmp:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="build_geo_db_test.")
        TMP_DIRS.append(self.dir)

    def csv(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return path

    def path(self, name):
        return os.path.join(self.dir, name)


def run_tool(*args, env_epoch=EPOCH):
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)
    if env_epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(env_epoch)
    return subprocess.run([TOOL, *args], capture_output=True, text=True, env=env, timeout=120)


def build(tmp, kind, *csvs, out="out.mmdb", extra=()):
    out = tmp.path(out)
    r = run_tool("--type", kind, *extra, "--out", out, *csvs)
    if r.returncode != 0:
        raise Failure("build failed (%d): %s" % (r.returncode, r.stderr))
    check(not os.path.exists(out + ".tmp"), "FILE.tmp left behind")
    return out, r


def asn_of(reader, ip):
    rec = reader.get(ip)
    return None if rec is None else rec["autonomous_system_number"]


ASN_CIDR = """network,autonomous_system_number,autonomous_system_organization
127.0.0.0/25,64500,Net A
127.0.0.128/25,64501,Net B
::1/128,64502,Loopback v6
192.0.2.0/24,64496,"Comma Net, Inc."
198.51.100.0/24,64497,"Quote ""Q"" Net"
2001:db8::/32,64499,Doc v6
203.0.113.0/24,4294967295,Largest ASN
"""


# ── Tests ───────────────────────────────────────────────────────────────────────────────────────

def test_asn_metadata():
    tmp = Tmp()
    out, r = build(tmp, "asn", tmp.csv("a.csv", ASN_CIDR))
    eq(r.stderr, "", "stderr on a small input")
    with maxminddb.open_database(out) as db:
        m = db.metadata()
        eq(m.database_type, "GeoLite2-ASN", "database_type")
        eq(m.ip_version, 6, "ip_version")
        eq(m.record_size, 24, "record_size")
        eq(m.languages, ["en"], "languages")
        eq(m.build_epoch, EPOCH, "build_epoch from SOURCE_DATE_EPOCH")
        check("a.csv" in m.description.get("en", ""), "description names the source: %r" % m.description)


def test_asn_lookups():
    tmp = Tmp()
    out, _ = build(tmp, "asn", tmp.csv("a.csv", ASN_CIDR))
    with maxminddb.open_database(out) as db:
        eq(db.get("127.0.0.1"), {"autonomous_system_number": 64500,
                                 "autonomous_system_organization": "Net A"}, "127.0.0.1")
        eq(asn_of(db, "127.0.0.127"), 64500, "127.0.0.127")
        eq(asn_of(db, "127.0.0.128"), 64501, "127.0.0.128")
        eq(asn_of(db, "127.0.0.255"), 64501, "127.0.0.255")
        eq(asn_of(db, "127.0.1.0"), None, "127.0.1.0")
        eq(asn_of(db, "::1"), 64502, "::1")
        eq(asn_of(db, "::2"), None, "::2")
        eq(asn_of(db, "2001:db8:ffff::1"), 64499, "2001:db8:ffff::1")
        eq(asn_of(db, "2001:db9::1"), None, "2001:db9::1")
        eq(asn_of(db, "::ffff:127.0.0.1"), 64500, "IPv4-mapped ::ffff:127.0.0.1")
        eq(asn_of(db, "::ffff:127.0.0.200"), 64501, "IPv4-mapped ::ffff:127.0.0.200")
        eq(db.get("192.0.2.77")["autonomous_system_organization"], "Comma Net, Inc.", "comma org")
        eq(db.get("198.51.100.1")["autonomous_system_organization"], 'Quote "Q" Net', "quote org")
        eq(asn_of(db, "203.0.113.9"), 4294967295, "largest ASN")
        eq(asn_of(db, "10.0.0.1"), None, "10.0.0.1")


def test_asn_ranges_format():
    tmp = Tmp()
    v4 = tmp.csv("asn-ipv4.csv", '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."\n'
                                 "1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\n"
                                 "10.0.0.3,10.0.1.4,64510,Odd Range\n"
                                 '2.27.57.0,2.27.57.255,207513,"LLC ""HOSTOFF"""\n'
                                 "45.70.144.0,45.70.147.255,267568,R. C. F. \u00ad TELECOM\n")
    v6 = tmp.csv("asn-ipv6.csv", "2001::,2001::ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC\n"
                                 "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n"
                                 "2002::,2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC\n")
    out, r = build(tmp, "asn", v4, v6)
    check("aliased to IPv4" in r.stderr, "a note about the aliased IPv6 rows: %r" % r.stderr)
    with maxminddb.open_database(out) as db:
        eq(db.get("1.0.0.1"), {"autonomous_system_number": 13335,
                               "autonomous_system_organization": "Cloudflare, Inc."}, "1.0.0.1")
        eq(asn_of(db, "1.0.1.0"), None, "1.0.1.0 (gap)")
        eq(asn_of(db, "1.0.5.200"), 38803, "1.0.5.200")
        eq(asn_of(db, "10.0.0.2"), None, "just before an unaligned range")
        eq(asn_of(db, "10.0.0.3"), 64510, "unaligned range start")
        eq(asn_of(db, "10.0.1.4"), 64510, "unaligned range end")
        eq(asn_of(db, "10.0.1.5"), None, "just after an unaligned range")
        eq(db.get("2.27.57.9")["autonomous_system_organization"], 'LLC "HOSTOFF"', "quotes")
        eq(db.get("45.70.145.1")["autonomous_system_organization"], "R. C. F. \u00ad TELECOM", "UTF-8")
        eq(asn_of(db, "2001:200:1b9::1"), 2500, "IPv6 range")
        eq(asn_of(db, "::ffff:1.0.0.1"), 13335, "IPv4-mapped")
        # 2002:0100:0001::/48 is 6to4 for 1.0.0.1: the writer aliases it to the IPv4 record.
        eq(asn_of(db, "2002:100:1::1"), 13335, "6to4 alias")


def test_country():
    tmp = Tmp()
    cidr = tmp.csv("c.csv", "network,country_iso_code\n127.0.0.0/25,XA\n127.0.0.128/25,xb\n"
                            "::1/128,XA\n2001:db8::/32,XD\n")
    ranges = tmp.csv("r.csv", "192.0.2.0,192.0.2.255,XC\n")
    out, _ = build(tmp, "country", cidr, ranges)
    with maxminddb.open_database(out) as db:
        eq(db.metadata().database_type, "GeoLite2-Country", "database_type")
        eq(db.get("127.0.0.1"), {"country": {"iso_code": "XA"}}, "127.0.0.1")
        eq(db.get("127.0.0.200"), {"country": {"iso_code": "XB"}}, "lower case is upper-cased")
        eq(db.get("::1"), {"country": {"iso_code": "XA"}}, "::1")
        eq(db.get("::ffff:192.0.2.1"), {"country": {"iso_code": "XC"}}, "ranges file, IPv4-mapped")
        eq(db.get("2001:db8::5"), {"country": {"iso_code": "XD"}}, "2001:db8::5")


def test_later_rows_win():
    tmp = Tmp()
    first = tmp.csv("first.csv", "network,autonomous_system_number,autonomous_system_organization\n"
                                 "10.0.0.0/8,100,Big\n10.1.0.0/16,101,Middle\n10.1.0.0/16,102,Duplicate\n")
    second = tmp.csv("second.csv", "10.1.2.0,10.1.2.9,103,Range over\n10.0.0.0,10.0.0.255,104,Later\n")
    out, _ = build(tmp, "asn", first, second)
    with maxminddb.open_database(out) as db:
        eq(asn_of(db, "10.200.0.1"), 100, "outside the later rows")
        eq(asn_of(db, "10.1.200.1"), 102, "a duplicate network: the later row")
        eq(asn_of(db, "10.1.2.5"), 103, "a range over a network, next file")
        eq(asn_of(db, "10.1.2.10"), 102, "just past that range")
        eq(asn_of(db, "10.0.0.7"), 104, "a later range inside an earlier network")
    # A later, larger network replaces what it covers.
    tmp2 = Tmp()
    out2, _ = build(tmp2, "asn", tmp2.csv("x.csv", "network,autonomous_system_number,autonomous_system_organization\n"
                                                   "10.1.0.0/16,101,Small\n10.0.0.0/8,100,Big\n"))
    with maxminddb.open_database(out2) as db:
        eq(asn_of(db, "10.1.0.1"), 100, "a later, larger network")


def test_epoch_and_reproducibility():
    tmp = Tmp()
    src = tmp.csv("a.csv", ASN_CIDR)
    a, _ = build(tmp, "asn", src, out="a.mmdb")
    b, _ = build(tmp, "asn", src, out="b.mmdb")
    with open(a, "rb") as fa, open(b, "rb") as fb:
        check(fa.read() == fb.read(), "two builds with one SOURCE_DATE_EPOCH differ")
    c, _ = build(tmp, "asn", src, out="c.mmdb", extra=("--epoch", "1234567890"))
    with maxminddb.open_database(c) as db:
        eq(db.metadata().build_epoch, 1234567890, "--epoch wins over SOURCE_DATE_EPOCH")
    out = tmp.path("now.mmdb")
    r = run_tool("--type", "asn", "--out", out, src, env_epoch=None)
    eq(r.returncode, 0, "exit status without an epoch")
    with maxminddb.open_database(out) as db:
        check(abs(db.metadata().build_epoch - time.time()) < 120, "default epoch is now")


def test_replaces_atomically():
    tmp = Tmp()
    out = tmp.path("db.mmdb")
    with open(out, "w") as f:
        f.write("old")
    ino = os.stat(out).st_ino
    build(tmp, "asn", tmp.csv("a.csv", ASN_CIDR), out="db.mmdb")
    check(os.stat(out).st_ino != ino, "the output was rewritten in place, not renamed over")
    with maxminddb.open_database(out) as db:
        eq(asn_of(db, "127.0.0.1"), 64500, "the new file")


MALFORMED = [
    # (type, csv text, line, words in the reason)
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n10.0.0.0/8,0,Zero\n",
     2, "positive 32-bit"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n"
            "10.0.0.0/8,1,ok\n10.0.0.0/8,4294967296,Too big\n", 3, "positive 32-bit"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n10.0.0.0/8,-5,Neg\n",
     2, "positive 32-bit"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n10.0.0.0/8,AS5,Pfx\n",
     2, "positive 32-bit"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n10.0.0.0/33,5,X\n",
     2, "bad network"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n10.0.0.1/8,5,X\n",
     2, "host bits"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n\n10.0.0/8,5,X\n",
     3, "bad network"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n10.0.0.0,5,X\n",
     2, "bad network"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n2001:db8::/129,5,X\n",
     2, "bad network"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n10.0.0.0/8,5,Org, Inc.\n",
     2, "expected 3 fields"),
    ("asn", "network,autonomous_system_number,autonomous_system_organization\n10.0.0.0/8,5,\"Org\"x\n",
     2, "quoting"),
    ("asn", "1.0.0.9,1.0.0.1,5,Backwards\n", 1, "start is after"),
    ("asn", "1.0.0.0,1.0.0.255,5,ok\n1.0.1.0,2001:db8::1,5,Mixed\n", 2, "mixes IPv4 and IPv6"),
    ("asn", "1.0.0.0,1.0.0.256,5,Bad end\n", 1, "bad range end"),
    ("asn", "1.0.0.0,1.0.0.255,5\n", 1, "expected 4 fields"),
    ("asn", "network,autonomous_system_number\n10.0.0.0/8,5\n", 1, "header lacks"),
    ("country", "network,country_iso_code\n10.0.0.0/8,USA\n", 2, "two letters"),
    ("country", "1.0.0.0,1.0.0.255,X1\n", 1, "two letters"),
]


def test_malformed_rows():
    for i, (kind, text, line, words) in enumerate(MALFORMED):
        tmp = Tmp()
        src = tmp.csv("bad%d.csv" % i, text)
        out = tmp.path("out.mmdb")
        r = run_tool("--type", kind, "--out", out, src)
        eq(r.returncode, 1, "exit status for %r" % text)
        want = "%s:%d: " % (src, line)
        lines = [l for l in r.stderr.splitlines() if l.startswith(want)]
        check(lines, "no %r line in %r" % (want, r.stderr))
        check(words in lines[0], "reason %r lacks %r" % (lines[0], words))
        check(not os.path.exists(out) and not os.path.exists(out + ".tmp"),
              "a database was written for %r" % text)


def test_all_errors_reported():
    tmp = Tmp()
    src = tmp.csv("many.csv", "network,autonomous_system_number,autonomous_system_organization\n"
                              "10.0.0.0/8,0,A\n10.0.0.0/8,5,B\n11.0.0.0/33,5,C\n")
    r = run_tool("--type", "asn", "--out", tmp.path("o.mmdb"), src)
    eq(r.returncode, 1, "exit status")
    check("%s:2: " % src in r.stderr and "%s:4: " % src in r.stderr, "both errors: %r" % r.stderr)


def test_invalid_utf8():
    tmp = Tmp()
    src = tmp.path("latin1.csv")
    with open(src, "wb") as f:
        f.write(b"1.0.0.0,1.0.0.255,5,Caf\xe9\n")
    r = run_tool("--type", "asn", "--out", tmp.path("o.mmdb"), src)
    eq(r.returncode, 1, "exit status")
    check("%s:1: " % src in r.stderr and "UTF-8" in r.stderr, "UTF-8 error: %r" % r.stderr)


def test_usage_errors():
    tmp = Tmp()
    src = tmp.csv("a.csv", ASN_CIDR)
    check(run_tool("--out", tmp.path("o"), src).returncode != 0, "no --type")
    check(run_tool("--type", "city", "--out", tmp.path("o"), src).returncode != 0, "bad --type")
    check(run_tool("--type", "asn", src).returncode != 0, "no --out")
    check(run_tool("--type", "asn", "--out", tmp.path("o"), tmp.path("missing.csv")).returncode != 0,
          "missing input")
    check(run_tool("--type", "asn", "--epoch", "soon", "--out", tmp.path("o"), src).returncode != 0,
          "bad --epoch")
    empty = tmp.csv("empty.csv", "")
    r = run_tool("--type", "asn", "--out", tmp.path("o"), empty)
    eq(r.returncode, 1, "an empty input")


def test_progress():
    tmp = Tmp()
    rows = ["%d.%d.%d.0,%d.%d.%d.255,%d,Org %d" % (10 + i // 65536, (i // 256) % 256, i % 256,
                                                   10 + i // 65536, (i // 256) % 256, i % 256,
                                                   64512 + i % 1000, i % 1000)
            for i in range(60000)]
    src = tmp.csv("big.csv", "\n".join(rows) + "\n")
    _, r = build(tmp, "asn", src)
    check("50000 rows," in r.stderr and "rows/s" in r.stderr, "progress: %r" % r.stderr)
    check("60000 rows" in r.stderr, "summary: %r" % r.stderr)
    _, r = build(tmp, "asn", src, out="q.mmdb", extra=("--quiet",))
    eq(r.stderr, "", "--quiet")


def test_geo_data_checksums():
    with open(os.path.join(GEO_DATA, "SHA256SUMS")) as f:
        entries = [l.split() for l in f if l.strip()]
    names = sorted(n for _, n in entries)
    eq(names, ["test-asn.csv", "test-country.csv"], "files in SHA256SUMS")
    for digest, name in entries:
        with open(os.path.join(GEO_DATA, name), "rb") as f:
            eq(hashlib.sha256(f.read()).hexdigest(), digest, "sha256 of geo-data/" + name)


def test_generated_asn_db():
    if len(sys.argv) < 2:
        raise Failure("pass the build's test-asn.mmdb")
    with maxminddb.open_database(sys.argv[1]) as db:
        eq(db.metadata().database_type, "GeoLite2-ASN", "database_type")
        eq(db.metadata().build_epoch, 1704067200, "the fixed build epoch")
        eq(asn_of(db, "127.0.0.1"), 64500, "127.0.0.1")
        eq(asn_of(db, "127.0.0.200"), 64501, "127.0.0.200")
        eq(asn_of(db, "::1"), 64502, "::1")
        eq(asn_of(db, "::ffff:127.0.0.1"), 64500, "::ffff:127.0.0.1")
        eq(asn_of(db, "10.0.0.1"), None, "10.0.0.1")
        eq(db.get("192.0.2.1")["autonomous_system_organization"], "Documentation Net 1, Inc.", "comma")
        eq(asn_of(db, "198.51.100.1"), 64497, "198.51.100.1")
        eq(asn_of(db, "203.0.113.1"), 64498, "203.0.113.1")
        eq(asn_of(db, "2001:db8::1"), 64499, "2001:db8::1")


def test_generated_country_db():
    if len(sys.argv) < 3:
        raise Failure("pass the build's test-country.mmdb")
    with maxminddb.open_database(sys.argv[2]) as db:
        eq(db.metadata().database_type, "GeoLite2-Country", "database_type")
        for ip, cc in [("127.0.0.1", "XA"), ("127.0.0.200", "XB"), ("::1", "XA"),
                       ("192.0.2.1", "XC"), ("2001:db8::1", "XD")]:
            eq(db.get(ip), {"country": {"iso_code": cc}}, ip)
        eq(db.get("10.0.0.1"), None, "10.0.0.1")


def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    passed = failed = 0
    for name, fn in tests:
        try:
            fn()
            passed += 1
            print("ok   %s" % name)
        except Exception as e:  # noqa: BLE001 — report every failure, keep going
            failed += 1
            print("FAIL %s: %s" % (name, e))
            if not isinstance(e, Failure):
                traceback.print_exc()
    for d in TMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
