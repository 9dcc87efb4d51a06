/**
 * Fault-injecting fakes of LLM providers: a real HTTP server on loopback that speaks the OpenAI and
 * Anthropic wire protocols and can be told to rate-limit, fail, hang, stream slowly, drop the
 * connection or send broken JSON. Main code, because benchmarks and demos use it as their upstream; it
 * depends on pekko-http and the port records of runtime-core, never on the router.
 */
package dev.orrery.router.fake;
