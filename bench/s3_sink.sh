# Sourced by bench/gc.sh: starts nginx as an S3 sink that gc can run
# against, on loopback with $rtt_ms ms of delay per request, and sets
# $endpoint and $sink (the directory that holds the bucket). Stopped on exit.
#
# Like bench/s3.sh's sink (WebDAV PUT stores the bodies, DELETE removes one,
# GET and HEAD are static files), plus what a collector needs, in a Lua block:
#   GET /bucket?list-type=2&prefix=P[&continuation-token=K][&max-keys=M]
#     ListObjectsV2 of the files under P's directory, in key order, with Size
#     and LastModified (ISO 8601, from the file's mtime); the continuation
#     token is the last key of the page. No delimiter (rclone: --fast-list).
#   POST /bucket?delete  DeleteObjects: removes each <Key> of the XML body;
#     answers an empty DeleteResult when <Quiet>, else one <Deleted> a key.
# Its one worker runs `find | sort` for each listing page (blocking: fine for
# the tens of thousands of objects of this bench, not for millions).
ngx=$work/nginx
sink=$( [ -d /dev/shm ] && mktemp -d /dev/shm/stratum-gc-sink.XXXXXX || { mkdir -p "$work/sink"; echo "$work/sink"; } )
rm -rf "$ngx" && mkdir -p "$ngx/tmp" "$ngx/logs" "$sink/bucket"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=""; [ "$(id -u)" -eq 0 ] && { user="user www-data;"; chown -R www-data "$sink" "$ngx/tmp" "$ngx/logs"; }
cat > "$ngx/nginx.conf" <<EOF
$user
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
worker_rlimit_nofile 65536;
error_log $ngx/logs/error.log warn;
pid $ngx/nginx.pid;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp;
  client_max_body_size 0;
  client_body_buffer_size 4m;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$port backlog=4096;
    root $sink;
    location / {
      access_by_lua_block {
        ngx.sleep($(echo "scale=3; $rtt_ms / 1000" | bc))
        local uri, method = ngx.var.uri, ngx.req.get_method()
        if uri ~= "/bucket" and uri ~= "/bucket/" then return end
        local bucket = "$sink/bucket/"
        local function esc(s) return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;")) end
        local args = ngx.req.get_uri_args()
        ngx.header["Content-Type"] = "application/xml"
        if method == "GET" then
          local prefix = args.prefix or ""
          if type(prefix) ~= "string" or prefix:find("[^%w%._/-]") or (args.delimiter and args.delimiter ~= "") then return ngx.exit(501) end
          local after = args["continuation-token"] or args["start-after"] or ""
          local max = math.min(tonumber(args["max-keys"]) or 1000, 1000)
          local dir = prefix:match("^(.*/)") or ""
          local f = io.popen("cd '" .. bucket .. "' && find './" .. dir .. "' -type f -printf '%P\\\\t%s\\\\t%T@\\\\n' 2>/dev/null | LC_ALL=C sort")
          local out, count, last, truncated = {}, 0, nil, false
          for line in f:lines() do
            local rel, size, mtime = line:match("^(.-)\\t(%d+)\\t([%d.]+)$")
            local key = rel and dir .. rel
            if key and key:sub(1, #prefix) == prefix and key > after then
              if count == max then truncated = true break end
              count = count + 1; last = key
              out[#out + 1] = "<Contents><Key>" .. esc(key) .. "</Key><LastModified>" ..
                os.date("!%Y-%m-%dT%H:%M:%S", math.floor(tonumber(mtime))) .. ".000Z</LastModified><Size>" .. size ..
                "</Size><StorageClass>STANDARD</StorageClass></Contents>"
            end
          end
          f:close()
          ngx.say('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>',
            esc(prefix), '</Prefix><KeyCount>', count, '</KeyCount><MaxKeys>', max, '</MaxKeys><IsTruncated>', tostring(truncated),
            '</IsTruncated>', table.concat(out), truncated and ('<NextContinuationToken>' .. esc(last) .. '</NextContinuationToken>') or '',
            '</ListBucketResult>')
          return ngx.exit(200)
        elseif method == "POST" and args.delete then
          ngx.req.read_body()
          local body = ngx.req.get_body_data()
          if not body then
            local file = ngx.req.get_body_file()
            if not file then return ngx.exit(400) end
            local h = io.open(file); body = h:read("*a"); h:close()
          end
          local quiet = body:find("<Quiet>true</Quiet>") ~= nil
          local done = {}
          for key in body:gmatch("<Key>(.-)</Key>") do
            key = key:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&apos;", "'"):gsub("&amp;", "&")
            if key:find("%.%.") then return ngx.exit(400) end
            os.remove(bucket .. key)
            if not quiet then done[#done + 1] = "<Deleted><Key>" .. esc(key) .. "</Key></Deleted>" end
          end
          ngx.say('<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
            table.concat(done), '</DeleteResult>')
          return ngx.exit(200)
        end
      }
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
    }
  }
}
EOF
nginx -p "$ngx" -c "$ngx/nginx.conf"
trap 'nginx -p "$ngx" -c "$ngx/nginx.conf" -s quit 2>/dev/null || true; sleep 0.5; rm -rf "$sink"' EXIT
sleep 0.5
endpoint=http://127.0.0.1:$port
