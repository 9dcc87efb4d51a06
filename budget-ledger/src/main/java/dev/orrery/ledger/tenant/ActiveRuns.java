package dev.orrery.ledger.tenant;

import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunListener;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives a run's slot in its tenant's limit on active runs back when the run ends. Told by the run itself
 * after its last event is persisted; a node that dies in between leaves the slot taken until the run's
 * entity is asked again (a repeated submit with its idempotency key gives it back).
 */
public final class ActiveRuns implements RunListener {
  private static final Logger log = LoggerFactory.getLogger(ActiveRuns.class);

  private final Tenants tenants;

  public ActiveRuns(Tenants tenants) {
    this.tenants = tenants;
  }

  @Override
  public void onPersisted(String tenantId, String runId, List<RunEvent> events) {
    for (RunEvent e : events) {
      if (e instanceof RunEvent.RunCompleted || e instanceof RunEvent.RunFailed || e instanceof RunEvent.RunCancelled) {
        tenants.ended(tenantId, runId).whenComplete((done, failure) -> {
          if (failure != null) log.warn("run {} of tenant {} ended but its active-run slot was not freed: {}", runId,
              tenantId, failure.toString());
        });
        return;
      }
    }
  }
}
