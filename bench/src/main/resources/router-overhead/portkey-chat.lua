-- wrk through Portkey: the same body, with Portkey's headers naming the provider and the upstream.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["x-portkey-provider"] = "openai"
wrk.headers["x-portkey-custom-host"] = os.getenv("UPSTREAM_V1")
wrk.body = '{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":"Benchmark the gateway overhead, please."}]}'
