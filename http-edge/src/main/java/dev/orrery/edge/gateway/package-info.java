/**
 * The OpenAI-compatible gateway: {@code POST /v1/chat/completions} (streaming and not) and
 * {@code GET /v1/models}, served by whatever {@code LlmPort} the node runs (the router), so the official
 * OpenAI SDKs can use Orrery as their base URL. Errors here take OpenAI's shape, not the envelope.
 */
package dev.orrery.edge.gateway;
