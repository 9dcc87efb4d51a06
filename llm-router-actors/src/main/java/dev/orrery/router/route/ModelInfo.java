package dev.orrery.router.route;

/** A model a provider serves, with its prices per million tokens: an entry of the gateway's GET /v1/models. */
public record ModelInfo(
    String provider, String model, double inputUsdPerMillion, double outputUsdPerMillion, int tier) {}
