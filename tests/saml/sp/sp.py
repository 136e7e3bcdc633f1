#!/usr/bin/env python3
"""An independent SAML 2.0 service provider (pysaml2) for mintgate's IdP tests.

  sp.py request  --idp-metadata F --entity-id E --acs URL [--binding redirect|post]
                 [--force-authn] [--relay-state RS] [--key K --cert C]
      builds an AuthnRequest to the IdP's SSO service and prints JSON:
      {"request_id", "url"} (redirect) or {"request_id", "action", "SAMLRequest", "RelayState"} (post)
  sp.py validate --idp-metadata F --entity-id E --acs URL --request-id ID --response B64
      validates a posted SAMLResponse (signature against the metadata's certificates,
      conditions, audience, recipient, InResponseTo) and prints JSON: name_id, attributes...
      Exits 1 with {"error": ...} when pysaml2 refuses it.
  sp.py metadata --idp-metadata F
      prints the entity ID, SSO endpoints and signing certificates pysaml2 reads.
"""
import argparse
import html as htmllib
import json
import re
import shutil
import sys

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import MetadataStore
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256


def xmlsec():
    path = shutil.which("xmlsec1")
    if not path:
        print(json.dumps({"error": "xmlsec1 not found"}))
        sys.exit(3)
    return path


def client(args, sign=False):
    sp = {
        "endpoints": {"assertion_consumer_service": [(args.acs, BINDING_HTTP_POST)]},
        "allow_unsolicited": False,
        "authn_requests_signed": sign,
        "want_assertions_signed": True,
        "want_response_signed": False,
        "allow_unknown_attributes": True,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
    }
    conf = {
        "entityid": args.entity_id,
        "metadata": {"local": [args.idp_metadata]},
        "service": {"sp": sp},
        "xmlsec_binary": xmlsec(),
        "accepted_time_diff": getattr(args, "skew", 5),
    }
    if sign:
        conf["key_file"] = args.key
        conf["cert_file"] = args.cert
    config = SPConfig()
    config.load(conf)
    return Saml2Client(config=config)


def idp_entity(c):
    ids = list(c.metadata.identity_providers())
    if len(ids) != 1:
        raise SystemExit("expected one IdP in the metadata, got %r" % ids)
    return ids[0]


def cmd_request(args):
    sign = bool(args.key)
    c = client(args, sign=sign)
    binding = BINDING_HTTP_REDIRECT if args.binding == "redirect" else BINDING_HTTP_POST
    kwargs = {}
    if args.force_authn:
        kwargs["force_authn"] = "true"
    if args.passive:
        kwargs["is_passive"] = "true"
    if sign:
        kwargs["sigalg"] = SIG_RSA_SHA256
        kwargs["digest_alg"] = DIGEST_SHA256
    req_id, info = c.prepare_for_authenticate(
        entityid=idp_entity(c), relay_state=args.relay_state, binding=binding, **kwargs
    )
    if binding == BINDING_HTTP_REDIRECT:
        url = dict(info["headers"])["Location"]
        print(json.dumps({"request_id": req_id, "url": url}))
    else:
        html = info["data"]
        def field(name):
            m = re.search(r'name="%s" value="([^"]*)"' % name, html)
            return htmllib.unescape(m.group(1)) if m else None
        action = htmllib.unescape(re.search(r'action="([^"]*)"', html).group(1))
        print(json.dumps({
            "request_id": req_id,
            "action": action,
            "SAMLRequest": field("SAMLRequest"),
            "RelayState": field("RelayState"),
        }))


def cmd_validate(args):
    c = client(args)
    try:
        resp = c.parse_authn_request_response(
            args.response, BINDING_HTTP_POST, outstanding={args.request_id: "/"}
        )
        if resp is None:
            raise ValueError("no response")
        assertion = resp.assertion
        statement = assertion.authn_statement[0]
        attributes = {}
        for st in assertion.attribute_statement:
            for a in st.attribute:
                attributes.setdefault(a.name, []).extend(v.text for v in a.attribute_value)
        out = {
            "name_id": resp.name_id.text,
            "name_id_format": resp.name_id.format,
            "issuer": resp.issuer(),
            "in_response_to": resp.in_response_to,
            "attributes": attributes,
            "session_index": statement.session_index,
            "authn_context": statement.authn_context.authn_context_class_ref.text,
            "assertion_id": assertion.id,
        }
        print(json.dumps(out))
    except Exception as e:  # pysaml2 refuses with many exception types
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        sys.exit(1)


def cmd_metadata(args):
    from saml2 import config as cfg
    conf = cfg.Config()
    conf.load({"entityid": "urn:test", "xmlsec_binary": xmlsec()})
    md = MetadataStore(attrc=None, config=conf)
    md.load("local", args.idp_metadata)
    ids = list(md.identity_providers())
    out = {"entity_ids": ids}
    if ids:
        eid = ids[0]
        out["certs"] = [c[1] for c in md.certs(eid, "idpsso", "signing")]
        out["sso"] = {
            b: [e["location"] for e in md.single_sign_on_service(eid, b)]
            for b in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)
        }
        out["name_id_formats"] = [f["text"] for f in md[eid]["idpsso_descriptor"][0].get("name_id_format", [])]
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("request", "validate", "metadata"):
        s = sub.add_parser(name)
        s.add_argument("--idp-metadata", required=True)
        if name != "metadata":
            s.add_argument("--entity-id", required=True)
            s.add_argument("--acs", required=True)
    r = sub.choices["request"]
    r.add_argument("--binding", default="redirect", choices=["redirect", "post"])
    r.add_argument("--force-authn", action="store_true")
    r.add_argument("--passive", action="store_true")
    r.add_argument("--relay-state", default="")
    r.add_argument("--key")
    r.add_argument("--cert")
    v = sub.choices["validate"]
    v.add_argument("--request-id", required=True)
    v.add_argument("--response", required=True)
    v.add_argument("--skew", type=int, default=5,
                   help="seconds of clock difference accepted (the tests move the IdP's clock)")
    args = p.parse_args()
    {"request": cmd_request, "validate": cmd_validate, "metadata": cmd_metadata}[args.cmd](args)


if __name__ == "__main__":
    main()
