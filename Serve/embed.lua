-- wrk script for load-bench.sh: POSTs one-sentence /v1/embed bodies in turn (from the file given after `--`, one
-- JSON body per line, prefixed by its token count and a tab), counts the tokens of the 200 answers and the 5xx,
-- and prints one JSON line: p50/p99 latency and tokens/s.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   bodies, sizes = {}, {}
   for line in io.lines(args[1]) do
      local n, body = line:match("^(%d+)\t(.*)$")
      table.insert(sizes, tonumber(n))
      table.insert(bodies, body)
   end
   next_body, pending, ok_tokens, errors_5xx, other = math.random(#bodies), {}, 0, 0, 0
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   next_body = next_body % #bodies + 1
   table.insert(pending, next_body)
   return wrk.format(nil, nil, nil, bodies[next_body])
end

function response(status, headers, body)
   local index = table.remove(pending, 1)
   if status == 200 then
      ok_tokens = ok_tokens + sizes[index]
   elseif status >= 500 then
      errors_5xx = errors_5xx + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local tokens, e5, o = 0, 0, 0
   for _, thread in ipairs(threads) do
      tokens = tokens + thread:get("ok_tokens")
      e5 = e5 + thread:get("errors_5xx")
      o = o + thread:get("other")
   end
   local seconds = summary.duration / 1e6
   io.write(string.format(
      '{"requests": %d, "p50_ms": %.2f, "p99_ms": %.2f, "tokens_per_s": %.1f, "responses_5xx": %d, "other_non_200": %d, "socket_errors": %d}\n',
      summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000, tokens / seconds, e5, o,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
