-- wrk script: POST pre-signed Connect bodies, each thread its own share, never repeating.
--
-- Arguments (after `--`): <bodies file> <path> <number of threads>
-- The bodies file holds, per body, a line "<length> <signature> <content type>" followed by
-- exactly <length> bytes (see bodies.py). Thread k sends bodies k, k + n, k + 2n, ... as
-- ready-made requests built in init(), so the load loop does no formatting. A thread that
-- runs out starts again from its first body (the run is then flagged "wrapped": repeats
-- are duplicates, which the receiver answers without writing).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local file, path, nthreads = args[1], args[2], tonumber(args[3])
  requests, sent, i = {}, 0, 0
  local f = assert(io.open(file, "rb"))
  local index = 0
  while true do
    local line = f:read("*l")
    if not line then break end
    local length, signature, ctype = line:match("^(%d+) (%S+) (%S+)$")
    local payload = f:read(tonumber(length))
    if index % nthreads == id then
      local headers = {
        ["Content-Type"] = ctype,
        ["X-DocuSign-Signature-1"] = signature,
        ["X-Authorization-Digest"] = "HMACSHA256",
        ["X-DocuSign-AccountId"] = "7ed99888-4cf3-42ad-b3d5-5b0f016a294a",
      }
      table.insert(requests, wrk.format("POST", path, headers, payload))
    end
    index = index + 1
  end
  f:close()
  count = #requests
end

function request()
  i = i + 1
  if i > count then i = 1 end
  sent = sent + 1
  return requests[i]
end

function done(summary, latency, requests_)
  local sent_total, wrapped = 0, false
  for _, thread in ipairs(threads) do
    local n, c = thread:get("sent"), thread:get("count")
    sent_total = sent_total + n
    if n > c then wrapped = true end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "sent": %d, ' ..
    '"wrapped": %s, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, sent_total, tostring(wrapped),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
