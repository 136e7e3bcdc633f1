#!/usr/bin/env python3
"""A tiny SAML 2.0 identity provider for mintgate's browser test (Python standard library,
plus the `xmlsec1` and `openssl` commands).

GET /sso?SAMLRequest=...&RelayState=...&SigAlg=...&Signature=... (HTTP-Redirect binding):
  - verifies the request's redirect-binding signature with `openssl dgst -sha256 -verify`
    against the SP certificate given on the command line (Bindings 3.4.4.1: the signed octets
    are the query parameters exactly as received);
  - inflates and reads the AuthnRequest (ID, AssertionConsumerServiceURL, Issuer) and checks
    the ACS URL and Issuer are the SP's;
  - answers an auto-submitting HTML form POSTing a Response, whose Assertion `xmlsec1 --sign`
    signed (RSA-SHA256), to the ACS with the RelayState.

Prints the port it listens on, then serves until killed.
"""

import argparse
import base64
import datetime
import html
import http.server
import os
import subprocess
import tempfile
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zlib

NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}


def esc(s):
    return html.escape(s, quote=True)


def t(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def signature_template(ref):
    return (
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<ds:Reference URI="#{ref}"><ds:Transforms>'
        '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
        '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        "<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"
        "<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"
    )


def response_xml(args, request_id, acs, audience):
    now = datetime.datetime.now(datetime.timezone.utc)
    aid = "_" + uuid.uuid4().hex
    attrs = "".join(
        f'<saml:Attribute Name="{esc(name)}"><saml:AttributeValue>{esc(value)}</saml:AttributeValue></saml:Attribute>'
        for name, value in (("email", args.email), ("name", args.display_name), ("groups", args.group))
    )
    assertion = (
        f'<saml:Assertion xmlns:saml="{NS["saml"]}" ID="{aid}" Version="2.0" IssueInstant="{t(now)}">'
        f"<saml:Issuer>{esc(args.entity)}</saml:Issuer>{signature_template(aid)}"
        f'<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{esc(args.name_id)}</saml:NameID>'
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData InResponseTo="{esc(request_id)}" NotOnOrAfter="{t(now + datetime.timedelta(minutes=5))}" Recipient="{esc(acs)}"/>'
        "</saml:SubjectConfirmation></saml:Subject>"
        f'<saml:Conditions NotBefore="{t(now - datetime.timedelta(seconds=30))}" NotOnOrAfter="{t(now + datetime.timedelta(minutes=5))}">'
        f"<saml:AudienceRestriction><saml:Audience>{esc(audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{t(now)}"><saml:AuthnContext><saml:AuthnContextClassRef>'
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
        f"<saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>"
    )
    with tempfile.TemporaryDirectory() as d:
        tmpl = os.path.join(d, "tmpl.xml")
        out = os.path.join(d, "out.xml")
        with open(tmpl, "w") as f:
            f.write(assertion)
        subprocess.run(
            ["xmlsec1", "--sign", "--privkey-pem", f"{args.key},{args.cert}",
             "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "--output", out, tmpl],
            check=True, capture_output=True)
        with open(out) as f:
            signed = f.read()
    if signed.startswith("<?xml"):
        signed = signed[signed.index("?>") + 2:].strip()
    return (
        f'<samlp:Response xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}" ID="_{uuid.uuid4().hex}" Version="2.0" '
        f'IssueInstant="{t(now)}" Destination="{esc(acs)}" InResponseTo="{esc(request_id)}">'
        f"<saml:Issuer>{esc(args.entity)}</saml:Issuer>"
        '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f"{signed}</samlp:Response>"
    )


def verify_redirect_signature(raw_query, sp_cert):
    """Bindings 3.4.4.1: SAMLRequest=..&RelayState=..&SigAlg=.. as received, RSA-SHA256."""
    parts = dict(p.split("=", 1) for p in raw_query.split("&") if "=" in p)
    signed = "&".join(f"{k}={parts[k]}" for k in ("SAMLRequest", "RelayState", "SigAlg") if k in parts)
    signature = base64.b64decode(urllib.parse.unquote_plus(parts["Signature"]))
    with tempfile.TemporaryDirectory() as d:
        data, sig, pub = (os.path.join(d, n) for n in ("data", "sig", "pub.pem"))
        with open(data, "w") as f:
            f.write(signed)
        with open(sig, "wb") as f:
            f.write(signature)
        key = subprocess.run(["openssl", "x509", "-in", sp_cert, "-pubkey", "-noout"],
                             check=True, capture_output=True).stdout
        with open(pub, "wb") as f:
            f.write(key)
        ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, data],
                            capture_output=True)
        return ok.returncode == 0


def handler(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def fail(self, why):
            body = why.encode()
            self.send_response(400)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/sso":
                return self.fail("not found")
            q = urllib.parse.parse_qs(url.query)
            if q.get("SigAlg", [""])[0] != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256":
                return self.fail("unsigned or not RSA-SHA256")
            if not verify_redirect_signature(url.query, args.sp_cert):
                return self.fail("the AuthnRequest signature does not verify")
            xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
            req = ET.fromstring(xml)
            acs = req.get("AssertionConsumerServiceURL")
            issuer = req.find("saml:Issuer", NS)
            if acs != args.acs or issuer is None or issuer.text != args.audience:
                return self.fail(f"unexpected ACS or issuer: {acs} {issuer}")
            response = response_xml(args, req.get("ID"), acs, args.audience)
            relay = q.get("RelayState", [""])[0]
            page = (
                "<!doctype html><html><body onload=\"document.forms[0].submit()\">"
                f'<form method="post" action="{esc(acs)}">'
                f'<input type="hidden" name="SAMLResponse" value="{esc(base64.b64encode(response.encode()).decode())}">'
                f'<input type="hidden" name="RelayState" value="{esc(relay)}">'
                "<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--sp-cert", required=True)
    p.add_argument("--entity", required=True)
    p.add_argument("--acs", required=True)
    p.add_argument("--audience", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--name-id", required=True)
    p.add_argument("--display-name", default="Alice Example")
    p.add_argument("--group", default="Engineering")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler(args))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
