#!/usr/bin/python3
"""JWT interop between handoff and python3-jwcrypto (usage: jwt_interop.py PATH/TO/jwt_emit).

Both directions: jwcrypto verifies tokens and the JWKS that jwt_emit produces (signatures,
RFC 7638 kids, JWK members), and jwt_emit verifies tokens that jwcrypto signs with keys made
by python3-cryptography and handed over as PKCS#8, the key file's format. Exits non-zero on any
failure and ends with "N passed, M failed".
"""
import base64
import json
import subprocess
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk, jws, jwt

ALGS = ["RS256", "ES256", "EdDSA"]
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    if not ok:
        print(f"FAIL {name} {detail}")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rejects(fn):
    try:
        fn()
    except Exception:  # jwcrypto raises several kinds; any of them is a refusal
        return True
    return False


def ours_to_jwcrypto(emit):
    lines = subprocess.run([emit], capture_output=True, text=True, check=True).stdout.splitlines()
    fields = [line.split(" ", 2) if line.startswith("TOKEN") else line.split(" ", 1) for line in lines]
    jwks_text = next(f[1] for f in fields if f[0] == "JWKS")
    claims = next(f[1] for f in fields if f[0] == "CLAIMS")
    tokens = {f[1]: f[2] for f in fields if f[0] == "TOKEN"}
    check("one token per alg", sorted(tokens) == sorted(ALGS), str(sorted(tokens)))

    keyset = jwk.JWKSet.from_json(jwks_text)
    for key in keyset["keys"]:
        public = json.loads(key.export_public())
        check(f"{key.get('alg')} kid is the RFC 7638 thumbprint", key.thumbprint() == key.get("kid"))
        check(f"{key.get('alg')} JWK is public only", not key.has_private and "d" not in public)
        check(f"{key.get('alg')} JWK use", key.get("use") == "sig")

    for alg, token in tokens.items():
        header = json.loads(b64url_decode(token.split(".")[0]))
        key = keyset.get_key(header.get("kid"))
        check(f"{alg} kid in JWKS", key is not None)
        if key is None:
            continue
        check(f"{alg} header", header == {"alg": alg, "typ": "JWT", "kid": key.get("kid")}, str(header))
        check(f"{alg} JWK alg", key.get("alg") == alg)

        sig = jws.JWS()
        sig.deserialize(token)
        check(f"{alg} JWS verifies", not rejects(lambda: sig.verify(key, alg=alg)))
        check(f"{alg} payload", sig.payload.decode() == claims)
        token_obj = jwt.JWT(algs=[alg])
        check(f"{alg} JWT verifies with the key set",
              not rejects(lambda: token_obj.deserialize(token, keyset)))
        check(f"{alg} claims", json.loads(token_obj.claims) == json.loads(claims))

        head, _, rest = token.partition(".")
        _, _, signature = rest.partition(".")
        forged = head + "." + b64url_encode(claims.replace("demo-web", "evil-app").encode()) + "." + signature
        check(f"{alg} tampered payload refused by jwcrypto",
              rejects(lambda: jwt.JWT(algs=[alg]).deserialize(forged, keyset)))


def make_key(alg):
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def jwcrypto_to_ours(emit):
    claims = json.dumps({"iss": "https://idp.example.org", "sub": "x", "aud": "demo-web",
                         "exp": 4102444800}, separators=(",", ":"))
    cases = []  # (name, alg, stored, token, expect_ok, kid)
    for alg in ALGS:
        private = make_key(alg)
        stored = b64url_encode(private.private_bytes(serialization.Encoding.DER,
                                                     serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
        key = jwk.JWK.from_pyca(private)
        kid = key.thumbprint()
        # ECDSA signatures are random: many of them reach an r or s with a leading zero byte.
        count = 64 if alg == "ES256" else 4
        for i in range(count):
            token = jwt.JWT(header={"alg": alg, "typ": "JWT", "kid": kid}, claims=claims)
            token.make_signed_token(key)
            cases.append((f"{alg} jwcrypto token {i}", alg, stored, token.serialize(), True, kid))
        token = cases[-1][3]
        head, payload, signature = token.split(".")
        tampered = head + "." + b64url_encode(b'{"sub":"y"}') + "." + signature
        cases.append((f"{alg} tampered jwcrypto token", alg, stored, tampered, False, kid))
        other = jwk.JWK.from_pyca(make_key(alg))
        wrong = jwt.JWT(header={"alg": alg, "typ": "JWT", "kid": kid}, claims=claims)
        wrong.make_signed_token(other)
        cases.append((f"{alg} token by another key", alg, stored, wrong.serialize(), False, kid))
        unsigned = b64url_encode(json.dumps({"alg": "none", "kid": kid}).encode()) + "." + payload + "."
        cases.append((f"{alg} alg none", alg, stored, unsigned, False, kid))

    stdin = "".join(f"{c[1]} {c[2]} {c[3]}\n" for c in cases)
    out = subprocess.run([emit, "verify"], input=stdin, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    check("one answer per token", len(out) == len(cases), f"{len(out)} != {len(cases)}")
    for (name, _, _, _, expect_ok, kid), answer in zip(cases, out):
        if expect_ok:
            parts = answer.split(" ", 2)
            good = parts[0] == "ok" and parts[1] == kid and json.loads(parts[2]) == json.loads(claims)
            check(name, good, answer)
        else:
            check(name, answer.startswith("fail "), answer)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    ours_to_jwcrypto(sys.argv[1])
    jwcrypto_to_ours(sys.argv[1])
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
