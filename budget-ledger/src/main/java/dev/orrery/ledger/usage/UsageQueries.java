package dev.orrery.ledger.usage;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/** Usage and cost of one tenant from the read side, grouped by any of run, node, provider, model and day. */
public final class UsageQueries {
  /** The groupings a caller may ask for, and their columns. */
  public static final Map<String, String> GROUPS = Map.of(
      "run", "run_id", "node", "node_id", "provider", "provider", "model", "model", "day", "day");

  /** One group's sums; {@code group} holds the grouping values in the order asked for. */
  public record Row(
      @JsonProperty("group") Map<String, Object> group,
      @JsonProperty("calls") long calls,
      @JsonProperty("tokens_in") long tokensIn,
      @JsonProperty("tokens_out") long tokensOut,
      @JsonProperty("cost_micros") long costMicros) {}

  private final DataSource dataSource;
  private final Executor blocking;

  public UsageQueries(DataSource dataSource, Executor blocking) {
    this.dataSource = dataSource;
    this.blocking = blocking;
  }

  /**
   * @param groupBy names from {@link #GROUPS}, already checked; empty for one row of totals
   * @param from first day, inclusive (UTC)
   * @param to last day, inclusive (UTC)
   */
  public CompletionStage<List<Row>> usage(String tenantId, List<String> groupBy, LocalDate from, LocalDate to) {
    List<String> columns = new ArrayList<>();
    for (String g : groupBy) {
      String column = GROUPS.get(g);
      if (column == null) throw new IllegalArgumentException("unknown grouping " + g);
      columns.add(column);
    }
    String select = columns.isEmpty() ? "" : String.join(", ", columns) + ", ";
    String group = columns.isEmpty() ? "" : " GROUP BY " + String.join(", ", columns) + " ORDER BY "
        + String.join(", ", columns);
    String sql = "SELECT " + select + "count(*), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0), "
        + "coalesce(sum(cost_micros), 0) FROM orrery_usage WHERE tenant_id = ? AND day >= ? AND day <= ?" + group;
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection(); PreparedStatement st = c.prepareStatement(sql)) {
        st.setString(1, tenantId);
        st.setObject(2, from);
        st.setObject(3, to);
        List<Row> rows = new ArrayList<>();
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            Map<String, Object> values = new LinkedHashMap<>();
            for (int i = 0; i < groupBy.size(); i++) {
              Object v = rs.getObject(i + 1);
              values.put(groupBy.get(i), v instanceof java.sql.Date d ? d.toLocalDate().toString() : v);
            }
            int n = groupBy.size();
            rows.add(new Row(values, rs.getLong(n + 1), rs.getLong(n + 2), rs.getLong(n + 3), rs.getLong(n + 4)));
          }
        }
        return rows;
      } catch (SQLException e) {
        throw new IllegalStateException("could not read usage", e);
      }
    }, blocking);
  }
}
