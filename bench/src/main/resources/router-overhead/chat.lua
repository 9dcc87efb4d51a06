-- wrk: one non-streaming chat completion per request, the same body every time.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- The fake upstream takes any key; Orrery takes the demo tenant's key, which the script passes in.
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("ORRERY_API_KEY") or "bench")
wrk.body = '{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":"Benchmark the gateway overhead, please."}]}'
