-- wrk script: POST a chat completion; the body and headers come from the environment so one script serves every target.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
for header in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^|]+") do
  local name, value = string.match(header, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
