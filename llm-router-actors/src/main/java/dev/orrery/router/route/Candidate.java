package dev.orrery.router.route;

import dev.orrery.router.actor.ProviderStats;

/**
 * A provider a call may go to, with the model it would be asked for, what is known of the provider
 * now, and what the call would cost there at most (prompt estimate and the full {@code max_tokens}).
 */
public record Candidate(
    ProviderSettings provider, ModelSettings model, ProviderStats.Snapshot stats, double estimatedCostMicros) {}
