-- wrk script: stop after exactly BENCH_COUNT responses. Run it with -t1 -c1 so that no
-- request is left in flight when the thread stops: the server then sees exactly that many.
-- Headers (the bearer token) come from wrk's -H options. Used by bench/bench.py (case "memory").
--
-- wrk's main thread sleeps for the whole -d duration even once its threads have stopped, so
-- the script also prints a marker line: on seeing it, bench.py sends wrk SIGINT, which ends
-- that sleep and makes wrk print its statistics at once.

local limit = tonumber(os.getenv("BENCH_COUNT") or "")
if limit == nil or limit < 1 then
  error("count.lua needs BENCH_COUNT (a positive number of requests) in the environment")
end

local seen = 0

function response(status, headers, body)
  seen = seen + 1
  if seen == limit then
    io.write("bench-count-reached ", seen, "\n")
    io.flush()
    wrk.thread:stop()
  end
end
