-- SPDX-License-Identifier: ISC
--
-- wrk script of the benchmark: every request carries notices no other
-- request of the run carries, so that the receiver verifies and stores
-- each one (a repeated notice would only be a cheaper "duplicate").
--
--   wrk -t T -c C -d D -s bench/notices.lua URL -- TOKENS BATCH T [cycle]
--
-- TOKENS is a file of compact JWS, one a line.  They are cut into
-- bodies of BATCH notices, {"notices":[{"jwt":"..."},...]}, and the
-- bodies dealt out round robin to the T threads, so no two threads send
-- the same notice.  A thread that has sent all of its bodies stops
-- itself rather than repeat one; the rate is then taken over the time
-- the threads were actually sending (see done()).
--
-- done() prints one line "BENCH-JSON {...}" for bench/bench.py: the
-- latency percentiles, the responses counted by status, the notices
-- answered "accepted" or "duplicate", and the requests sent.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")

-- CLOCK_MONOTONIC in microseconds: wrk's own clock is not exposed.
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tindex", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local reqs = {}
local nreqs = 0
local pos = 1
local cycle = false
local empty
-- Per-thread tallies, read by done() through thread:get().
sent, responses, accepted, duplicate, status200, status_other = 0, 0, 0, 0, 0, 0
first_us, last_us, exhausted_us = 0, 0, 0
-- Process CPU once this thread's bodies are built: done() subtracts it,
-- so that wrk's own cost is that of the run, not of reading the file.
init_cpu = 0

function init(args)
  local file, batch, nthreads = args[1], tonumber(args[2]), tonumber(args[3])
  cycle = args[4] == "cycle"
  local headers = { ["Content-Type"] = "application/json" }
  local group, parts, i = 0, {}, 0
  for tok in io.lines(file) do
    if tok ~= "" then
      if group % nthreads == tindex then
        parts[#parts + 1] = '{"jwt":"' .. tok .. '"}'
      end
      i = i + 1
      if i == batch then
        if #parts > 0 then
          local body = '{"notices":[' .. table.concat(parts, ",") .. ']}'
          nreqs = nreqs + 1
          reqs[nreqs] = wrk.format("POST", nil, headers, body)
        end
        parts, i, group = {}, 0, group + 1
      end
    end
  end
  -- What a thread sends once it has run out: judged and answered, but
  -- nothing stored and nothing counted as accepted.
  empty = wrk.format("POST", nil, headers, '{"notices":[]}')
  collectgarbage()
  init_cpu = os.clock()
end

function request()
  if pos > nreqs and cycle and nreqs > 0 then
    pos = 1
  end
  if pos > nreqs then
    if exhausted_us == 0 then
      exhausted_us = now_us()
      wrk.thread:stop()
      -- wrk itself sleeps out the whole duration: bench.py ends it with
      -- SIGINT once every thread has said this.
      io.write("BENCH-EXHAUSTED\n")
      io.flush()
    end
    return empty
  end
  local r = reqs[pos]
  if not cycle then
    reqs[pos] = nil   -- each body once: let the memory go
  end
  pos = pos + 1
  sent = sent + 1
  if first_us == 0 then first_us = now_us() end
  return r
end

function response(status, headers, body)
  responses = responses + 1
  last_us = now_us()
  if status == 200 then
    status200 = status200 + 1
  else
    status_other = status_other + 1
  end
  if body then
    local at = 1
    while true do
      local s, e = string.find(body, '"status":"', at, true)
      if not s then break end
      local c = string.sub(body, e + 1, e + 1)
      if c == "a" then accepted = accepted + 1
      elseif c == "d" then duplicate = duplicate + 1 end
      at = e + 1
    end
  end
end

function done(summary, latency, requests)
  local t = { sent = 0, responses = 0, accepted = 0, duplicate = 0,
              status200 = 0, status_other = 0, exhausted = 0 }
  local first, last, init_cpu = nil, 0, 0
  for _, th in ipairs(threads) do
    for _, k in ipairs({ "sent", "responses", "accepted", "duplicate",
                         "status200", "status_other" }) do
      t[k] = t[k] + th:get(k)
    end
    local f, l, x = th:get("first_us"), th:get("last_us"), th:get("exhausted_us")
    if f > 0 and (first == nil or f < first) then first = f end
    if l > last then last = l end
    if x > 0 then t.exhausted = t.exhausted + 1 end
    init_cpu = math.max(init_cpu, th:get("init_cpu"))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"duration_us":%d,"requests":%d,"bytes":%d,"run_cpu_s":%.3f,' ..
    '"window_us":%d,"sent":%d,"responses":%d,"accepted":%d,' ..
    '"duplicate":%d,"status200":%d,"status_other":%d,' ..
    '"threads_exhausted":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d},"latency_us":{"mean":%.1f,' ..
    '"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.duration, summary.requests, summary.bytes, os.clock() - init_cpu,
    first and (last - first) or 0, t.sent, t.responses, t.accepted,
    t.duplicate, t.status200, t.status_other, t.exhausted,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end
