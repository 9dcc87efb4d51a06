/**
 * Credentials and limits of the HTTP edge: API keys ({@link dev.orrery.edge.auth.ApiKeys}), the bearer tokens
 * they are exchanged for ({@link dev.orrery.edge.auth.JwtService}) and per-key request limits
 * ({@link dev.orrery.edge.auth.KeyRateLimiter}). Everything here is plain Java over nimbus-jose-jwt, Typesafe
 * Config and the ledger's {@code Role}, with time injected as a {@code Clock}; routes wire it in, nothing
 * here knows about pekko-http or actors.
 */
package dev.orrery.edge.auth;
