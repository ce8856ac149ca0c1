#!/usr/bin/env python3
"""Prints a container SAS token (service SAS, version 2021-08-06).

   az_sas.py ACCOUNT KEY CONTAINER PERMISSIONS EXPIRY   (EXPIRY: 2030-01-01T00:00:00Z)

Written from the documented service-SAS string-to-sign with the standard
library, independent of stratum's code."""
import base64, hashlib, hmac, sys
from urllib.parse import quote

account, key, container, perms, expiry = sys.argv[1:6]
version = "2021-08-06"
fields = [perms, "", expiry, "/blob/%s/%s" % (account, container), "", "", "https", version, "c", "", "",
          "", "", "", "", ""]
sig = base64.b64encode(hmac.new(base64.b64decode(key), "\n".join(fields).encode(), hashlib.sha256).digest()).decode()
print("sv=%s&sr=c&sp=%s&se=%s&spr=https&sig=%s" % (version, perms, quote(expiry, safe=""), quote(sig, safe="")))
