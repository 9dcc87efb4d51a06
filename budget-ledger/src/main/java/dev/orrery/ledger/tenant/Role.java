package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.orrery.core.JsonSerializable;
import java.util.Locale;

/**
 * What a key of a tenant may do. Each role can do everything the ones before it can: viewers read,
 * developers also submit and cancel runs and manage agents, admins also manage keys, budgets and the
 * kill switch. Serializable on its own: it is the answer to an authentication, which may cross nodes.
 */
public enum Role implements JsonSerializable {
  VIEWER,
  DEVELOPER,
  ADMIN;

  public boolean allows(Role needed) {
    return compareTo(needed) >= 0;
  }

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The role named {@code admin}, {@code developer} or {@code viewer}; anything else is refused. */
  @JsonCreator
  public static Role of(String name) {
    if (name != null) {
      for (Role r : values()) {
        if (r.wireName().equals(name.strip().toLowerCase(Locale.ROOT))) return r;
      }
    }
    throw new IllegalArgumentException("role must be one of admin, developer, viewer, was '" + name + "'");
  }
}
