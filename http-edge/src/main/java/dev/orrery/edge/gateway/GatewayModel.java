package dev.orrery.edge.gateway;

/** One entry of {@code GET /v1/models}: a model a provider serves, or a route name a client may ask for. */
public record GatewayModel(String id, String ownedBy) {}
