#!/usr/bin/python3
"""The HTTP calls CIRCL's Python clients make, with Debian's python3-requests.

PyPDNS (pypdns/api.py) and PyPSSL (pypssl/api.py) are not packaged in
Debian; this script makes the same requests they make (a requests.Session
with basic_auth as session.auth, the same headers, the same URLs) and
handles the answers as they do, so a test sees what their users would.

    circl_clients.py URL USER TOKEN rfc_query NAME [RRTYPE]
        PyPDNS.rfc_query(NAME, filter_rrtype=RRTYPE): one JSON record a line
    circl_clients.py URL USER TOKEN iter_query NAME [RRTYPE]
        PyPDNS.iter_query (dribble-paginate-count 50 as PyPDNS, or $PAGE):
        one JSON record a line, then "pages N"
    circl_clients.py URL USER TOKEN fetch_cert SHA1
        PyPSSL.fetch_cert(SHA1): the answer as JSON, not_before/not_after
        turned into datetimes as PyPSSL does (printed back in ISO form)
    circl_clients.py URL USER TOKEN status PATH
        the HTTP status of a GET with these credentials

With AUTH_TOKEN=1 in the environment the token is sent as PyPDNS's
auth_token (the Authorization header's whole value) instead of Basic.

Exit status 1 with the exception on standard error when the client would
raise (PDNSError, UnauthorizedError, KeyError ...).
"""
import datetime
import json
import os
import sys
from urllib.parse import urljoin

import requests


class PDNSError(Exception):
    pass


def session(user, token):
    s = requests.Session()
    s.headers["user-agent"] = "PyPDNS / 2.2.3"
    if os.environ.get("AUTH_TOKEN"):
        s.headers.update({"Authorization": token})  # PyPDNS(auth_token=token)
    else:
        s.auth = (user, token)  # PyPDNS(basic_auth=(user, token))
    return s


def handle_http_error(response):
    # PyPDNS._handle_http_error
    if response.status_code == 401:
        raise PDNSError("UnauthorizedError: Not authenticated: is authentication correct?")
    if response.status_code == 403:
        raise PDNSError("ForbiddenError: Not authorized to access resource")
    raise PDNSError("Something went wrong (HTTP %d)" % response.status_code)


def records(text):
    out = []
    for line in text.split("\n"):
        if len(line) == 0:
            continue
        out.append(json.loads(line))
    return out


def rfc_query(s, url, q, rrtype):
    headers = {}
    if rrtype:
        headers["dribble-filter-rrtype"] = rrtype
    response = s.get(f"{url}/{q}", timeout=15, headers=headers)
    if response.status_code != 200:
        handle_http_error(response)
    recs = sorted(records(response.text), key=lambda k: k["time_last"])
    for r in recs:
        print(json.dumps(r, sort_keys=True))


def iter_query(s, url, q, rrtype):
    cursor = -1
    query_headers = {"dribble-paginate-count": os.environ.get("PAGE", "50")}
    if rrtype:
        query_headers["dribble-filter-rrtype"] = rrtype
    pages = 0
    while True:
        if cursor > 0:
            query_headers["dribble-paginate-cursor"] = str(cursor)
        response = s.get(f"{url}/{q}", timeout=15, headers=query_headers)
        if response.status_code != 200:
            handle_http_error(response)
        pages += 1
        for r in records(response.text):
            print(json.dumps(r, sort_keys=True))
        if "x-dribble-cursor" in response.headers:
            cursor = int(response.headers["x-dribble-cursor"])
        else:
            break
        if pages > 1000:
            raise PDNSError("the cursor never ends")
    print("pages", pages)


def fetch_cert(s, base, sha1):
    # PyPSSL.fetch_cert: _query() then the two datetimes
    response = s.get(urljoin(base, "v2pssl/cfetch/{}".format(sha1)), timeout=15)
    try:
        answer = response.json()
    except Exception:
        raise PDNSError("Unable to decode JSON object: " + response.text)
    if answer.get("error"):
        print(json.dumps({"status": response.status_code, "error": answer["error"]}))
        return
    # PyPSSL uses dateutil.parser.parse; fromisoformat reads the same text
    for k in ("not_before", "not_after"):
        v = answer["info"][k]
        answer["info"][k] = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    for k in ("not_before", "not_after"):
        answer["info"][k] = answer["info"][k].isoformat()
    print(json.dumps(answer, sort_keys=True))


def main():
    url, user, token, what, arg = sys.argv[1:6]
    extra = sys.argv[6] if len(sys.argv) > 6 else None
    s = session(user, token)
    try:
        if what == "rfc_query":
            rfc_query(s, url + "/pdns/query", arg, extra)
        elif what == "iter_query":
            iter_query(s, url + "/pdns/query", arg, extra)
        elif what == "fetch_cert":
            fetch_cert(s, url + "/", arg)
        elif what == "status":
            print(s.get(url + arg, timeout=15).status_code)
        else:
            raise SystemExit("unknown call " + what)
    except Exception as e:
        print("%s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
