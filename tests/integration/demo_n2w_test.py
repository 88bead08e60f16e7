#!/usr/bin/python3
"""tools/demo-n2w against a real handoffd on 127.0.0.1 (the built-in demo tenant), once per STT
transport (query, cookie) and once with --quiet: it must exit 0, print every step heading, and
never print a whole token.

usage: demo_n2w_test.py PATH_TO_HANDOFFD   (prints "N passed, M failed"; exit 1 on failure)
"""
import os
import re
import subprocess
import sys
import tempfile
import traceback

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "demo-n2w")
HEADINGS = [
    "== Step 1: the native app logs in",
    "== Step 2: the native app mints a session transfer token",
    "== Step 3: a fresh browser opens the web app with the STT",
    "== Step 4: the same STT again",
    "== Step 5: the native app's refresh token is revoked",
    "== Step 6: the tenant log",
    "All steps answered as expected.",
]
# Our opaque tokens are <kind>_<shard>_<22 chars>; a JWT is three base64url parts.
WHOLE_TOKEN = re.compile(r"\b(?:at|rt|cd|stt|sid)_\d+_[\w-]{22}(?![\w-])|\beyJ[\w-]{20,}\.[\w-]{20,}\.[\w-]{20,}")


def start_server(handoffd, data_dir):
    proc = subprocess.Popen([handoffd, "--listen", "127.0.0.1:0", "--threads", "2", "--no-pin",
                             "--data-dir", data_dir, "--log-level", "warn"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError("handoffd did not start: %r" % line)
    return proc, "http://127.0.0.1:%s" % m.group(1)


def run_demo(base, *args):
    r = subprocess.run([sys.executable, DEMO, "--issuer", base, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, "demo-n2w %s exited %d:\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr)
    for h in HEADINGS:
        assert h in r.stdout, "missing %r in:\n%s" % (h, r.stdout)
    leaked = WHOLE_TOKEN.search(r.stdout)
    assert not leaked, "a whole token was printed: %s…" % leaked.group(0)[:12]
    return r.stdout


def test_query_transport(base):
    text = run_demo(base, "--transport", "query")
    assert "session_transfer_token=stt_" in text  # the request line, shortened
    assert "access_token:      stt_" in text and '"N_A"' in text
    assert "Set-Cookie: handoff_session=" in text
    assert "error=login_required" in text
    assert '"sub": "auth0|demo"' in text  # ID-token claims decoded


def test_cookie_transport(base):
    text = run_demo(base, "--transport", "cookie")
    assert "Cookie: auth0_session_transfer_token=stt_" in text
    assert "session_transfer_token=stt_" not in text.replace("auth0_session_transfer_token=stt_", "")


def test_quiet(base):
    text = run_demo(base, "--quiet")
    assert "   → " not in text and "✓ same user" in text


def test_unexpected_answer_exits_1(base):
    # Nothing listens on port 1: the demo must say so and fail, not crash.
    r = subprocess.run([sys.executable, DEMO, "--issuer", "http://127.0.0.1:1"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "UNEXPECTED" in r.stdout and "Traceback" not in r.stderr, r.stdout + r.stderr


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tests = [test_query_transport, test_cookie_transport, test_quiet, test_unexpected_answer_exits_1]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as data_dir:
        proc, base = start_server(sys.argv[1], data_dir)
        try:
            for t in tests:
                try:
                    t(base)
                    passed += 1
                    print("PASS", t.__name__)
                except Exception:
                    failed += 1
                    print("FAIL", t.__name__)
                    traceback.print_exc()
        finally:
            proc.terminate()
            try:
                rc = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
    if rc != 0:
        failed += 1
        print("FAIL handoffd exited %d after SIGTERM" % rc)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
