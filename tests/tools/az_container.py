#!/usr/bin/env python3
"""Creates a container on an Azure Blob endpoint (Azurite) with SharedKey.

   az_container.py ENDPOINT ACCOUNT KEY CONTAINER CAFILE

Written from the documented SharedKey scheme with the standard library only,
so the tests do not need an Azure SDK; it is independent of stratum's own
signing code (storage/azure_backend.cpp)."""
import base64, hashlib, hmac, http.client, ssl, sys, email.utils
from urllib.parse import urlparse

endpoint, account, key, container, cafile = sys.argv[1:6]
u = urlparse(endpoint)
date = email.utils.formatdate(usegmt=True)
version = "2021-08-06"
path = "/%s/%s" % (account, container)
to_sign = "\n".join(["PUT", "", "", "", "", "", "", "", "", "", "", "",
                     "x-ms-date:" + date, "x-ms-version:" + version,
                     "/%s%s\nrestype:container" % (account, path)])
sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
ctx = ssl.create_default_context(cafile=cafile)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
c.request("PUT", path + "?restype=container", headers={
    "x-ms-date": date, "x-ms-version": version, "Content-Length": "0",
    "Authorization": "SharedKey %s:%s" % (account, sig)})
r = c.getresponse()
r.read()
sys.exit(0 if r.status in (201, 409) else 1)
