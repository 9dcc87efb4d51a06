-- wrk: one non-streaming chat completion per request, the same body every time.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.body = '{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":"Benchmark the gateway overhead, please."}]}'
